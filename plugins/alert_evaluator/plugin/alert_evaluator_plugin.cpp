#include "alert_evaluator_plugin.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "appliance/http.h"
#include "exposition.h"

namespace appliance::plugins::alert_evaluator {

using promql::Labels;
using rules::Alert;
using rules::AlertState;

namespace {

std::string fileGroupKey(const std::string& file, const std::string& group) {
  return file + ";" + group;
}

std::map<std::string, std::string> labelMap(const Labels& labels) {
  std::map<std::string, std::string> out;
  for (const auto& l : labels.items()) out[l.name] = l.value;
  return out;
}

// strconv.FormatFloat(v, 'e', -1, 64): the alert value in /api/v1/alerts.
std::string formatGoE(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, res.ptr);
}

std::string formatSeconds(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string percentEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

void appendLabelsJson(std::string& out, const Labels& labels) {
  out += '{';
  bool first = true;
  for (const auto& l : labels.items()) {
    if (!first) out += ',';
    first = false;
    out += jsonQuote(l.name);
    out += ':';
    out += jsonQuote(l.value);
  }
  out += '}';
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::int64_t longestRange(const promql::Expr& e) {
  std::int64_t longest = 0;
  if (e.kind == promql::Expr::Kind::kMatrixSelector)
    longest = e.range_ms + std::max<std::int64_t>(0, e.offset_ms);
  if (e.kind == promql::Expr::Kind::kVectorSelector)
    longest = std::max<std::int64_t>(0, e.offset_ms);
  for (const auto& a : e.args) longest = std::max(longest, longestRange(*a));
  return longest;
}

std::optional<std::int64_t> optionalMs(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  if (!o->has(key) || o->isNull(key)) return std::nullopt;
  return o->getValue<std::int64_t>(key);
}

Labels labelsFromJson(const Poco::JSON::Object::Ptr& o) {
  std::vector<promql::Label> items;
  if (!o) return Labels{};
  for (const auto& [k, v] : *o) items.push_back({k, v.convert<std::string>()});
  return Labels(std::move(items));
}

}  // namespace

struct AlertEvaluatorPlugin::RuleSnapshot {
  const rules::Rule* rule = nullptr;
  std::vector<Alert> alerts;  // not inactive
  std::string last_error;
  std::int64_t last_evaluation_ms = 0;
  double evaluation_seconds = 0;
  AlertState state = AlertState::kInactive;
};

struct AlertEvaluatorPlugin::Group {
  const rules::RuleFile* file = nullptr;
  const rules::RuleGroup* group = nullptr;
  std::size_t index = 0;
  std::string key;  // "file;group", the rule_group label
  std::int64_t interval_ms = 0;
  std::mutex mutex;  // the evaluator, own_store, exported gauges, persisted
  std::unique_ptr<rules::GroupEvaluator> evaluator;
  promql::SeriesStore own_store;  // source: prometheus (recording rules of this group)
  std::map<Labels, prometheus::Gauge*> alerts_gauges;
  std::map<Labels, prometheus::Gauge*> for_state_gauges;
  std::map<std::string, std::string> persisted;  // kv key -> value written
  prometheus::Counter* evaluations = nullptr;
  prometheus::Counter* failures = nullptr;
  prometheus::Gauge* last_duration = nullptr;
  prometheus::Gauge* last_timestamp = nullptr;
  // Read by the routes under snapshot_mutex_.
  std::vector<RuleSnapshot> snapshot;
  std::int64_t last_evaluation_ms = 0;
  double last_duration_seconds = 0;
};

AlertEvaluatorPlugin::AlertEvaluatorPlugin() = default;
AlertEvaluatorPlugin::~AlertEvaluatorPlugin() = default;

std::int64_t AlertEvaluatorPlugin::nowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             context_->clock().now().time_since_epoch())
      .count();
}

Status AlertEvaluatorPlugin::configure(const ConfigNode& section) {
  auto parsed = parseConfig(section, "");
  if (!parsed.isOk()) return parsed.status();
  config_ = std::move(parsed).value();
  return Status::ok();
}

std::int64_t AlertEvaluatorPlugin::retentionMs() const {
  std::int64_t longest = 0;
  for (const auto& f : config_.loaded) {
    for (const auto& g : f.groups) {
      for (const auto& r : g.rules) longest = std::max(longest, longestRange(*r.expr));
    }
  }
  // The longest window any rule reads back from the evaluation time: a range (plus offset),
  // or the 5-minute lookback of an instant selector; and one scrape interval of slack.
  return std::max<std::int64_t>(longest, 5 * 60 * 1000) + config_.scrape.interval.count();
}

Status AlertEvaluatorPlugin::init(PluginContext& context) {
  context_ = &context;
  HttpClientOptions options;
  options.name = kPluginName;
  options.timeout =
      std::max({config_.alertmanager.timeout, config_.scrape.timeout, config_.prometheus.timeout});
  auto client = context.httpClient(options);
  if (!client.isOk()) return client.status();
  http_ = std::move(client).value();

  try {
    auto& registry = context.metrics();
    alerts_family_ = &prometheus::BuildGauge()
                          .Name("ALERTS")
                          .Help("Pending and firing alerts of the appliance's alerting rules.")
                          .Register(registry);
    for_state_family_ =
        &prometheus::BuildGauge()
             .Name("ALERTS_FOR_STATE")
             .Help("The Unix time at which each pending or firing alert became active.")
             .Register(registry);
    evaluations_family_ = &prometheus::BuildCounter()
                               .Name("appliance_rule_evaluations_total")
                               .Help("Rule evaluations, per rule group.")
                               .Register(registry);
    failures_family_ = &prometheus::BuildCounter()
                            .Name("appliance_rule_evaluation_failures_total")
                            .Help("Rule evaluations that failed, per rule group.")
                            .Register(registry);
    duration_family_ = &prometheus::BuildGauge()
                            .Name("appliance_rule_group_last_duration_seconds")
                            .Help("How long the last evaluation of each rule group took.")
                            .Register(registry);
    timestamp_family_ = &prometheus::BuildGauge()
                             .Name("appliance_rule_group_last_evaluation_timestamp_seconds")
                             .Help("The Unix time of the last evaluation of each rule group.")
                             .Register(registry);
    persist_failures_ = &prometheus::BuildCounter()
                             .Name("appliance_alert_state_persist_failures_total")
                             .Help("Writes of alert state to the kv_store service that failed.")
                             .Register(registry)
                             .Add({});
    query_failures_ = &prometheus::BuildCounter()
                           .Name("appliance_rule_query_failures_total")
                           .Help("Instant queries to the Prometheus source that failed.")
                           .Register(registry)
                           .Add({});
    notifier_ =
        std::make_unique<Notifier>(http_, context.logger(), registry, config_.alertmanager.urls,
                                   config_.webhook_urls, config_.alertmanager.queue_capacity,
                                   config_.alertmanager.max_batch, config_.alertmanager.timeout);
  } catch (const std::exception& e) {
    return Status::failedPrecondition(std::string("alert_evaluator: cannot register metrics: ") +
                                      e.what());
  }

  rules::EvalContext base;
  base.external_labels = Labels([&] {
    std::vector<promql::Label> items;
    for (const auto& [k, v] : config_.external_labels) items.push_back({k, v});
    return items;
  }());
  base.external_url = config_.external_url;
  if (config_.source == Source::kPrometheus) {
    base.query = [this](const rules::Rule& rule, std::int64_t ts) {
      return queryPrometheus(rule, ts);
    };
  }
  for (const auto& file : config_.loaded) {
    for (const auto& g : file.groups) {
      auto group = std::make_unique<Group>();
      group->file = &file;
      group->group = &g;
      group->index = groups_.size();
      group->key = fileGroupKey(file.path, g.name);
      group->interval_ms = g.interval_ms > 0 ? g.interval_ms : config_.evaluation_interval.count();
      rules::EvalContext ctx = base;
      auto it = config_.group_missing_evaluations.find(g.name);
      ctx.missing_evaluations_to_resolve = it != config_.group_missing_evaluations.end()
                                               ? it->second
                                               : config_.missing_evaluations_to_resolve;
      group->evaluator = std::make_unique<rules::GroupEvaluator>(g, ctx);
      const std::map<std::string, std::string> labels{{"rule_group", group->key}};
      group->evaluations = &evaluations_family_->Add(labels);
      group->failures = &failures_family_->Add(labels);
      group->last_duration = &duration_family_->Add(labels);
      group->last_timestamp = &timestamp_family_->Add(labels);
      for (const auto& r : g.rules) {
        RuleSnapshot s;
        s.rule = &r;
        group->snapshot.push_back(std::move(s));
      }
      groups_.push_back(std::move(group));
    }
  }
  for (const auto& entry : config_.group_missing_evaluations) {
    const std::string& name = entry.first;  // clang 14 cannot capture a structured binding
    const bool known = std::any_of(groups_.begin(), groups_.end(),
                                   [&](const auto& g) { return g->group->name == name; });
    if (!known) {
      return Status::invalid("alert_evaluator.groups." + name +
                             ": no rule group of that name in rule_files");
    }
  }

  for (auto& group : groups_) {
    const std::size_t index = group->index;
    timers_.push_back(context.scheduler().every("alert_evaluator.group." + group->group->name,
                                                std::chrono::milliseconds(group->interval_ms),
                                                [this, index] { evaluateGroup(index); }));
  }
  if (config_.source == Source::kScrape) {
    timers_.push_back(context.scheduler().every("alert_evaluator.scrape", config_.scrape.interval,
                                                [this] { scrapeAll(); }));
  }
  if (!notifier_->empty()) {
    timers_.push_back(context.scheduler().every("alert_evaluator.notify", std::chrono::seconds(1),
                                                [this] { flushNotifications(); }));
  }

  if (config_.api) {
    auto add = [&](std::string path, std::function<void(const HttpRequest&, HttpResponse&)> h) {
      Route route;
      route.method = "GET";
      route.path = std::move(path);
      route.handler = std::move(h);
      return context.http().addRoute(std::move(route));
    };
    Status s = add("/api/v1/rules", [this](const HttpRequest& req, HttpResponse& res) {
      const auto type = req.queryParam("type");
      if (type && *type != "alert" && *type != "record") {
        res.json(
            400,
            R"({"status":"error","errorType":"bad_data","error":"invalid rule type: use alert or record"})");
        return;
      }
      res.json(200, rulesJson(type ? *type : ""));
    });
    if (!s.isOk()) return s;
    s = add("/api/v1/alerts",
            [this](const HttpRequest&, HttpResponse& res) { res.json(200, alertsJson()); });
    if (!s.isOk()) return s;
    s = add("/alerts", [this](const HttpRequest&, HttpResponse& res) {
      res.status = 200;
      res.content_type = "text/html; charset=utf-8";
      res.body = alertsHtml();
    });
    if (!s.isOk()) return s;
  }
  context.logger().info("rules loaded",
                        {{"files", static_cast<std::int64_t>(config_.loaded.size())},
                         {"groups", static_cast<std::int64_t>(groups_.size())}});
  return Status::ok();
}

Status AlertEvaluatorPlugin::start() {
  started_ms_ = nowMs();
  const std::string main_address = context_->http().boundAddress("main");
  external_url_ = config_.external_url;
  if (external_url_.empty()) {
    std::string host =
        context_->runtime().instance_id.empty() ? "localhost" : context_->runtime().instance_id;
    const auto colon = main_address.rfind(':');
    external_url_ =
        "http://" + host + (colon == std::string::npos ? "" : main_address.substr(colon));
  }
  while (!external_url_.empty() && external_url_.back() == '/') external_url_.pop_back();

  if (config_.source == Source::kScrape) {
    std::vector<std::pair<std::string, bool>> urls;
    for (const auto& u : config_.scrape.targets) urls.emplace_back(u, false);
    if (urls.empty()) {
      std::string metrics = context_->http().boundAddress("metrics");
      if (metrics.empty()) {
        context_->logger().warn(
            "no scrape targets: alert_evaluator.scrape.targets is empty and no metrics "
            "listener runs in this process (add metrics_exporter to the role or list targets)");
      } else {
        if (metrics.rfind("0.0.0.0:", 0) == 0) metrics = "127.0.0.1" + metrics.substr(7);
        if (metrics.rfind("[::]:", 0) == 0) metrics = "[::1]" + metrics.substr(4);
        urls.emplace_back("http://" + metrics + "/metrics", true);
      }
    }
    std::lock_guard lock(store_mutex_);
    for (const auto& [url, self] : urls) {
      ScrapeTarget t;
      t.url = url;
      std::vector<promql::Label> labels{{"job", config_.scrape.job}, {"instance", instanceOf(url)}};
      for (const auto& [k, v] : config_.scrape.labels) labels.push_back({k, v});
      t.labels = Labels(std::move(labels));
      t.honor_labels = config_.scrape.honor_labels;
      t.sample_limit = config_.scrape.sample_limit;
      t.drop_alert_series = self;
      targets_.push_back(std::move(t));
    }
  }

  if (config_.source == Source::kScrape) {
    for (auto& g : groups_) {
      std::int64_t longest = 0;
      for (const auto& r : g->group->rules) longest = std::max(longest, longestRange(*r.expr));
      std::lock_guard lock(g->mutex);
      g->evaluator->holdMissingUntil(started_ms_ + longest + config_.scrape.interval.count());
    }
  }
  if (config_.persist) {
    kv_ = context_->services().find<KvStore>();
    if (!kv_) {
      context_->logger().warn(
          "the kv_store service is not running in this process: alert state will not survive "
          "a restart (add a storage plugin that provides kv_store to the role)");
    } else {
      restoreState();
    }
  }
  return Status::ok();
}

void AlertEvaluatorPlugin::stop(std::chrono::steady_clock::time_point deadline) {
  for (TimerId id : timers_) context_->scheduler().cancel(id);
  timers_.clear();
  // Send what is queued (resolved alerts, mostly) while time allows.
  if (notifier_ && std::chrono::steady_clock::now() < deadline) flushNotifications();
  if (http_) http_->shutdown();
}

void AlertEvaluatorPlugin::scrapeAll() {
  std::vector<ScrapeTarget*> targets;
  {
    std::lock_guard lock(store_mutex_);
    for (auto& t : targets_) targets.push_back(&t);
  }
  for (ScrapeTarget* target : targets) {
    ScrapeOutcome outcome = fetchTarget(*http_, *target, config_.scrape.timeout);
    const std::int64_t ts = nowMs();
    if (!outcome.error.empty()) {
      context_->logger().debug("scrape failed",
                               {{"target", target->url}, {"reason", outcome.error}});
    }
    std::lock_guard lock(store_mutex_);
    applyScrape(store_, *target, std::move(outcome), ts);
    store_.dropBefore(ts - retentionMs());
  }
  scraped_once_ = true;
}

promql::EvalResult AlertEvaluatorPlugin::queryPrometheus(const rules::Rule& rule, std::int64_t ts) {
  promql::EvalResult result;
  HttpClientRequest request;
  std::string base = config_.prometheus.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  char time_buf[48];
  std::snprintf(time_buf, sizeof time_buf, "%lld.%03lld", static_cast<long long>(ts / 1000),
                static_cast<long long>(ts % 1000));
  request.url = base + "/api/v1/query?query=" + percentEncode(rule.expr_text) + "&time=" + time_buf;
  request.endpoint = "/api/v1/query";
  request.timeout = config_.prometheus.timeout;
  if (!config_.prometheus.bearer_token_file.empty()) {
    std::ifstream in(config_.prometheus.bearer_token_file);
    std::string token;
    std::getline(in, token);
    if (!in && token.empty()) {
      result.error =
          "cannot read prometheus.bearer_token_file " + config_.prometheus.bearer_token_file;
      query_failures_->Increment();
      return result;
    }
    request.headers.push_back({"Authorization", "Bearer " + token});
  }
  auto response = http_->send(request);
  if (!response.isOk()) {
    result.error = "query failed: " + response.status().message();
    query_failures_->Increment();
    return result;
  }
  try {
    Poco::JSON::Parser parser;
    auto root = parser.parse(response.value().body).extract<Poco::JSON::Object::Ptr>();
    if (root->getValue<std::string>("status") != "success") {
      result.error =
          "query failed: " +
          (root->has("errorType") ? root->getValue<std::string>("errorType") + ": " : "") +
          (root->has("error") ? root->getValue<std::string>("error")
                              : "HTTP " + std::to_string(response.value().status));
      query_failures_->Increment();
      return result;
    }
    auto data = root->getObject("data");
    const std::string type = data->getValue<std::string>("resultType");
    auto value_of = [](const Poco::JSON::Array::Ptr& pair) {
      const auto v = exposition::parseValue(pair->getElement<std::string>(1));
      if (!v) throw std::runtime_error("bad sample value");
      return *v;
    };
    if (type == "scalar") {
      result.value.type = promql::ValueType::kScalar;
      result.value.scalar = value_of(data->getArray("result"));
    } else if (type == "vector") {
      result.value.type = promql::ValueType::kVector;
      auto arr = data->getArray("result");
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto item = arr->getObject(static_cast<unsigned>(i));
        promql::Sample s;
        s.labels = labelsFromJson(item->getObject("metric"));
        s.v = value_of(item->getArray("value"));
        s.t = ts;
        result.value.vector.push_back(std::move(s));
      }
    } else {
      result.error = "query returned a " + type + ", not an instant vector or scalar";
    }
  } catch (const std::exception& e) {
    result.error = std::string("query failed: unreadable response: ") + e.what();
  }
  if (!result.ok()) query_failures_->Increment();
  return result;
}

void AlertEvaluatorPlugin::evaluateGroup(std::size_t index) {
  Group& group = *groups_.at(index);
  if (config_.source == Source::kScrape && !scraped_once_) return;  // nothing to read yet
  std::lock_guard group_lock(group.mutex);
  const std::int64_t ts = nowMs();
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> errors;
  if (config_.source == Source::kScrape) {
    std::lock_guard store_lock(store_mutex_);
    errors = group.evaluator->evaluate(store_, ts);
  } else {
    errors = group.evaluator->evaluate(group.own_store, ts);
    group.own_store.dropBefore(ts - 5 * 60 * 1000);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  group.evaluations->Increment(static_cast<double>(group.group->rules.size()));
  group.failures->Increment(static_cast<double>(errors.size()));
  group.last_duration->Set(seconds);
  group.last_timestamp->Set(static_cast<double>(ts) / 1000.0);
  for (const auto& e : errors) {
    context_->logger().warn("rule evaluation failed", {{"group", group.group->name}, {"error", e}});
  }
  notifyGroup(group, ts);
  exportGroup(group);
  if (kv_) persistGroup(group, ts);
  {
    std::lock_guard lock(snapshot_mutex_);
    group.last_evaluation_ms = ts;
    group.last_duration_seconds = seconds;
  }
  snapshotGroup(group);
}

void AlertEvaluatorPlugin::notifyGroup(Group& group, std::int64_t ts) {
  const std::int64_t resend = config_.alertmanager.resend_delay.count();
  const std::int64_t valid_for = 4 * std::max(resend, group.interval_ms);
  std::vector<NotifyAlert> out;
  for (auto& state : group.evaluator->mutableRules()) {
    if (!state.rule->isAlert()) continue;
    for (auto& [labels, alert] : state.active) {
      if (alert.state == AlertState::kPending) continue;
      bool needs = false;
      if (alert.resolved_at && (!alert.last_sent_at || *alert.resolved_at > *alert.last_sent_at)) {
        needs = true;
      } else {
        needs = !alert.last_sent_at || *alert.last_sent_at + resend < ts;
      }
      if (!needs) continue;
      alert.last_sent_at = ts;
      alert.valid_until = ts + valid_for;
      NotifyAlert n;
      n.labels = labels;
      for (const auto& [k, v] : config_.external_labels) {
        if (!n.labels.has(k)) n.labels.set(k, v);
      }
      n.annotations = alert.annotations;
      n.starts_at_ms = alert.active_at;
      n.ends_at_ms = alert.resolved_at ? *alert.resolved_at : alert.valid_until;
      n.generator_url =
          external_url_ + "/graph?g0.expr=" + percentEncode(state.rule->expr_text) + "&g0.tab=1";
      out.push_back(std::move(n));
    }
  }
  if (!notifier_->empty()) notifier_->enqueue(out);
}

void AlertEvaluatorPlugin::exportGroup(Group& group) {
  std::map<Labels, double> alerts, for_state;
  for (const auto& state : group.evaluator->rules()) {
    for (const auto& [labels, alert] : state.active) {
      if (alert.state == AlertState::kInactive) continue;
      Labels a = labels;
      a.set("alertstate", rules::alertStateName(alert.state));
      alerts[a] = 1;
      for_state[labels] = static_cast<double>(alert.active_at / 1000);
    }
  }
  auto sync = [](prometheus::Family<prometheus::Gauge>& family,
                 std::map<Labels, prometheus::Gauge*>& gauges,
                 const std::map<Labels, double>& want) {
    for (auto it = gauges.begin(); it != gauges.end();) {
      if (want.count(it->first) == 0) {
        family.Remove(it->second);
        it = gauges.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [labels, v] : want) {
      auto& g = gauges[labels];
      if (g == nullptr) g = &family.Add(labelMap(labels));
      g->Set(v);
    }
  };
  sync(*alerts_family_, group.alerts_gauges, alerts);
  sync(*for_state_family_, group.for_state_gauges, for_state);
}

void AlertEvaluatorPlugin::snapshotGroup(Group& group) {
  std::vector<RuleSnapshot> snapshot;
  for (const auto& state : group.evaluator->rules()) {
    RuleSnapshot s;
    s.rule = state.rule;
    s.last_error = state.last_error;
    s.last_evaluation_ms = state.last_evaluation_ms;
    s.evaluation_seconds = state.evaluation_seconds;
    for (const auto& [labels, alert] : state.active) {
      if (alert.state == AlertState::kInactive) continue;
      if (alert.state == AlertState::kFiring || s.state == AlertState::kInactive)
        s.state = alert.state;
      s.alerts.push_back(alert);
    }
    snapshot.push_back(std::move(s));
  }
  std::lock_guard lock(snapshot_mutex_);
  group.snapshot = std::move(snapshot);
}

// --- Persistence --------------------------------------------------------------------------

namespace {

void appendOptional(std::string& out, const char* key, const std::optional<std::int64_t>& v) {
  out += ",\"";
  out += key;
  out += "\":";
  out += v ? std::to_string(*v) : "null";
}

}  // namespace

void AlertEvaluatorPlugin::persistGroup(Group& group, std::int64_t ts) {
  std::map<std::string, std::pair<std::string, Timestamp>> want;  // key -> value, expiry
  const auto& states = group.evaluator->rules();
  for (std::size_t i = 0; i < states.size(); ++i) {
    const auto& state = states[i];
    if (!state.rule->isAlert()) continue;
    for (const auto& [labels, alert] : state.active) {
      const std::string id = group.file->path + '\0' + group.group->name + '\0' +
                             state.rule->alert + '\0' + labels.toString();
      char key[32];
      std::snprintf(key, sizeof key, "alert/%016llx", static_cast<unsigned long long>(fnv1a(id)));
      std::string v = "{\"file\":" + jsonQuote(group.file->path) +
                      ",\"group\":" + jsonQuote(group.group->name) +
                      ",\"rule\":" + jsonQuote(state.rule->alert) +
                      ",\"rule_index\":" + std::to_string(i) + ",\"labels\":";
      appendLabelsJson(v, labels);
      v += ",\"state\":\"" + std::string(rules::alertStateName(alert.state)) + "\"";
      v += ",\"activeAt\":" + std::to_string(alert.active_at);
      appendOptional(v, "firedAt", alert.fired_at);
      appendOptional(v, "resolvedAt", alert.resolved_at);
      appendOptional(v, "lastSentAt", alert.last_sent_at);
      appendOptional(v, "keepFiringSince", alert.keep_firing_since);
      v += ",\"validUntil\":" + std::to_string(alert.valid_until);
      // What changes on every evaluation (value, annotations with {{ $value }}) goes along
      // but does not by itself cause a write: compare the state part only.
      std::string full =
          v + ",\"value\":" + jsonQuote(formatGoE(alert.value)) + ",\"annotations\":";
      appendLabelsJson(full, alert.annotations);
      full += "}";
      const Timestamp expires =
          alert.resolved_at
              ? (*alert.resolved_at + rules::GroupEvaluator::kResolvedRetentionMs) * 1000
              : 0;
      want[key] = {full, expires};
      (void)ts;
    }
  }
  auto statePart = [](const std::string& value) {
    return value.substr(0, value.find(",\"value\":"));
  };
  std::vector<KvWrite> writes;
  for (const auto& [key, value] : want) {
    auto it = group.persisted.find(key);
    if (it != group.persisted.end() && statePart(it->second) == statePart(value.first)) continue;
    KvWrite w;
    w.op = KvWrite::Op::kPut;
    w.key = key;
    w.value = value.first;
    w.expires_at = value.second;
    writes.push_back(std::move(w));
  }
  for (const auto& [key, _] : group.persisted) {
    if (want.count(key) != 0) continue;
    KvWrite w;
    w.op = KvWrite::Op::kDelete;
    w.key = key;
    writes.push_back(std::move(w));
  }
  if (writes.empty()) return;
  Status s = kv_->write(kKvNamespace, writes);
  if (!s.isOk()) {
    persist_failures_->Increment();
    context_->logger().warn("cannot persist alert state; will retry at the next evaluation",
                            {{"group", group.group->name}, {"reason", s.message()}});
    return;
  }
  for (const auto& w : writes) {
    if (w.op == KvWrite::Op::kPut)
      group.persisted[w.key] = w.value;
    else
      group.persisted.erase(w.key);
  }
}

void AlertEvaluatorPlugin::restoreState() {
  auto entries = kv_->list(kKvNamespace, "alert/");
  if (!entries.isOk()) {
    context_->logger().warn("cannot read saved alert state; starting without it",
                            {{"reason", entries.status().message()}});
    return;
  }
  std::size_t restored = 0;
  std::vector<KvWrite> stale;
  for (const auto& entry : entries.value()) {
    bool ok = false;
    try {
      Poco::JSON::Parser parser;
      auto o = parser.parse(entry.value).extract<Poco::JSON::Object::Ptr>();
      const std::string file = o->getValue<std::string>("file");
      const std::string group_name = o->getValue<std::string>("group");
      for (auto& g : groups_) {
        if (g->file->path != file || g->group->name != group_name) continue;
        Alert a;
        a.labels = labelsFromJson(o->getObject("labels"));
        a.annotations = labelsFromJson(o->getObject("annotations"));
        const std::string state = o->getValue<std::string>("state");
        a.state = state == "firing"    ? AlertState::kFiring
                  : state == "pending" ? AlertState::kPending
                                       : AlertState::kInactive;
        a.active_at = o->getValue<std::int64_t>("activeAt");
        a.fired_at = optionalMs(o, "firedAt");
        a.resolved_at = optionalMs(o, "resolvedAt");
        a.last_sent_at = optionalMs(o, "lastSentAt");
        a.keep_firing_since = optionalMs(o, "keepFiringSince");
        a.valid_until = o->getValue<std::int64_t>("validUntil");
        const auto v = exposition::parseValue(o->getValue<std::string>("value"));
        a.value = v ? *v : 0;
        std::lock_guard lock(g->mutex);
        ok = g->evaluator->restoreAlert(o->getValue<std::size_t>("rule_index"),
                                        o->getValue<std::string>("rule"), std::move(a));
        if (ok) g->persisted[entry.key] = entry.value;
        break;
      }
    } catch (const std::exception& e) {
      context_->logger().warn("ignoring unreadable saved alert state",
                              {{"key", entry.key}, {"reason", e.what()}});
    }
    if (ok) {
      ++restored;
    } else {
      KvWrite w;
      w.op = KvWrite::Op::kDelete;
      w.key = entry.key;
      stale.push_back(std::move(w));
    }
  }
  if (!stale.empty()) (void)kv_->write(kKvNamespace, stale);
  for (auto& g : groups_) {
    std::lock_guard lock(g->mutex);
    exportGroup(*g);
    snapshotGroup(*g);
  }
  context_->logger().info("alert state restored",
                          {{"alerts", static_cast<std::int64_t>(restored)},
                           {"discarded", static_cast<std::int64_t>(stale.size())}});
}

void AlertEvaluatorPlugin::flushNotifications() {
  if (notifier_) notifier_->flush(context_->clock().steadyNow());
}

// --- HTTP views ---------------------------------------------------------------------------

namespace {

std::string evalTime(std::int64_t ms) { return ms == 0 ? "0001-01-01T00:00:00Z" : rfc3339(ms); }

void appendAlertJson(std::string& out, const Alert& a) {
  out += "{\"labels\":";
  appendLabelsJson(out, a.labels);
  out += ",\"annotations\":";
  appendLabelsJson(out, a.annotations);
  out += ",\"state\":\"" + std::string(rules::alertStateName(a.state)) + "\"";
  out += ",\"activeAt\":\"" + rfc3339(a.active_at) + "\"";
  if (a.keep_firing_since) out += ",\"keepFiringSince\":\"" + rfc3339(*a.keep_firing_since) + "\"";
  out += ",\"value\":" + jsonQuote(formatGoE(a.value)) + "}";
}

}  // namespace

std::string AlertEvaluatorPlugin::rulesJson(std::string_view type_filter) const {
  std::lock_guard lock(snapshot_mutex_);
  std::string out = R"({"status":"success","data":{"groups":[)";
  bool first_group = true;
  for (const auto& g : groups_) {
    if (!first_group) out += ',';
    first_group = false;
    out += "{\"name\":" + jsonQuote(g->group->name) + ",\"file\":" + jsonQuote(g->file->path) +
           ",\"rules\":[";
    bool first = true;
    for (const auto& s : g->snapshot) {
      const auto& r = *s.rule;
      if (type_filter == "alert" && !r.isAlert()) continue;
      if (type_filter == "record" && r.isAlert()) continue;
      if (!first) out += ',';
      first = false;
      Labels labels, annotations;
      for (const auto& l : r.labels) labels.set(l.name, l.text);
      for (const auto& a : r.annotations) annotations.set(a.name, a.text);
      const std::string health =
          s.last_evaluation_ms == 0 ? "unknown" : (s.last_error.empty() ? "ok" : "err");
      out += "{";
      if (r.isAlert()) {
        out += "\"state\":\"" + std::string(rules::alertStateName(s.state)) + "\"";
        out += ",\"name\":" + jsonQuote(r.alert);
        out += ",\"query\":" + jsonQuote(trimmed(r.expr_text));
        out += ",\"duration\":" + formatSeconds(static_cast<double>(r.for_ms) / 1000.0);
        out += ",\"keepFiringFor\":" +
               formatSeconds(static_cast<double>(r.keep_firing_for_ms) / 1000.0);
        out += ",\"labels\":";
        appendLabelsJson(out, labels);
        out += ",\"annotations\":";
        appendLabelsJson(out, annotations);
        out += ",\"alerts\":[";
        for (std::size_t i = 0; i < s.alerts.size(); ++i) {
          if (i > 0) out += ',';
          appendAlertJson(out, s.alerts[i]);
        }
        out += "]";
      } else {
        out += "\"name\":" + jsonQuote(r.record);
        out += ",\"query\":" + jsonQuote(trimmed(r.expr_text));
        out += ",\"labels\":";
        appendLabelsJson(out, labels);
      }
      out += ",\"health\":\"" + health + "\"";
      if (!s.last_error.empty()) out += ",\"lastError\":" + jsonQuote(s.last_error);
      out += ",\"evaluationTime\":" + formatSeconds(s.evaluation_seconds);
      out += ",\"lastEvaluation\":\"" + evalTime(s.last_evaluation_ms) + "\"";
      out += std::string(",\"type\":\"") + (r.isAlert() ? "alerting" : "recording") + "\"}";
    }
    out += "],\"interval\":" + formatSeconds(static_cast<double>(g->interval_ms) / 1000.0);
    out += ",\"limit\":" + std::to_string(g->group->limit);
    out += ",\"evaluationTime\":" + formatSeconds(g->last_duration_seconds);
    out += ",\"lastEvaluation\":\"" + evalTime(g->last_evaluation_ms) + "\"}";
  }
  out += "]}}";
  return out;
}

std::string AlertEvaluatorPlugin::alertsJson() const {
  std::lock_guard lock(snapshot_mutex_);
  std::string out = R"({"status":"success","data":{"alerts":[)";
  bool first = true;
  for (const auto& g : groups_) {
    for (const auto& s : g->snapshot) {
      for (const auto& a : s.alerts) {
        if (!first) out += ',';
        first = false;
        appendAlertJson(out, a);
      }
    }
  }
  out += "]}}";
  return out;
}

std::string AlertEvaluatorPlugin::alertsHtml() const {
  std::lock_guard lock(snapshot_mutex_);
  std::string out =
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Alerts</title>"
      "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}"
      ".firing{background:#fdd}.pending{background:#ffd}.inactive{background:#dfd}"
      "</style></head><body><h1>Alerts</h1>\n";
  for (const auto& g : groups_) {
    out += "<h2>" + htmlEscape(g->group->name) + " <small>(" + htmlEscape(g->file->path) +
           ", last evaluation " + htmlEscape(evalTime(g->last_evaluation_ms)) + ")</small></h2>\n";
    out += "<table><tr><th>Rule</th><th>State</th><th>Alerts</th><th>Error</th></tr>\n";
    for (const auto& s : g->snapshot) {
      const auto& r = *s.rule;
      const std::string state =
          r.isAlert() ? std::string(rules::alertStateName(s.state)) : "recording";
      out += "<tr class=\"" + state + "\"><td><b>" + htmlEscape(r.name()) + "</b><br><code>" +
             htmlEscape(r.expr_text) + "</code></td><td>" + state + "</td><td>";
      for (const auto& a : s.alerts) {
        out += std::string(rules::alertStateName(a.state)) + " since " +
               htmlEscape(rfc3339(a.active_at)) + ": <code>" + htmlEscape(a.labels.toString()) +
               "</code>";
        const auto summary = a.annotations.get("summary");
        if (!summary.empty()) out += " &mdash; " + htmlEscape(summary);
        out += "<br>";
      }
      out += "</td><td>" + htmlEscape(s.last_error) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace appliance::plugins::alert_evaluator
