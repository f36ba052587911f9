// PostgresTaskStore against a real server: races across two independent stores (two pools,
// as two pods would have), pool and statement timeouts, input errors, metrics, sessions.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "migrations.h"
#include "pg_test_support.h"
#include "postgres_plugin.h"

namespace appliance::plugins::storage_postgres {
namespace {

using testing::eventually;
using testing::RunningStore;
using testing::Sql;
using testing::TestDatabase;

constexpr Timestamp kT0 = 1'700'000'000'000'000;

NewTask newTask(const std::string& title, Timestamp at) {
  return NewTask{title, "content of " + title, "2030-01-01", at};
}

class StoreIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a.started.isOk()) << a.started.message();
    ASSERT_TRUE(b.started.isOk()) << b.started.message();
  }
  TestDatabase db;
  RunningStore a{db.url()};
  RunningStore b{db.url()};  // a second pool on the same database: another pod
};

// One request of a race, and what the store answered.
struct Op {
  std::int64_t task_id;
  Timestamp at;
  bool remove;
  std::string title;  // updates set the title to a value naming the request
  StatusCode outcome = StatusCode::kOk;
};

TEST_F(StoreIntegration, RacingUpdatesAndDeletesFromTwoStoresEndInTheHighestAcceptedRequest) {
  constexpr int kTasks = 6;
  constexpr int kOpsPerTask = 60;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kTasks; ++i) {
    auto created = a->create(newTask("race " + std::to_string(i), kT0));
    ASSERT_TRUE(created.isOk()) << created.status().message();
    ids.push_back(created->id);
  }
  // Distinct timestamps, shuffled: arrival order differs from timestamp order.
  std::vector<Op> ops;
  std::mt19937 random(7);
  for (std::int64_t id : ids) {
    for (int i = 1; i <= kOpsPerTask; ++i) {
      const bool remove = random() % 10 == 0;
      ops.push_back(
          {id, kT0 + i * 1000, remove, "t" + std::to_string(id) + "@" + std::to_string(i)});
    }
  }
  std::shuffle(ops.begin(), ops.end(), random);
  constexpr int kThreads = 8;
  std::latch go(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PostgresTaskStore& store = t % 2 == 0 ? *a.store : *b.store;
      go.arrive_and_wait();
      for (std::size_t i = t; i < ops.size(); i += kThreads) {
        Op& op = ops[i];
        if (op.remove) {
          op.outcome = store.remove(op.task_id, op.at).code();
        } else {
          TaskPatch patch;
          patch.title = op.title;
          patch.done = (op.at / 1000) % 2 == 0;
          patch.request_at = op.at;
          op.outcome = store.update(op.task_id, patch).status().code();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  // Every conflict counted is a stale request, none a deadlock between concurrent batches
  // (those would be counted as conflicts too, and surface as retries).
  long conflicts = 0;
  for (const Op& op : ops) conflicts += op.outcome == StatusCode::kConflict;
  EXPECT_EQ(
      a.context.metricValue("appliance_db_errors_total", {{"kind", "conflict"}}).value_or(0) +
          b.context.metricValue("appliance_db_errors_total", {{"kind", "conflict"}}).value_or(0),
      conflicts);

  Sql sql(db.url());
  for (std::int64_t id : ids) {
    const Op* highest_accepted = nullptr;
    for (const Op& op : ops) {
      if (op.task_id != id) continue;
      ASSERT_TRUE(op.outcome == StatusCode::kOk || op.outcome == StatusCode::kConflict ||
                  op.outcome == StatusCode::kNotFound)
          << statusCodeName(op.outcome);
      if (op.outcome == StatusCode::kOk && (!highest_accepted || op.at > highest_accepted->at)) {
        highest_accepted = &op;
      }
    }
    ASSERT_NE(highest_accepted, nullptr);
    const std::string row = sql.value(
        "SELECT deleted::text || '|' || title || '|' || (extract(epoch from last_request_at) * "
        "1000000)::bigint FROM tasks WHERE id = " +
        std::to_string(id));
    const std::string at = std::to_string(highest_accepted->at);
    if (highest_accepted->remove) {
      EXPECT_EQ(row.substr(0, 5), "true|") << "task " << id;
      EXPECT_EQ(row.substr(row.rfind('|') + 1), at) << "task " << id;
      EXPECT_FALSE(a->get(id).isOk());
    } else {
      EXPECT_EQ(row, "false|" + highest_accepted->title + "|" + at) << "task " << id;
    }
    // Nothing newer than the final state was refused, nothing after a delete was accepted.
    for (const Op& op : ops) {
      if (op.task_id != id || op.at <= highest_accepted->at) continue;
      EXPECT_TRUE(highest_accepted->remove) << "a request newer than the final update was refused";
      EXPECT_EQ(op.outcome, StatusCode::kNotFound) << "only a tombstone refuses newer requests";
    }
  }
}

TEST_F(StoreIntegration, RacingUpdatesFromTwoStoresEndInTheHighestTimestamp) {
  auto created = a->create(newTask("contended", kT0));
  ASSERT_TRUE(created.isOk());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::latch go(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PostgresTaskStore& store = t % 2 == 0 ? *a.store : *b.store;
      go.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const Timestamp at = kT0 + 1 + ((i * kThreads + t) * 7919) % (kThreads * kPerThread);
        TaskPatch patch;
        patch.content = "at " + std::to_string(at);
        patch.request_at = at;
        const StatusCode code = store.update(created->id, patch).status().code();
        EXPECT_TRUE(code == StatusCode::kOk || code == StatusCode::kConflict)
            << statusCodeName(code);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto final_task = b->get(created->id);
  ASSERT_TRUE(final_task.isOk());
  const Timestamp highest = kT0 + kThreads * kPerThread;
  EXPECT_EQ(final_task->last_request_at, highest);
  EXPECT_EQ(final_task->content, "at " + std::to_string(highest));
}

TEST_F(StoreIntegration, ConcurrentReplayedCreatesAcrossStoresAcceptExactlyOne) {
  for (int round = 0; round < 5; ++round) {
    const std::string title = "once " + std::to_string(round);
    constexpr int kThreads = 8;
    std::atomic<int> accepted{0};
    std::atomic<int> refused{0};
    std::latch go(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        PostgresTaskStore& store = t % 2 == 0 ? *a.store : *b.store;
        go.arrive_and_wait();
        const StatusCode code = store.create(newTask(title, kT0 + 5)).status().code();
        if (code == StatusCode::kOk) ++accepted;
        if (code == StatusCode::kConflict) ++refused;
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(accepted.load(), 1);
    EXPECT_EQ(refused.load(), kThreads - 1);
    EXPECT_EQ(Sql(db.url()).value("SELECT count(*) FROM tasks WHERE title = '" + title + "'"), "1");
  }
}

TEST_F(StoreIntegration, BadInputIsInvalidArgumentNotInternal) {
  NewTask bad_utf8 = newTask("bad \xff\xfe", kT0);
  EXPECT_EQ(a->create(bad_utf8).status().code(), StatusCode::kInvalidArgument);
  NewTask bad_date = newTask("date", kT0);
  bad_date.due_date = "2023-02-30";
  EXPECT_EQ(a->create(bad_date).status().code(), StatusCode::kInvalidArgument);
  TaskQuery query;
  query.due_before = "tomorrow";
  EXPECT_EQ(a->list(query).status().code(), StatusCode::kInvalidArgument);
  // The connection that saw the errors is still good.
  EXPECT_TRUE(a->create(newTask("fine", kT0)).isOk());
}

TEST_F(StoreIntegration, IdsBeyondThirtyTwoBitsAreSimplyNotFound) {
  EXPECT_EQ(a->get(std::int64_t{1} << 40).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(a->remove(std::int64_t{1} << 40, kT0).code(), StatusCode::kNotFound);
}

TEST_F(StoreIntegration, RecordsQueryPoolAndConflictMetrics) {
  auto created = a->create(newTask("metrics", kT0 + 10));
  ASSERT_TRUE(created.isOk());
  ASSERT_TRUE(a->get(created->id).isOk());
  TaskPatch stale;
  stale.request_at = kT0;
  EXPECT_EQ(a->update(created->id, stale).status().code(), StatusCode::kConflict);
  auto& ctx = a.context;
  EXPECT_GE(ctx.metricValue("appliance_db_query_duration_seconds",
                            {{"statement", "task_get_many"}})  // GETs are batched
                .value_or(0),
            1);
  EXPECT_GE(ctx.metricValue("appliance_db_query_duration_seconds", {{"statement", "task_create"}})
                .value_or(0),
            1);
  EXPECT_EQ(ctx.metricValue("appliance_db_errors_total", {{"kind", "conflict"}}), 1);
  EXPECT_GE(ctx.metricValue("appliance_db_pool_acquire_seconds").value_or(0), 3);
  EXPECT_GE(ctx.metricValue("appliance_db_pool_connections", {{"state", "idle"}}).value_or(0), 1);
  EXPECT_EQ(ctx.metricValue("appliance_db_pool_connections", {{"state", "in_use"}}), 0);
  EXPECT_EQ(ctx.metricValue("appliance_db_pool_max_connections"), 8);
  EXPECT_EQ(ctx.metricValue("appliance_db_pool_waiters"), 0);
}

TEST_F(StoreIntegration, HealthyAndPingOkOnceStarted) {
  EXPECT_TRUE(a->health().healthy) << a->health().message;
  EXPECT_TRUE(a->ping().isOk());
  EXPECT_EQ(a->schemaVersion(), embeddedMigrations().back().version);
}

// Holds a row lock from another session so that a store statement blocks on it.
class RowLock {
 public:
  RowLock(const std::string& url, std::int64_t id) : sql_(url) {
    sql_.exec("BEGIN");
    sql_.exec("SELECT 1 FROM tasks WHERE id = " + std::to_string(id) + " FOR UPDATE");
  }
  void release() { sql_.exec("COMMIT"); }

 private:
  Sql sql_;
};

bool someoneWaitsForALock(const std::string& url, const std::string& application_name) {
  return Sql(url).value("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                        application_name + "' AND wait_event_type = 'Lock'") != "0";
}

TEST(StoreTimeouts, PoolExhaustedIsTimeoutAndTheBlockedCallStillCompletes) {
  TestDatabase db;
  RunningStore store(db.url(), [](PostgresConfig& c) {
    c.pool.max = 1;
    c.pool.acquire_timeout = std::chrono::milliseconds(200);
  });
  ASSERT_TRUE(store.started.isOk()) << store.started.message();
  auto created = store->create(newTask("locked", kT0));
  ASSERT_TRUE(created.isOk());
  RowLock lock(db.url(), created->id);
  std::thread blocked([&] {
    TaskPatch patch;
    patch.done = true;
    patch.request_at = kT0 + 1;
    auto updated = store->update(created->id, patch);
    EXPECT_TRUE(updated.isOk()) << updated.status().message();
  });
  ASSERT_TRUE(eventually([&] { return someoneWaitsForALock(db.url(), store.application_name); }));
  auto got = store->get(created->id);
  EXPECT_EQ(got.status().code(), StatusCode::kTimeout) << got.status().message();
  EXPECT_EQ(store.context.metricValue("appliance_db_errors_total", {{"kind", "timeout"}}), 1);
  lock.release();
  blocked.join();
  EXPECT_TRUE(store->get(created->id)->done);
}

TEST(StoreTimeouts, StatementTimeoutIsTimeoutAndTheConnectionStaysUsable) {
  TestDatabase db;
  RunningStore store(db.url(), [](PostgresConfig& c) {
    c.pool.max = 1;
    c.statement_timeout = std::chrono::milliseconds(300);
  });
  ASSERT_TRUE(store.started.isOk()) << store.started.message();
  auto created = store->create(newTask("slow", kT0));
  ASSERT_TRUE(created.isOk());
  {
    RowLock lock(db.url(), created->id);
    TaskPatch patch;
    patch.request_at = kT0 + 1;
    EXPECT_EQ(store->update(created->id, patch).status().code(), StatusCode::kTimeout);
    lock.release();
  }
  EXPECT_TRUE(store->get(created->id).isOk());
  EXPECT_EQ(store->get(created->id)->last_request_at, kT0);  // the timed-out write rolled back
}

// Both batch writers are held on locked rows while ten creates queue up; released, the ten
// run as one batch, which one bad create (invalid UTF-8) aborts: every create must still get
// its own outcome.
TEST(StoreBatching, ABadWriteInABatchDoesNotFailTheOthers) {
  TestDatabase db;
  RunningStore store(db.url());
  ASSERT_TRUE(store.started.isOk()) << store.started.message();
  auto x = store->create(newTask("x", kT0));
  auto y = store->create(newTask("y", kT0));
  ASSERT_TRUE(x.isOk() && y.isOk());
  Sql locker(db.url());
  locker.exec("BEGIN");
  locker.exec("SELECT 1 FROM tasks WHERE id IN (" + std::to_string(x->id) + ", " +
              std::to_string(y->id) + ") FOR UPDATE");
  auto lockWaiters = [&] {
    return Sql(db.url()).value("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                               store.application_name + "' AND wait_event_type = 'Lock'");
  };
  std::vector<std::thread> threads;
  // Joins whatever was started, even when an assertion returns early.
  struct Joiner {
    Sql& locker;
    std::vector<std::thread>& threads;
    ~Joiner() {
      locker.exec("ROLLBACK");
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } joiner{locker, threads};
  int waiting = 0;
  for (std::int64_t id : {x->id, y->id}) {  // one at a time: each occupies one writer
    threads.emplace_back([&, id] {
      TaskPatch patch;
      patch.request_at = kT0 + 1;
      EXPECT_TRUE(store->update(id, patch).isOk());
    });
    ++waiting;
    ASSERT_TRUE(eventually([&] { return lockWaiters() == std::to_string(waiting); }));
  }
  std::vector<StatusCode> outcomes(10);
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      const std::string title = i == 4 ? "bad \xc3\x28" : "good " + std::to_string(i);
      outcomes[i] = store->create(newTask(title, kT0)).status().code();
    });
  }
  ASSERT_TRUE(eventually([&] { return store->queuedWrites() == 10; }));
  locker.exec("COMMIT");
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(outcomes[i], i == 4 ? StatusCode::kInvalidArgument : StatusCode::kOk) << i;
  }
  EXPECT_EQ(Sql(db.url()).value("SELECT count(*) FROM tasks WHERE title LIKE 'good %'"), "9");
}

// The only connection is held by a write waiting for a row lock, so the batch reader waits
// for it with one GET while nine more queue up; released, the nine are answered by one
// statement. Each GET must still get its own task: present, missing, deleted, or asked for twice.
TEST(StoreBatching, QueuedGetsShareOneStatementAndEachGetsItsOwnRow) {
  TestDatabase db;
  RunningStore store(db.url(), [](PostgresConfig& c) {
    c.pool.max = 1;
    c.pool.acquire_timeout = std::chrono::seconds(20);
  });
  ASSERT_TRUE(store.started.isOk()) << store.started.message();
  std::vector<std::int64_t> ids;
  for (const char* title : {"a", "b", "c", "gone"}) {
    auto created = store->create(newTask(title, kT0));
    ASSERT_TRUE(created.isOk());
    ids.push_back(created->id);
  }
  ASSERT_TRUE(store->remove(ids[3], kT0 + 1).isOk());
  const std::int64_t missing = ids.back() + 1000;
  // The first is taken by the reader, the nine others queue behind it.
  const std::vector<std::int64_t> wanted = {ids[0], ids[1], ids[2], ids[0], missing,
                                            ids[3], ids[1], ids[2], ids[0], missing};
  const auto batchesBefore = store.context.metricValue("appliance_db_query_duration_seconds",
                                                       {{"statement", "task_get_many"}});
  std::vector<Result<Task>> got(wanted.size(), Status::internal("not run"));
  std::vector<std::thread> threads;
  struct Joiner {  // joins whatever was started, even when an assertion returns early
    std::vector<std::thread>& threads;
    ~Joiner() {
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  };
  RowLock lock(db.url(), ids[0]);
  Joiner joiner{threads};
  threads.emplace_back([&] {
    TaskPatch patch;
    patch.request_at = kT0 + 2;
    EXPECT_TRUE(store->update(ids[0], patch).isOk());
  });
  ASSERT_TRUE(eventually([&] { return someoneWaitsForALock(db.url(), store.application_name); }));
  const auto poolWaiters = [&] {
    return store.context.metricValue("appliance_db_pool_waiters", {}).value_or(-1);
  };
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    threads.emplace_back([&, i] { got[i] = store->get(wanted[i]); });
    if (i == 0) {  // the reader holds it while it waits for the connection
      ASSERT_TRUE(eventually([&] { return poolWaiters() == 1; }));
    }
  }
  ASSERT_TRUE(eventually([&] { return store->queuedReads() == 9; }));
  lock.release();
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const std::int64_t id = wanted[i];
    if (id == missing || id == ids[3]) {
      EXPECT_EQ(got[i].status().code(), StatusCode::kNotFound) << i;
    } else {
      ASSERT_TRUE(got[i].isOk()) << i << ": " << got[i].status().message();
      EXPECT_EQ(got[i]->id, id) << i;
      EXPECT_EQ(got[i]->title, id == ids[0] ? "a" : id == ids[1] ? "b" : "c") << i;
    }
  }
  const auto batchesAfter = store.context.metricValue("appliance_db_query_duration_seconds",
                                                      {{"statement", "task_get_many"}});
  ASSERT_TRUE(batchesAfter.has_value());
  EXPECT_EQ(*batchesAfter - batchesBefore.value_or(0), 2);  // 1 + 9
}

// With read_batch_size 1 a GET runs its own statement on a pooled connection.
TEST(StoreBatching, ReadBatchSizeOneRunsEachGetAlone) {
  TestDatabase db;
  RunningStore store(db.url(), [](PostgresConfig& c) { c.read_batch_size = 1; });
  ASSERT_TRUE(store.started.isOk()) << store.started.message();
  auto created = store->create(newTask("alone", kT0));
  ASSERT_TRUE(created.isOk());
  EXPECT_EQ(store->get(created->id)->title, "alone");
  EXPECT_EQ(store->get(created->id + 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      store.context.metricValue("appliance_db_query_duration_seconds", {{"statement", "task_get"}}),
      2);
  EXPECT_EQ(store.context.metricValue("appliance_db_query_duration_seconds",
                                      {{"statement", "task_get_many"}}),
            0);
}

TEST(StoreSessions, PoolStaysWithinMaxAndIdleConnectionsAreRecycled) {
  TestDatabase db;
  RunningStore store(db.url(), [](PostgresConfig& c) {
    c.pool.min = 0;
    c.pool.max = 3;
    c.pool.idle_timeout = std::chrono::milliseconds(300);
  });
  ASSERT_TRUE(store.started.isOk()) << store.started.message();
  auto created = store->create(newTask("busy", kT0));
  ASSERT_TRUE(created.isOk());
  std::atomic<int> max_seen{0};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      max_seen = std::max(max_seen.load(), store.serverSessions(db.url()));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) EXPECT_TRUE(store->get(created->id).isOk());
    });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  watcher.join();
  EXPECT_GE(max_seen.load(), 1);
  EXPECT_LE(max_seen.load(), 3);
  EXPECT_TRUE(eventually([&] { return store.serverSessions(db.url()) == 0; }))
      << "idle connections were not closed after idle_timeout (pool.min 0)";
  EXPECT_TRUE(store->get(created->id).isOk());  // and the pool dials again on demand
  store.store->stop();
  EXPECT_TRUE(eventually([&] { return store.serverSessions(db.url()) == 0; }));
  EXPECT_EQ(store->get(created->id).status().code(), StatusCode::kUnavailable);
}

TEST(StoragePostgresPlugin, ProvidesTaskStoreAndAHealthCheck) {
  TestDatabase db;
  auto root = ConfigNode::parse("storage_postgres:\n  url: " + db.url() + "\n  pool:\n    max: 2\n",
                                "test.yaml");
  ASSERT_TRUE(root.isOk());
  appliance::testing::FakeContext context("storage_postgres");
  StoragePostgresPlugin plugin;
  ASSERT_TRUE(plugin.configure(root->child("storage_postgres")).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  auto store = context.services().find<TaskStore>();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(context.health_checks.run().at("storage_postgres").healthy);  // not started
  ASSERT_TRUE(plugin.start().isOk());
  EXPECT_TRUE(context.health_checks.run().at("storage_postgres").healthy);
  // The plugin's default retention window (30 days) refuses kT0; a current timestamp it is.
  const Timestamp now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  auto created = store->create(newTask("via plugin", now));
  ASSERT_TRUE(created.isOk());
  // The same store, asynchronously (the task API's path).
  auto async = context.services().find<AsyncTaskStore>();
  ASSERT_NE(async, nullptr);
  std::promise<Result<Task>> got;
  async->getAsync(created->id, [&](Result<Task> task) { got.set_value(std::move(task)); });
  auto task = got.get_future().get();
  ASSERT_TRUE(task.isOk()) << task.status().message();
  EXPECT_EQ(task->title, "via plugin");
  // Lists too, the rows lent to the sink before `done` runs.
  auto lister = context.services().find<AsyncTaskLister>();
  ASSERT_NE(lister, nullptr);
  TaskPageCollector rows;
  std::promise<Result<bool>> listed;
  TaskQuery query;
  query.limit = 10;
  lister->listRowsAsync(query, rows, [&](Result<bool> more) { listed.set_value(std::move(more)); });
  auto has_more = listed.get_future().get();
  ASSERT_TRUE(has_more.isOk()) << has_more.status().message();
  EXPECT_FALSE(*has_more);
  ASSERT_EQ(rows.page.tasks.size(), 1u);
  EXPECT_EQ(rows.page.tasks[0].title, "via plugin");
  plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  EXPECT_FALSE(context.health_checks.run().at("storage_postgres").healthy);
  EXPECT_EQ(store->ping().code(), StatusCode::kUnavailable);
  int answers = 0;
  Status after_stop;
  async->removeAsync(created->id, now + 1, [&](Status s) {
    ++answers;
    after_stop = s;
  });
  EXPECT_EQ(answers, 1) << "a stopped store answers at once, exactly once";
  EXPECT_EQ(after_stop.code(), StatusCode::kUnavailable);
  int list_answers = 0;
  Status list_after_stop;
  TaskPageCollector none;
  lister->listRowsAsync(query, none, [&](Result<bool> more) {
    ++list_answers;
    list_after_stop = more.status();
  });
  EXPECT_EQ(list_answers, 1) << "a stopped store answers a list at once, exactly once";
  EXPECT_EQ(list_after_stop.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(none.page.tasks.empty());
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
