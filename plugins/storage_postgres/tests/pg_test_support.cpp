#include "pg_test_support.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace appliance::plugins::storage_postgres::testing {
namespace {

std::string urlFromState(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("URL=", 0) == 0) return line.substr(4);
  }
  return {};
}

std::string uniqueSuffix() {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}();
  return std::to_string(::getpid()) + "_" + std::to_string(salt % 100000) + "_" +
         std::to_string(counter++);
}

}  // namespace

std::string clusterUrl() {
  const char* env = std::getenv("APPLIANCE_TEST_PG_STATE");
  const std::string state = env != nullptr && *env != '\0' ? env : APPLIANCE_TEST_PG_STATE_DEFAULT;
  std::string url = urlFromState(state);
  if (url.empty()) {
    ADD_FAILURE() << "no PostgreSQL test cluster: state file '" << state
                  << "' missing or without URL=. Run these tests through ctest (the `postgres` "
                     "fixture starts one) or: scripts/pg-test-cluster.sh start "
                  << state;
  }
  return url;
}

std::string withDatabase(const std::string& url, const std::string& dbname) {
  const std::size_t authority = url.find("://") + 3;
  const std::size_t slash = url.find('/', authority);
  const std::size_t query = url.find('?', authority);
  std::string base = url.substr(0, std::min(slash, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + dbname + rest;
}

Sql::Sql(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to " << url << ": " << PQerrorMessage(conn_);
  }
}

Sql::~Sql() { PQfinish(conn_); }

bool Sql::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

std::vector<std::string> Sql::rows(const std::string& sql) {
  std::vector<std::string> out;
  PGresult* result = PQexec(conn_, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    ADD_FAILURE() << "SQL failed: " << sql << "\n" << PQresultErrorMessage(result);
  } else {
    for (int row = 0; row < PQntuples(result); ++row) {
      out.emplace_back(PQgetisnull(result, row, 0) ? "<null>" : PQgetvalue(result, row, 0));
    }
  }
  PQclear(result);
  return out;
}

std::string Sql::value(const std::string& sql) {
  auto all = rows(sql);
  return all.empty() ? std::string() : all.front();
}

TestDatabase::TestDatabase(const std::string& cluster_url)
    : admin_url_(withDatabase(cluster_url, "postgres")), name_("t_" + uniqueSuffix()) {
  url_ = withDatabase(cluster_url, name_);
  Sql(admin_url_).exec("CREATE DATABASE " + name_ + " TEMPLATE template0");
}

TestDatabase::~TestDatabase() {
  Sql(admin_url_).exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

PostgresConfig testConfig(const std::string& url, const std::string& application_name) {
  PostgresConfig config;
  config.url = url;
  config.url_origin = "test";
  config.pool.min = 1;
  config.pool.max = 8;
  config.pool.acquire_timeout = std::chrono::seconds(5);
  config.statement_timeout = std::chrono::seconds(10);
  config.connect_timeout = std::chrono::seconds(3);
  config.counts_max_age = std::chrono::milliseconds(0);
  config.application_name = application_name;
  config.tombstone_retention = std::chrono::milliseconds(0);  // tests use fixed 2023 timestamps
  return config;
}

RunningStore::RunningStore(const std::string& url,
                           const std::function<void(PostgresConfig&)>& tweak)
    : application_name("appliance_test_" + uniqueSuffix()) {
  PostgresConfig config = testConfig(url, application_name);
  if (tweak) tweak(config);
  store = std::make_unique<PostgresTaskStore>(config, context.logger(), context.metrics());
  started = store->start();
}

RunningStore::~RunningStore() { store.reset(); }

int RunningStore::serverSessions(const std::string& any_url) const {
  return std::stoi(Sql(any_url).value(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application_name + "'"));
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

PrivateCluster::PrivateCluster() {
  const auto dir = std::filesystem::temp_directory_path();
  state_ = (dir / ("appliance-pg-private-" + uniqueSuffix() + ".state")).string();
  if (script("start")) url_ = urlFromState(state_);
  if (url_.empty()) ADD_FAILURE() << "cannot start a private PostgreSQL cluster";
}

PrivateCluster::~PrivateCluster() { (void)script("stop"); }

bool PrivateCluster::stopServer(const std::string& mode) { return script("stop-server", mode); }

bool PrivateCluster::startServer() { return script("start-server"); }

bool PrivateCluster::script(const std::string& command, const std::string& extra) {
  const std::string line = std::string("'") + APPLIANCE_PG_TEST_CLUSTER_SCRIPT + "' " + command +
                           " '" + state_ + "' " + extra + " >/dev/null";
  return std::system(line.c_str()) == 0;
}

}  // namespace appliance::plugins::storage_postgres::testing
