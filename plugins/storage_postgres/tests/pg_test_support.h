#pragma once
// Helpers for integration tests against the `postgres` CTest fixture's server: a private
// database per test (created and dropped), direct SQL, private clusters for fault tests.

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "appliance/testing/fake_context.h"
#include "postgres_config.h"
#include "postgres_task_store.h"

namespace appliance::plugins::storage_postgres::testing {

// The fixture cluster's URL (postgresql://postgres@127.0.0.1:PORT/appliance_test), read from
// $APPLIANCE_TEST_PG_STATE or the compiled-in state file. Fails the test when missing.
std::string clusterUrl();
// The URL with its database name replaced.
std::string withDatabase(const std::string& url, const std::string& dbname);

// A plain libpq session for assertions and set-up, with fatal test failures on errors.
class Sql {
 public:
  explicit Sql(const std::string& url);
  ~Sql();
  // Runs SQL; returns the first column of every row (NULL as "<null>").
  std::vector<std::string> rows(const std::string& sql);
  // The first value, or "" when no row.
  std::string value(const std::string& sql);
  void exec(const std::string& sql) { (void)rows(sql); }
  bool ok() const;

 private:
  PGconn* conn_;
};

// A fresh, empty database on the cluster, dropped (WITH FORCE) on destruction.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& cluster_url = clusterUrl());
  ~TestDatabase();
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// A PostgresConfig for `url` with test-friendly timeouts and a unique application_name
// (to find the store's sessions in pg_stat_activity).
PostgresConfig testConfig(const std::string& url, const std::string& application_name);

// A PostgresTaskStore on `url` with its own FakeContext (logger, metrics), started.
struct RunningStore {
  explicit RunningStore(const std::string& url,
                        const std::function<void(PostgresConfig&)>& tweak = {});
  ~RunningStore();
  PostgresTaskStore* operator->() const { return store.get(); }
  // Sessions this store holds on the server (pg_stat_activity by application_name).
  int serverSessions(const std::string& any_url) const;

  appliance::testing::FakeContext context{"storage_postgres"};
  std::string application_name;
  std::unique_ptr<PostgresTaskStore> store;
  Status started;
};

// Polls `condition` every 50 ms for up to `limit`; true as soon as it holds. For liveness
// (a reconnect, an idle connection closing), never to assert how fast something is.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(30));

// A private cluster (scripts/pg-test-cluster.sh) for tests that stop the server.
class PrivateCluster {
 public:
  PrivateCluster();
  ~PrivateCluster();
  const std::string& url() const { return url_; }
  bool stopServer(const std::string& mode = "fast");
  bool startServer();

 private:
  bool script(const std::string& command, const std::string& extra = "");
  std::string state_;
  std::string url_;
};

}  // namespace appliance::plugins::storage_postgres::testing
