#pragma once
// GET /openapi.json, GET /docs and GET /docs/assets/{file}. The OpenAPI document is built
// once; the interactive docs page (a small self-contained HTML+JS client of /openapi.json,
// shipped in docs/assets/ and installed to share/appliance/docs) is read from disk once at
// init and served from memory. These routes are open: no authentication.

#include <memory>
#include <string>
#include <vector>

#include "appliance/http.h"
#include "appliance/logger.h"

namespace appliance::plugins::task_api {

class DocsSite {
 public:
  // Loads index.html and its assets from `dir` (or, for an in-tree run, `dir`/assets).
  // Missing files are logged; /docs then serves a short page pointing at /openapi.json.
  static std::shared_ptr<const DocsSite> load(const std::string& dir, const Logger& logger);

  void serveIndex(HttpResponse& response) const;
  void serveAsset(std::string_view name, HttpResponse& response) const;
  bool installed() const { return !index_.empty(); }

 private:
  struct Asset {
    std::string name;
    std::string content_type;
    std::string body;
  };
  std::string index_;
  std::vector<Asset> assets_;
};

// Registers GET /openapi.json (always) and, when `site` is set, GET /docs and
// GET /docs/assets/{file}.
Status registerDocsRoutes(HttpRouter& router, std::shared_ptr<const std::string> openapi,
                          std::shared_ptr<const DocsSite> site);

}  // namespace appliance::plugins::task_api
