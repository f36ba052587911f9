// hello: the smallest complete appliance plugin. One config key (hello.greeting), one route
// (GET /hello), one metric (hello_requests_total). Copy this folder to start a plugin;
// docs/plugins.md is the contract.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <string>

#include "appliance/sdk.h"

namespace appliance::plugins::hello {

class HelloPlugin final : public Plugin {
 public:
  // Parse and validate only: no side effects, since --check-config runs it too.
  Status configure(const ConfigNode& section) override {
    ConfigReader reader(section);
    greeting_ = reader.string("greeting", "Hello, world!");
    const auto chars = std::count_if(greeting_.begin(), greeting_.end(),
                                     [](unsigned char c) { return (c & 0xC0) != 0x80; });
    if (chars < 1 || chars > 100) {
      reader.error("greeting", "must be 1..100 characters, got " + std::to_string(chars));
    }
    return reader.finish();  // also rejects keys nobody asked for (typos)
  }

  // Register routes and metrics; no slow I/O. The handler runs on HTTP worker threads
  // concurrently, so it only reads immutable state and bumps an atomic counter.
  Status init(PluginContext& context) override {
    try {  // prometheus-cpp throws on a clashing name; no exception may leave the plugin
      requests_ = &prometheus::BuildCounter()
                       .Name("hello_requests_total")
                       .Help("Requests answered by GET /hello.")
                       .Register(context.metrics())
                       .Add({});
    } catch (const std::exception& e) {
      return Status::internal(std::string("cannot register hello metrics: ") + e.what());
    }
    body_ = "{\"greeting\":" + jsonQuote(greeting_) + "}";
    return context.http().addRoute({"GET", "/hello", [this](const HttpRequest&, HttpResponse& r) {
                                      requests_->Increment();
                                      r.json(200, body_);
                                    }});
  }

 private:
  std::string greeting_;
  std::string body_;
  prometheus::Counter* requests_ = nullptr;  // owned by the shared registry
};

}  // namespace appliance::plugins::hello

// The one exported symbol: name (== file name hello.so == config section == role entry),
// version, description, services provided and required (comma lists).
APPLIANCE_PLUGIN(appliance::plugins::hello::HelloPlugin, "hello", "1.0.0", "Says hello: GET /hello",
                 "", "")
