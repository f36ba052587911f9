#include "config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>

namespace appliance::plugins::runner_scaler {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

int dayIndex(std::string_view token) {
  static const char* kNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  const std::string t = lower(std::string(token));
  for (int k = 0; k < 7; ++k) {
    if (t == kNames[k]) return k;
  }
  if (t.size() == 1 && t[0] >= '0' && t[0] <= '7') return (t[0] - '0') % 7;
  return -1;
}

// Collects the errors of readers made for list elements, which ConfigReader cannot nest.
struct Errors {
  std::string text;
  void add(Status status) {
    if (status.isOk()) return;
    text += (text.empty() ? "" : "\n") + status.message();
  }
};

std::map<std::string, std::string> readStringMap(ConfigReader& reader, std::string_view key,
                                                 bool quantities) {
  std::map<std::string, std::string> out;
  const ConfigNode node = reader.node(key);
  if (node.isMissing()) return out;
  if (!node.isMap()) {
    reader.error(node, "must be a map of names to values");
    return out;
  }
  for (const auto& k : node.keys()) {
    const auto value = node.child(k).scalar();
    if (!value || value->empty()) {
      reader.error(node.child(k), "must be a non-empty string");
    } else if (quantities && !isQuantity(*value)) {
      reader.error(node.child(k), "must be a Kubernetes quantity such as 500m, 2, 4Gi");
    } else {
      out[k] = *value;
    }
  }
  return out;
}

void readRunner(ConfigReader& reader, RunnerTemplate& runner, Errors& errors) {
  runner.image = reader.string("image", runner.image);
  if (runner.image.empty() || runner.image.find_first_of(" \t") != std::string::npos) {
    reader.error("image",
                 "must be an image reference such as ghcr.io/actions/actions-runner:2.321.0");
  }
  ConfigReader resources = reader.section("resources");
  runner.requests = readStringMap(resources, "requests", true);
  runner.limits = readStringMap(resources, "limits", true);
  for (const auto* m : {&runner.requests, &runner.limits}) {
    for (const auto& [k, v] : *m) {
      if (k != "cpu" && k != "memory" && k != "ephemeral-storage") {
        resources.error(m == &runner.requests ? "requests" : "limits",
                        "unknown resource '" + k + "' (use cpu, memory, ephemeral-storage)");
      }
    }
  }
  runner.work_volume_size = reader.string("work_volume_size", runner.work_volume_size);
  if (!isQuantity(runner.work_volume_size)) {
    reader.error("work_volume_size", "must be a Kubernetes quantity such as 20Gi");
  }
  runner.node_selector = readStringMap(reader, "node_selector", false);
  runner.ephemeral = reader.boolean("ephemeral", runner.ephemeral);
  const ConfigNode tolerations = reader.node("tolerations");
  if (tolerations.isMissing()) return;
  if (!tolerations.isSequence()) {
    reader.error(tolerations, "must be a list of Kubernetes tolerations");
    return;
  }
  for (std::size_t i = 0; i < tolerations.size(); ++i) {
    ConfigReader t(tolerations.at(i));
    Toleration tol;
    tol.key = t.string("key");
    tol.op = t.oneOf("operator", "Equal", {"Equal", "Exists"});
    tol.value = t.string("value");
    tol.effect = t.oneOf("effect", "", {"", "NoSchedule", "PreferNoSchedule", "NoExecute"});
    if (!tolerations.at(i).child("tolerationSeconds").isMissing()) {
      tol.toleration_seconds = t.integer("tolerationSeconds", 0, 0, std::int64_t{1} << 31);
    }
    if (tol.op == "Exists" && !tol.value.empty()) {
      t.error("value", "must be empty when operator is Exists");
    }
    errors.add(t.finish());
    runner.tolerations.push_back(std::move(tol));
  }
}

void readSchedules(ConfigReader& reader, const ConfigNode& node, PoolPolicy& policy,
                   const std::string& tzdir, Errors& errors) {
  if (node.isMissing()) return;
  if (!node.isSequence()) {
    reader.error(node, "must be a list of windows {name, days, start, end, time_zone, min, ...}");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    ConfigReader s(node.at(i));
    ScheduleWindow w;
    w.name = s.requiredString("name", "name the window, e.g. working-hours");
    const std::string days = s.string("days", "*");
    if (auto parsed = parseDays(days)) {
      w.days = *parsed;
    } else {
      s.error("days", "must be a cron day-of-week field such as mon-fri, 1-5, sat,sun or *");
    }
    const std::string start = s.string("start", "00:00");
    const std::string end = s.string("end", "00:00");
    const auto sm = parseClock(start), em = parseClock(end);
    if (!sm) s.error("start", "must be HH:MM (24-hour clock), e.g. 08:00");
    if (!em) s.error("end", "must be HH:MM (24-hour clock), e.g. 18:00");
    w.start_minute = sm.value_or(0) % 1440;
    w.end_minute = em.value_or(0) % 1440;
    const std::string zone = s.string("time_zone", "UTC");
    auto tz = TimeZone::load(zone, tzdir);
    if (tz.isOk()) {
      w.zone = std::make_shared<TimeZone>(std::move(tz).value());
    } else {
      s.error("time_zone", tz.status().message() + "; use an IANA name such as Europe/Berlin");
    }
    const auto opt = [&](std::string_view key) -> std::optional<int> {
      if (node.at(i).child(key).isMissing()) {
        s.node(key);
        return std::nullopt;
      }
      return static_cast<int>(s.integer(key, 0, 0, 10000));
    };
    w.min = opt("min");
    w.max = opt("max");
    w.min_idle = opt("min_idle");
    const int mn = w.min.value_or(policy.limits.min), mx = w.max.value_or(policy.limits.max);
    if (mn > mx) s.error("min", "must not exceed max (" + std::to_string(mx) + ") in this window");
    errors.add(s.finish());
    policy.schedules.push_back(std::move(w));
  }
}

std::vector<std::string> readLabels(ConfigReader& p) {
  std::vector<std::string> labels;
  std::set<std::string> seen;
  for (auto& label : p.stringList("labels")) {
    std::string l = lower(label);
    if (l.empty() || l.find_first_of(", \t") != std::string::npos) {
      p.error("labels", "'" + label + "' is not a runner label (no spaces or commas)");
      continue;
    }
    if (l == "self-hosted") continue;  // implied
    if (!seen.insert(l).second) {
      p.error("labels", "lists '" + label + "' twice (labels are case-insensitive)");
      continue;
    }
    labels.push_back(l);
  }
  std::sort(labels.begin(), labels.end());
  return labels;
}

PoolConfig readPool(const ConfigNode& node, const std::string& tzdir, Errors& errors) {
  ConfigReader p(node);
  PoolConfig pool;
  PoolPolicy& policy = pool.policy;
  policy.name = p.requiredString("name", "name the pool, e.g. linux");
  if (!std::regex_match(policy.name, std::regex("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")) &&
      !policy.name.empty()) {
    p.error("name", "must be lowercase letters, digits and '-' (a DNS label), e.g. linux");
  }
  pool.labels = readLabels(p);
  policy.limits.min = static_cast<int>(p.integer("min", 0, 0, 10000));
  policy.limits.max = static_cast<int>(p.integer("max", 1, 1, 10000));
  policy.limits.min_idle = static_cast<int>(p.integer("min_idle", 0, 0, 10000));
  if (policy.limits.min > policy.limits.max) {
    p.error("min", "must not exceed max (" + std::to_string(policy.limits.max) + ")");
  }
  if (policy.limits.min_idle > policy.limits.max) {
    p.error("min_idle", "must not exceed max (" + std::to_string(policy.limits.max) + ")");
  }
  using std::chrono::minutes;
  policy.scale_down_delay = p.duration("scale_down_delay", minutes(5), {}, std::chrono::hours(24));
  policy.idle_timeout = p.duration("idle_timeout", {}, {}, std::chrono::hours(24 * 7));
  policy.boot_timeout = p.duration("boot_timeout", minutes(10), {}, std::chrono::hours(24));
  policy.budget_minutes_per_day = p.number("budget", 0, 0, 1e9);
  const std::string budget_zone = p.string("budget_time_zone", "UTC");
  if (auto tz = TimeZone::load(budget_zone, tzdir); tz.isOk()) {
    pool.budget_zone = std::make_shared<TimeZone>(std::move(tz).value());
  } else {
    p.error("budget_time_zone", tz.status().message() + "; use an IANA name such as Europe/Berlin");
  }
  pool.cost_per_runner_hour = p.number("cost_per_runner_hour", 0, 0, 1e6);
  readSchedules(p, p.node("schedules"), policy, tzdir, errors);
  ConfigReader runner = p.section("runner");
  readRunner(runner, pool.runner, errors);
  readPoolDemand(p, pool);
  errors.add(p.finish());
  return pool;
}

Status readSecretFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::invalid("cannot read " + path + " (mount the secret or fix the path)");
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  if (out.empty()) return Status::invalid(path + " is empty");
  return Status::ok();
}

void readGitHub(ConfigReader& g, GitHubConfig& gh, Errors& errors) {
  gh.api_url = g.string("api_url", gh.api_url);
  while (!gh.api_url.empty() && gh.api_url.back() == '/') gh.api_url.pop_back();
  if (gh.api_url.rfind("https://", 0) != 0 && gh.api_url.rfind("http://", 0) != 0) {
    g.error("api_url",
            "must be an http(s) URL such as https://api.github.com or "
            "https://ghe.example.com/api/v3");
  }
  gh.token_file = g.string("token_file");
  const ConfigNode app_node = g.node("app");
  if (!app_node.isMissing()) {
    ConfigReader app(app_node);
    GitHubAppConfig a;
    a.id = app.requiredString("id", "the GitHub App's numeric id");
    a.installation_id = app.requiredString("installation_id", "the installation's numeric id");
    a.private_key_file = app.requiredString("private_key_file", "a PEM file with the App's key");
    for (const auto* v : {&a.id, &a.installation_id}) {
      if (!v->empty() && !std::all_of(v->begin(), v->end(), ::isdigit)) {
        app.error(v == &a.id ? "id" : "installation_id", "must be a number");
      }
    }
    if (!a.private_key_file.empty()) {
      std::string pem;
      if (Status s = readSecretFile(a.private_key_file, pem); !s.isOk()) {
        app.error("private_key_file", s.message());
      } else if (pem.find("PRIVATE KEY-----") == std::string::npos) {
        app.error("private_key_file", a.private_key_file + " holds no PEM private key");
      }
    }
    errors.add(app.finish());
    gh.app = a;
    if (!gh.token_file.empty()) g.error("app", "set token_file or app, not both");
  }
  if (!gh.token_file.empty()) {
    std::string token;
    if (Status s = readSecretFile(gh.token_file, token); !s.isOk())
      g.error("token_file", s.message());
  }
  gh.webhook_secret_file = g.string("webhook_secret_file");
  gh.webhook_secret = g.string("webhook_secret");
  if (!gh.webhook_secret_file.empty()) {
    if (!gh.webhook_secret.empty())
      g.error("webhook_secret", "set webhook_secret_file or webhook_secret, not both");
    if (Status s = readSecretFile(gh.webhook_secret_file, gh.webhook_secret); !s.isOk()) {
      g.error("webhook_secret_file", s.message());
    }
  }
  gh.repositories = g.stringList("repositories");
  for (const auto& r : gh.repositories) {
    if (!std::regex_match(r, std::regex("[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"))) {
      g.error("repositories", "'" + r + "' is not owner/name");
    }
  }
  gh.organization = g.string("organization");
  if (!gh.organization.empty() && !gh.repositories.empty()) {
    g.error("organization", "set repositories or organization, not both");
  }
  gh.poll_interval =
      g.duration("poll_interval", gh.poll_interval, std::chrono::seconds(5), std::chrono::hours(1));
  readScaleSetGitHub(g, gh);
}

}  // namespace

bool isQuantity(std::string_view text) {
  static const std::regex kQuantity(R"([0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?)");
  return std::regex_match(text.begin(), text.end(), kQuantity);
}

std::optional<std::array<bool, 7>> parseDays(std::string_view text) {
  std::array<bool, 7> days{};
  if (text == "*") return std::array<bool, 7>{true, true, true, true, true, true, true};
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = text.find(',', pos);
    const auto item = text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    const auto dash = item.find('-');
    const int a = dayIndex(item.substr(0, dash));
    int b = dash == std::string_view::npos ? a : dayIndex(item.substr(dash + 1));
    if (a < 0 || b < 0) return std::nullopt;
    if (dash != std::string_view::npos && item.substr(dash + 1) == "7") b = 7;
    if (b < a) return std::nullopt;
    for (int d = a; d <= b; ++d) days[static_cast<std::size_t>(d % 7)] = true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return days;
}

std::optional<int> parseClock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (int k : {0, 1, 3, 4}) {
    if (!std::isdigit(static_cast<unsigned char>(text[static_cast<std::size_t>(k)])))
      return std::nullopt;
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0'), m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

Result<ScalerConfig> parseConfig(const ConfigNode& section, const std::string& tzdir) {
  ScalerConfig config;
  ConfigReader reader(section);
  Errors errors;
  config.backend = reader.oneOf("backend", "dry_run", {"dry_run", "kubernetes"});
  ConfigReader github = reader.section("github");
  readGitHub(github, config.github, errors);
  ConfigReader dry = reader.section("dry_run");
  config.dry_run_boot_delay =
      dry.duration("boot_delay", config.dry_run_boot_delay, {}, std::chrono::hours(1));
  config.decision_interval =
      reader.duration("decision_interval", config.decision_interval, std::chrono::milliseconds(100),
                      std::chrono::minutes(5));
  config.coalesce = reader.duration("coalesce", config.coalesce, {}, std::chrono::seconds(10));
  config.recent_decisions =
      static_cast<std::size_t>(reader.integer("recent_decisions", 50, 1, 10000));
  config.dedupe_deliveries =
      static_cast<std::size_t>(reader.integer("dedupe_deliveries", 10000, 100, 1000000));
  const ConfigNode pools = reader.node("pools");
  if (pools.isMissing() || !pools.isSequence() || pools.size() == 0) {
    reader.error(pools, "must list at least one runner pool {name, labels, min, max, ...}");
  } else {
    std::set<std::string> names;
    for (std::size_t i = 0; i < pools.size(); ++i) {
      PoolConfig pool = readPool(pools.at(i), tzdir, errors);
      if (!pool.policy.name.empty() && !names.insert(pool.policy.name).second) {
        reader.error(pools.at(i), "pool name '" + pool.policy.name + "' is used twice");
      }
      config.pools.push_back(std::move(pool));
    }
  }
  readHighAvailability(reader, config);
  readKubernetesConfig(reader.section("kubernetes"), config);
  errors.add(reader.finish());
  if (!errors.text.empty()) return Status::invalid(errors.text);
  return config;
}

}  // namespace appliance::plugins::runner_scaler
