#include "fake_service.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>

#include <stdexcept>

namespace appliance::plugins::runner_scaler::scaleset::testing {

FakeActionsService::FakeActionsService(std::shared_ptr<HttpClient> http,
                                       std::vector<std::string> extra_args)
    : http_(std::move(http)) {
  std::vector<std::string> args{FAKE_ACTIONS_SERVICE};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  Poco::Pipe out;
  process_ = std::make_unique<Poco::ProcessHandle>(
      Poco::Process::launch(PYTHON3_EXECUTABLE, args, nullptr, &out, nullptr));
  Poco::PipeInputStream in(out);
  std::string word;
  in >> word >> port_;  // "PORT <n>"
  if (word != "PORT") port_ = 0;
}

FakeActionsService::~FakeActionsService() {
  if (process_) {
    Poco::Process::kill(*process_);
    process_->wait();
  }
}

Poco::JSON::Object::Ptr FakeActionsService::control(const std::string& what,
                                                    const std::string& json_body) {
  HttpClientRequest req;
  req.method = json_body.empty() ? "GET" : "POST";
  req.url = base() + "/_control/" + what;
  req.body = json_body;
  req.headers = {{"Content-Type", "application/json"}};
  auto r = http_->send(req);
  if (!r || r.value().status != 200) {
    throw std::runtime_error("fake control " + what + " failed: " +
                             (r ? std::to_string(r.value().status) : r.status().message()));
  }
  Poco::JSON::Parser parser;
  return parser.parse(r.value().body).extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr FakeActionsService::state() { return control("state", ""); }

}  // namespace appliance::plugins::runner_scaler::scaleset::testing
