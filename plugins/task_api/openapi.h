#pragma once
// The OpenAPI 3.0 document served at GET /openapi.json, built once at init from the
// configuration (page-size limits, whether Bearer auth is required).

#include <cstddef>
#include <string>

namespace appliance::plugins::task_api {

struct OpenApiOptions {
  std::string version;  // the plugin's version
  std::size_t default_limit = 100;
  std::size_t max_limit = 1000;
  bool auth_enabled = true;
};

std::string buildOpenApiDocument(const OpenApiOptions& options);

}  // namespace appliance::plugins::task_api
