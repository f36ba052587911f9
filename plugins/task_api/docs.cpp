#include "docs.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace appliance::plugins::task_api {
namespace {

// Files the docs page consists of; nothing else under the folder is ever served.
constexpr struct {
  const char* name;
  const char* content_type;
} kAssets[] = {
    {"docs.js", "text/javascript; charset=utf-8"},
    {"docs.css", "text/css; charset=utf-8"},
};

constexpr std::string_view kFallback =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Task Manager API</title></head>"
    "<body><h1>Task Manager API</h1><p>The interactive documentation is not installed on this "
    "server. The API is described at <a href=\"/openapi.json\">/openapi.json</a>.</p></body>"
    "</html>";

constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

bool readFile(const std::filesystem::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = std::move(text).str();
  return true;
}

void setPageHeaders(HttpResponse& response) {
  response.setHeader("Content-Security-Policy", std::string(kPolicy));
  response.setHeader("X-Content-Type-Options", "nosniff");
  response.setHeader("Cache-Control", "no-cache");
}

}  // namespace

std::shared_ptr<const DocsSite> DocsSite::load(const std::string& dir, const Logger& logger) {
  auto site = std::make_shared<DocsSite>();
  std::filesystem::path root(dir);
  std::error_code ec;
  if (!std::filesystem::exists(root / "index.html", ec) &&
      std::filesystem::exists(root / "assets" / "index.html", ec)) {
    root /= "assets";  // running from the source tree: <repo>/docs/assets
  }
  if (!readFile(root / "index.html", site->index_)) {
    logger.warn("docs assets not found; /docs serves a pointer to /openapi.json",
                {{"dir", root.string()}, {"fix", "install them or set task_api.docs.dir"}});
    site->index_.clear();
    return site;
  }
  for (const auto& asset : kAssets) {
    Asset loaded{asset.name, asset.content_type, {}};
    if (readFile(root / asset.name, loaded.body)) {
      site->assets_.push_back(std::move(loaded));
    } else {
      logger.warn("docs asset missing", {{"file", (root / asset.name).string()}});
    }
  }
  return site;
}

void DocsSite::serveIndex(HttpResponse& response) const {
  response.status = 200;
  response.content_type = "text/html; charset=utf-8";
  response.body = installed() ? index_ : std::string(kFallback);
  setPageHeaders(response);
}

void DocsSite::serveAsset(std::string_view name, HttpResponse& response) const {
  for (const Asset& asset : assets_) {
    if (asset.name == name) {
      response.status = 200;
      response.content_type = asset.content_type;
      response.body = asset.body;
      setPageHeaders(response);
      return;
    }
  }
  response.error(404, "Not Found");
}

Status registerDocsRoutes(HttpRouter& router, std::shared_ptr<const std::string> openapi,
                          std::shared_ptr<const DocsSite> site) {
  Route spec;
  spec.method = "GET";
  spec.path = "/openapi.json";
  spec.handler = [openapi](const HttpRequest&, HttpResponse& response) {
    response.json(200, *openapi);
    response.setHeader("Cache-Control", "no-cache");
  };
  if (Status s = router.addRoute(std::move(spec)); !s.isOk()) return s;
  if (!site) return Status::ok();

  Route index;
  index.method = "GET";
  index.path = "/docs";
  index.handler = [site](const HttpRequest&, HttpResponse& response) {
    site->serveIndex(response);
  };
  if (Status s = router.addRoute(std::move(index)); !s.isOk()) return s;

  Route asset;
  asset.method = "GET";
  asset.path = "/docs/assets/{file}";
  asset.handler = [site](const HttpRequest& request, HttpResponse& response) {
    site->serveAsset(request.pathParam("file").value_or(""), response);
  };
  return router.addRoute(std::move(asset));
}

}  // namespace appliance::plugins::task_api
