// scripts/backup.sh and scripts/restore.sh against the throwaway PostgreSQL: tasks written
// through the real appliance (updates, a delete leaving a tombstone), backed up, the
// database dropped and recreated, restored, and every row of every table read back
// unchanged; replays older than the backup are still refused after the restore.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "e2e_support.h"
#include "harness/harness.h"

using appliance::test::ApplianceProcess;
using appliance::test::createDatabase;
using appliance::test::http;
using appliance::test::HttpResult;
using appliance::test::isoTimestamp;
using appliance::test::jsonField;
using appliance::test::nowMicros;
using appliance::test::postgresUrl;
using appliance::test::runCommand;
using appliance::test::TempDir;

namespace {

const std::string kToken = "backup-e2e-token-0123456789abcdef";

// One appliance process serving role api on `url`.
struct Node {
  Node(const TempDir& dir, const std::string& name, const std::string& url) {
    listen = "127.0.0.1:" + std::to_string(appliance::test::freePort());
    const std::string data = dir.file(name + "-data");
    std::filesystem::create_directories(data);
    const std::string config = dir.write(
        name + ".yaml",
        "http: {listen: \"" + listen + "\", access_log: false}\n" + "data: {dir: " + data + "}\n" +
            "roles: {api: [storage_postgres, task_api]}\n" + "storage_postgres: {url: \"" + url +
            "\"}\n" + "task_api: {auth: {tokens: [" + kToken + "]}}\n");
    process = std::make_unique<ApplianceProcess>(
        std::vector<std::string>{"--config=" + config, "--role=api"}, data);
  }
  HttpResult call(const std::string& method, const std::string& target,
                  const std::string& body = {}) const {
    return http(listen, method, target, body, {{"Authorization", "Bearer " + kToken}});
  }
  std::string listen;
  std::unique_ptr<ApplianceProcess> process;
};

// Runs one statement; returns the first column of every row ("" rows for NULL).
std::vector<std::string> query(const std::string& url, const std::string& sql) {
  std::vector<std::string> rows;
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    ADD_FAILURE() << "connect " << url << ": " << PQerrorMessage(conn);
    PQfinish(conn);
    return rows;
  }
  PGresult* r = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    ADD_FAILURE() << sql << ": " << PQerrorMessage(conn);
  } else {
    for (int i = 0; i < PQntuples(r); ++i) rows.emplace_back(PQgetvalue(r, i, 0));
  }
  PQclear(r);
  PQfinish(conn);
  return rows;
}

// Every table of the public schema with all its rows as JSON, in a stable order.
std::map<std::string, std::string> snapshot(const std::string& url) {
  std::map<std::string, std::string> tables;
  for (const auto& table : query(url,
                                 "SELECT quote_ident(table_name) FROM information_schema.tables "
                                 "WHERE table_schema = 'public' ORDER BY 1")) {
    const auto rows = query(url,
                            "SELECT coalesce(json_agg(j ORDER BY j::text), '[]')::text FROM "
                            "(SELECT row_to_json(t)::jsonb AS j FROM " +
                                table + " t) s");
    tables[table] = rows.empty() ? "" : rows[0];
  }
  return tables;
}

std::string script(const std::string& name) {
  return appliance::test::sourceDir() + "/scripts/" + name;
}

// An `aws` stand-in for `aws s3 cp SRC DST` that maps s3://bucket/key to $FAKE_S3_ROOT.
std::string writeFakeAws(const TempDir& dir) {
  const std::string bin = dir.file("fake-bin");
  std::filesystem::create_directories(bin);
  const std::string aws = dir.write("fake-bin/aws", R"SH(#!/usr/bin/env bash
set -euo pipefail
[[ "$1 $2" == "s3 cp" ]] || { echo "fake aws: only 's3 cp' is supported" >&2; exit 2; }
shift 2
args=()
for a in "$@"; do [[ "$a" == --* ]] || args+=("$a"); done
map() { if [[ "$1" == s3://* ]]; then echo "$FAKE_S3_ROOT/${1#s3://}"; else echo "$1"; fi; }
src=$(map "${args[0]}")
dst=$(map "${args[1]}")
mkdir -p "$(dirname "$dst")"
cp "$src" "$dst"
)SH");
  std::filesystem::permissions(aws, std::filesystem::perms::owner_all);
  return bin;
}

}  // namespace

TEST(BackupRestore, RestoresEveryRowAndReplaysStayRefused) {
  const std::string admin = postgresUrl(appliance::test::postgresStateFile());
  ASSERT_FALSE(admin.empty()) << "postgres fixture is not up";
  const std::string url = createDatabase(admin);
  ASSERT_FALSE(url.empty());
  const std::string db_name = url.substr(url.rfind('/') + 1);
  TempDir dir;

  // Writes through the API: creates, an update, a completed task, a delete (tombstone).
  const std::int64_t base = nowMicros() - 60'000'000;
  const auto ts = [&](int step) { return isoTimestamp(base + step * 1000); };
  std::map<std::string, std::string> ids;
  std::string max_id;
  {
    Node node(dir, "before", url);
    ASSERT_TRUE(node.process->waitReady(node.listen)) << node.process->output();
    for (const std::string title : {"alpha", "bravo", "charlie"}) {
      auto r = node.call("POST", "/tasks",
                         R"({"title":")" + title +
                             R"(","content":"c","due_date":"2030-01-01","request_timestamp":")" +
                             ts(1) + "\"}");
      ASSERT_EQ(r.status, 201) << r.body;
      ids[title] = jsonField(r.body, "id");
      max_id = ids[title];
    }
    ASSERT_EQ(node.call("PUT", "/tasks/" + ids["alpha"],
                        R"({"title":"alpha v2","request_timestamp":")" + ts(2) + "\"}")
                  .status,
              200);
    ASSERT_EQ(node.call("PUT", "/tasks/" + ids["charlie"],
                        R"({"done":true,"request_timestamp":")" + ts(3) + "\"}")
                  .status,
              200);
    ASSERT_EQ(node.call("DELETE", "/tasks/" + ids["bravo"] + "?request_timestamp=" + ts(4)).status,
              200);
    EXPECT_EQ(node.process->terminate(), 0) << node.process->output();
  }
  const auto before = snapshot(url);
  ASSERT_TRUE(before.count("tasks"));
  const auto tombstones = query(url, "SELECT count(*) FROM tasks WHERE deleted");
  ASSERT_EQ(tombstones, std::vector<std::string>{"1"}) << "the delete left no tombstone";

  // Back up to a file and to an "S3" path (a stand-in `aws` on PATH).
  const std::string file = dir.file("backups/tasks.dump");
  auto backup = runCommand({script("backup.sh"), "--url", url, file});
  ASSERT_EQ(backup.exit_code, 0) << backup.out << backup.err;
  const std::map<std::string, std::string> s3_env = {
      {"PATH", writeFakeAws(dir) + ":" + std::string(std::getenv("PATH"))},
      {"FAKE_S3_ROOT", dir.file("s3")}};
  backup =
      runCommand({script("backup.sh"), "--url", url, "s3://bucket/appliance/tasks.dump"}, s3_env);
  ASSERT_EQ(backup.exit_code, 0) << backup.out << backup.err;
  ASSERT_TRUE(std::filesystem::exists(dir.file("s3/bucket/appliance/tasks.dump")));

  // Lose the database, recreate it empty, restore from "S3".
  query(admin, "DROP DATABASE " + db_name + " WITH (FORCE)");
  query(admin, "CREATE DATABASE " + db_name);
  EXPECT_TRUE(snapshot(url).empty());
  auto restore =
      runCommand({script("restore.sh"), "--url", url, "s3://bucket/appliance/tasks.dump"}, s3_env);
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(snapshot(url), before) << "rows differ after the restore";

  // A second restore over the now non-empty database is refused without --force ...
  restore = runCommand({script("restore.sh"), "--url", url, file});
  EXPECT_NE(restore.exit_code, 0);
  EXPECT_NE(restore.err.find("not empty"), std::string::npos) << restore.err;
  EXPECT_EQ(snapshot(url), before);
  // ... and replaces the dump's objects with it.
  restore = runCommand({script("restore.sh"), "--force", "--url", url, file});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(snapshot(url), before);

  // The restored database still refuses every replay, and new writes continue.
  Node node(dir, "after", url);
  ASSERT_TRUE(node.process->waitReady(node.listen)) << node.process->output();
  EXPECT_EQ(
      node.call("POST", "/tasks",
                R"({"title":"bravo","content":"c","due_date":"2030-01-01","request_timestamp":")" +
                    ts(1) + "\"}")
          .status,
      409)
      << "replayed create of a deleted task";
  EXPECT_EQ(node.call("DELETE", "/tasks/" + ids["bravo"] + "?request_timestamp=" + ts(4)).status,
            409)
      << "replayed delete";
  EXPECT_EQ(node.call("PUT", "/tasks/" + ids["alpha"],
                      R"({"title":"alpha v2","request_timestamp":")" + ts(2) + "\"}")
                .status,
            409)
      << "replayed update";
  EXPECT_EQ(node.call("PUT", "/tasks/" + ids["bravo"],
                      R"({"title":"back","request_timestamp":")" + ts(9) + "\"}")
                .status,
            404)
      << "a deleted task stays deleted";
  EXPECT_EQ(snapshot(url), before) << "a refused replay changed a row";
  const auto alpha = node.call("GET", "/tasks/" + ids["alpha"]);
  ASSERT_EQ(alpha.status, 200);
  EXPECT_EQ(jsonField(alpha.body, "title"), "alpha v2");
  const auto created =
      node.call("POST", "/tasks",
                R"({"title":"delta","content":"c","due_date":"2030-01-01","request_timestamp":")" +
                    isoTimestamp(nowMicros()) + "\"}");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_GT(std::stoll(jsonField(created.body, "id")), std::stoll(max_id))
      << "the id sequence was not restored";
  EXPECT_EQ(node.process->terminate(), 0) << node.process->output();
}
