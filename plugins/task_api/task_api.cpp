#include "task_api.h"

#include "auth_reload.h"
#include "docs.h"
#include "openapi.h"
#include "routes.h"

namespace appliance::plugins::task_api {

Status TaskApiPlugin::configure(const ConfigNode& section) {
  Result<TaskApiConfig> config = parseConfig(section);
  if (!config.isOk()) return config.status();
  config_ = std::move(config).value();
  return Status::ok();
}

Status TaskApiPlugin::init(PluginContext& context) {
  if (!config_) return Status::failedPrecondition("task_api: init() called before configure()");
  context_ = &context;
  const Logger& logger = context.logger();
  store_ = context.services().find<TaskStore>();
  if (!store_) {
    return Status::failedPrecondition(
        "task_api requires the task_store service: add storage_sqlite or storage_postgres to "
        "the role's plugins");
  }
  if (Status s = loadPendingTokensFile(config_->auth); !s.isOk()) return s;
  auto auth = Authenticator::create(config_->auth, context.clock());
  if (!auth.isOk()) return auth.status();
  auto metrics = TaskMetrics::create(context.metrics());
  if (!metrics.isOk()) return metrics.status();
  metrics_ = metrics.value();

  auto slot = std::make_shared<AuthenticatorSlot>(auth.value());
  auto routes = std::make_shared<const TaskRoutes>(
      store_, context.services().find<AsyncTaskStore>(), context.services().find<AsyncTaskLister>(),
      slot, metrics_, config_->list, logger);
  if (Status s = registerTaskRoutes(context.http(), routes); !s.isOk()) return s;

  auto openapi = std::make_shared<const std::string>(
      buildOpenApiDocument({kPluginVersion, config_->list.default_limit, config_->list.max_limit,
                            config_->auth.enabled}));
  auto site = config_->docs_enabled ? DocsSite::load(docsDir(context), logger) : nullptr;
  if (Status s = registerDocsRoutes(context.http(), openapi, site); !s.isOk()) return s;

  context.scheduler().every("task_api.tasks_gauge", config_->metrics_refresh,
                            [metrics = metrics_, store = store_, &logger] {
                              metrics->refreshTaskCounts(*store, logger);
                            });
  watchAuthFiles(context, std::move(slot));
  logAuthMode(logger);
  return Status::ok();
}

// Secret files are re-read when their stamp changes (every auth.reload_interval) and on a host
// reload (SIGHUP), whatever the stamps say.
void TaskApiPlugin::watchAuthFiles(PluginContext& context,
                                   std::shared_ptr<AuthenticatorSlot> slot) {
  auto reloader = std::make_shared<CredentialReloader>(config_->auth, std::move(slot), metrics_,
                                                       context.clock(), context.logger());
  if (!reloader->watchesFiles()) return;
  context.scheduler().every("task_api.auth_reload", config_->auth.reload_interval,
                            [reloader] { reloader->checkForChanges(); });
  context.onReload([reloader] { reloader->reloadNow(); });
}

Status TaskApiPlugin::start() {
  if (metrics_ && store_ && context_) metrics_->refreshTaskCounts(*store_, context_->logger());
  return Status::ok();
}

std::string TaskApiPlugin::docsDir(const PluginContext& context) const {
  if (!config_->docs_dir.empty()) return config_->docs_dir;
  return context.runtime().share_dir + "/docs";
}

void TaskApiPlugin::logAuthMode(const Logger& logger) const {
  const AuthSettings& auth = config_->auth;
  if (!auth.enabled) {
    logger.warn("authentication is disabled: /tasks is open to anyone who can reach the port");
    return;
  }
  logger.info("bearer authentication enabled",
              {{"static_tokens", static_cast<std::uint64_t>(auth.token_hashes.size())},
               {"jwt_hs256", !auth.jwt.hs256_secret.empty()},
               {"jwt_rs256", !auth.jwt.rs256_public_key_pem.empty()}});
  if (auth.weak_tokens > 0) {
    logger.warn("some API tokens are shorter than 16 characters; use long random tokens",
                {{"count", static_cast<std::uint64_t>(auth.weak_tokens)}});
  }
}

}  // namespace appliance::plugins::task_api
