#pragma once
// Starts tests/fakes/actions_service/fake_actions_service.py on 127.0.0.1 (a free port) and
// talks to its /_control/ endpoints. One per test; the destructor kills it.

#include <Poco/JSON/Object.h>
#include <Poco/Process.h>

#include <memory>
#include <string>

#include "appliance/http_client.h"

namespace appliance::plugins::runner_scaler::scaleset::testing {

class FakeActionsService {
 public:
  // `extra_args` e.g. {"--app-public-key", path}.
  explicit FakeActionsService(std::shared_ptr<HttpClient> http,
                              std::vector<std::string> extra_args = {});
  ~FakeActionsService();

  bool running() const { return port_ > 0; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // POST /_control/<what> with a JSON body; returns the answer's object (throws on non-200).
  Poco::JSON::Object::Ptr control(const std::string& what, const std::string& json_body);
  Poco::JSON::Object::Ptr state();

 private:
  std::shared_ptr<HttpClient> http_;
  std::unique_ptr<Poco::ProcessHandle> process_;
  int port_ = 0;
};

}  // namespace appliance::plugins::runner_scaler::scaleset::testing
