#include "statements.h"

namespace appliance::plugins::storage_postgres {
namespace {

// kTitleLockSpace, as SQL text.
#define TITLE_LOCK_SPACE "1952543595"
static_assert(kTitleLockSpace == 1952543595);

#define TASK_COLUMNS "id, title, content, due_date, done, created_at, updated_at, last_request_at"

// The rows a write may not touch and why, decided in the same statement (same snapshot, and
// FOR SHARE waits for and reads the newest committed version of the row): 1 = not found
// (no row, or a tombstone older than the request), 2 = conflict (a newer accepted write).
#define CURRENT_STATE "cur AS (SELECT deleted, last_request_at FROM tasks WHERE id = $1 FOR SHARE) "

const std::array<StatementDef, kStatementCount> kStatements = {{
    {"task_get", "SELECT " TASK_COLUMNS " FROM tasks WHERE id = $1 AND NOT deleted", 1, {kInt8Oid}},
    {"task_get_many",
     "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ANY($1) AND NOT deleted",
     1,
     {kInt8ArrayOid}},
    {"task_list",
     "SELECT " TASK_COLUMNS " FROM tasks "
     "WHERE NOT deleted AND id < $1 "
     "AND ($2::boolean IS NULL OR done = $2) "
     "AND ($3::date IS NULL OR due_date < $3) "
     "AND ($4::date IS NULL OR due_date > $4) "
     "ORDER BY id DESC LIMIT $5",
     5,
     {kInt8Oid, kBoolOid, kDateOid, kDateOid, kInt8Oid}},
    {"task_create_lock", "SELECT pg_advisory_xact_lock(" TITLE_LOCK_SPACE ", $1)", 1, {kInt4Oid}},
    {"task_create",
     "INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, "
     "last_request_at) "
     "SELECT $1, $2, $3, false, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', $4 "
     "WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE title = $1 AND last_request_at >= $4) "
     "RETURNING " TASK_COLUMNS,
     4,
     {kTextOid, kTextOid, kDateOid, kTimestampOid}},
    {"task_update",
     "WITH upd AS ("
     "UPDATE tasks SET title = COALESCE($2, title), content = COALESCE($3, content), "
     "due_date = COALESCE($4, due_date), done = COALESCE($5, done), "
     "updated_at = now() AT TIME ZONE 'UTC', last_request_at = $6 "
     "WHERE id = $1 AND NOT deleted AND last_request_at < $6 "
     "RETURNING " TASK_COLUMNS "), " CURRENT_STATE "SELECT upd.*, 0 AS outcome FROM upd "
     "UNION ALL "
     "SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
     "CASE WHEN cur.deleted AND cur.last_request_at < $6 THEN 1 ELSE 2 END "
     "FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd)",
     6,
     {kInt8Oid, kTextOid, kTextOid, kDateOid, kBoolOid, kTimestampOid}},
    {"task_remove",
     "WITH del AS ("
     "UPDATE tasks SET deleted = true, updated_at = now() AT TIME ZONE 'UTC', "
     "last_request_at = $2 "
     "WHERE id = $1 AND NOT deleted AND last_request_at < $2 RETURNING id), " CURRENT_STATE
     "SELECT 0 FROM del "
     "UNION ALL "
     "SELECT CASE WHEN cur.deleted AND cur.last_request_at < $2 THEN 1 ELSE 2 END "
     "FROM cur WHERE NOT EXISTS (SELECT 1 FROM del)",
     2,
     {kInt8Oid, kTimestampOid}},
    {"task_counts",
     "SELECT count(*) FILTER (WHERE done), count(*) FILTER (WHERE NOT done) "
     "FROM tasks WHERE NOT deleted",
     0,
     {}},
    {"ping", "SELECT 1", 0, {}},
    {"begin", "BEGIN", 0, {}},
    {"commit", "COMMIT", 0, {}},
    {"rollback", "ROLLBACK", 0, {}},
}};

#undef CURRENT_STATE
#undef TITLE_LOCK_SPACE
#undef TASK_COLUMNS

}  // namespace

std::int32_t titleLockKey(std::string_view title) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : title) {
    hash ^= c;
    hash *= 16777619u;
  }
  return static_cast<std::int32_t>(hash);
}

const StatementDef& statementDef(Statement statement) {
  return kStatements[static_cast<int>(statement)];
}

}  // namespace appliance::plugins::storage_postgres
