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

// The retention rule (task_store.h): request timestamp `ts` is inside the window of
// `retention` microseconds (NULL: no window) before the statement's start on the server's
// clock, the clock the purge uses too.
#define IN_WINDOW(ts, retention)                                \
  "(" retention "::int8 IS NULL OR " ts                         \
  " >= (statement_timestamp() AT TIME ZONE 'UTC') - " retention \
  "::int8 * interval '1 microsecond')"

#define CREATE_IN_WINDOW IN_WINDOW("$4", "$5")
#define UPDATE_IN_WINDOW IN_WINDOW("$6", "$7")
#define REMOVE_IN_WINDOW IN_WINDOW("$2", "$3")

#define NO_TASK "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "

// GET /tasks, newest first, through the partial indexes of live rows (migration 0002):
// tasks_live_id_idx, or tasks_live_done_idx / tasks_live_open_idx with the done filter.
// The done state is literal SQL, one statement each, so that a generic plan can prove the
// partial index's predicate (a `done = $2` or `($2 IS NULL OR done = $2)` cannot).
#define LIST_STATEMENT(done_filter)                                                  \
  "SELECT " TASK_COLUMNS " FROM tasks WHERE NOT deleted " done_filter                \
  "AND id < $1 "                                                                     \
  "AND ($2::date IS NULL OR due_date < $2) AND ($3::date IS NULL OR due_date > $3) " \
  "ORDER BY id DESC LIMIT $4"

const std::array<StatementDef, kStatementCount> kStatements = {{
    {"task_get", "SELECT " TASK_COLUMNS " FROM tasks WHERE id = $1 AND NOT deleted", 1, {kInt8Oid}},
    {"task_get_many",
     "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ANY($1) AND NOT deleted",
     1,
     {kInt8ArrayOid}},
    {"task_list", LIST_STATEMENT(""), 4, {kInt8Oid, kDateOid, kDateOid, kInt8Oid}},
    {"task_list_done", LIST_STATEMENT("AND done "), 4, {kInt8Oid, kDateOid, kDateOid, kInt8Oid}},
    {"task_list_open",
     LIST_STATEMENT("AND NOT done "),
     4,
     {kInt8Oid, kDateOid, kDateOid, kInt8Oid}},
    {"task_create_lock", "SELECT pg_advisory_xact_lock(" TITLE_LOCK_SPACE ", $1)", 1, {kInt4Oid}},
    // Always one row: the task and outcome 0, or no task and 2 (replay) or 3 (too old).
    {"task_create",
     "WITH ins AS ("
     "INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, "
     "last_request_at) "
     "SELECT $1, $2, $3, false, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', $4 "
     "WHERE " CREATE_IN_WINDOW
     " AND NOT EXISTS (SELECT 1 FROM tasks WHERE title = $1 AND last_request_at >= $4) "
     "RETURNING " TASK_COLUMNS ") "
     "SELECT ins.*, 0 AS outcome FROM ins "
     "UNION ALL "
     "SELECT " NO_TASK "CASE WHEN " CREATE_IN_WINDOW " THEN 2 ELSE 3 END "
     "WHERE NOT EXISTS (SELECT 1 FROM ins)",
     5,
     {kTextOid, kTextOid, kDateOid, kTimestampOid, kInt8Oid}},
    // The task and outcome 0; or no task and 1, 2 or 3; or no row at all (no such id).
    {"task_update",
     "WITH upd AS ("
     "UPDATE tasks SET title = COALESCE($2, title), content = COALESCE($3, content), "
     "due_date = COALESCE($4, due_date), done = COALESCE($5, done), "
     "updated_at = now() AT TIME ZONE 'UTC', last_request_at = $6 "
     "WHERE id = $1 AND NOT deleted AND last_request_at < $6 AND " UPDATE_IN_WINDOW
     " RETURNING " TASK_COLUMNS "), " CURRENT_STATE "SELECT upd.*, 0 AS outcome FROM upd "
     "UNION ALL "
     "SELECT " NO_TASK "CASE WHEN cur.deleted AND cur.last_request_at < $6 THEN 1 ELSE 2 END "
     "FROM cur WHERE " UPDATE_IN_WINDOW " AND NOT EXISTS (SELECT 1 FROM upd) "
     "UNION ALL "
     "SELECT " NO_TASK "3 WHERE NOT " UPDATE_IN_WINDOW,
     7,
     {kInt8Oid, kTextOid, kTextOid, kDateOid, kBoolOid, kTimestampOid, kInt8Oid}},
    // Outcome 0, 1, 2 or 3, or no row at all (no such id).
    {"task_remove",
     "WITH del AS ("
     "UPDATE tasks SET deleted = true, updated_at = now() AT TIME ZONE 'UTC', "
     "last_request_at = $2 "
     "WHERE id = $1 AND NOT deleted AND last_request_at < $2 AND " REMOVE_IN_WINDOW
     " RETURNING id), " CURRENT_STATE "SELECT 0 FROM del "
     "UNION ALL "
     "SELECT CASE WHEN cur.deleted AND cur.last_request_at < $2 THEN 1 ELSE 2 END "
     "FROM cur WHERE " REMOVE_IN_WINDOW " AND NOT EXISTS (SELECT 1 FROM del) "
     "UNION ALL "
     "SELECT 3 WHERE NOT " REMOVE_IN_WINDOW,
     3,
     {kInt8Oid, kTimestampOid, kInt8Oid}},
    {"task_counts",
     "SELECT count(*) FILTER (WHERE done), count(*) FILTER (WHERE NOT done) "
     "FROM tasks WHERE NOT deleted",
     0,
     {}},
    {"ping", "SELECT 1", 0, {}},
    {"begin", "BEGIN", 0, {}},
    {"commit", "COMMIT", 0, {}},
    {"rollback", "ROLLBACK", 0, {}},
    // ($1 microseconds: retention plus margin, $2 limit) The oldest expired tombstones, through
    // the partial index tasks_tombstone_age_idx. SKIP LOCKED: purges running at once in several
    // processes take different rows, and none waits for a write holding a tombstone.
    {"task_purge",
     "WITH doomed AS (SELECT id FROM tasks WHERE deleted AND last_request_at < "
     "(statement_timestamp() AT TIME ZONE 'UTC') - $1::int8 * interval '1 microsecond' "
     "ORDER BY last_request_at LIMIT $2 FOR UPDATE SKIP LOCKED), "
     "gone AS (DELETE FROM tasks WHERE id IN (SELECT id FROM doomed) AND deleted RETURNING 1) "
     "SELECT count(*) FROM gone",
     2,
     {kInt8Oid, kInt8Oid}},
    // --- kv_store. Keys are text COLLATE "C" (byte order); `now` is the caller's clock in UTC
    // microseconds; an entry with expires_at <> 0 AND expires_at <= now is absent. The
    // conflict rows carry the live version as of the statement's snapshot, for the message.
    // ($1 ns, $2 key, $3 now)
    {"kv_get",
     "SELECT value, version, expires_at FROM appliance_kv WHERE ns = $1 AND key = $2 "
     "AND (expires_at = 0 OR expires_at > $3)",
     3,
     {kTextOid, kTextOid, kInt8Oid}},
    // ($1 ns, $2 prefix, $3 first string above every key with the prefix, $4 start after,
    // $5 now, $6 limit or NULL): one range of the primary key, in byte order.
    {"kv_list",
     "SELECT key, value, version, expires_at FROM appliance_kv WHERE ns = $1 AND key >= $2 "
     "AND key < $3 AND key > $4 AND (expires_at = 0 OR expires_at > $5) ORDER BY key LIMIT $6",
     6,
     {kTextOid, kTextOid, kTextOid, kTextOid, kInt8Oid, kInt8Oid}},
    // ($1 ns, $2 key, $3 value, $4 must_not_exist, $5 expires_at, $6 now) -> (written, version).
    // ON CONFLICT arbitrates a concurrent insert of the same key: the loser re-checks its
    // condition against the winner's committed row.
    {"kv_put",
     "WITH ins AS (INSERT INTO appliance_kv AS kv (ns, key, value, version, expires_at) "
     "VALUES ($1, $2, $3, nextval('appliance_kv_version'), $5) "
     "ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, "
     "expires_at = EXCLUDED.expires_at "
     "WHERE NOT $4 OR (kv.expires_at <> 0 AND kv.expires_at <= $6) RETURNING kv.version) "
     "SELECT true, version FROM ins "
     "UNION ALL SELECT false, (SELECT version FROM appliance_kv WHERE ns = $1 AND key = $2 "
     "AND (expires_at = 0 OR expires_at > $6)) WHERE NOT EXISTS (SELECT 1 FROM ins)",
     6,
     {kTextOid, kTextOid, kByteaOid, kBoolOid, kInt8Oid, kInt8Oid}},
    // ($1 ns, $2 key, $3 value, $4 expected version, $5 expires_at, $6 now) -> (written,
    // version). An UPDATE re-checks its WHERE on the newest committed row, so of two writers
    // holding the same version exactly one succeeds.
    {"kv_put_version",
     "WITH upd AS (UPDATE appliance_kv SET value = $3, version = nextval('appliance_kv_version'), "
     "expires_at = $5 WHERE ns = $1 AND key = $2 AND version = $4 "
     "AND (expires_at = 0 OR expires_at > $6) RETURNING version) "
     "SELECT true, version FROM upd "
     "UNION ALL SELECT false, (SELECT version FROM appliance_kv WHERE ns = $1 AND key = $2 "
     "AND (expires_at = 0 OR expires_at > $6)) WHERE NOT EXISTS (SELECT 1 FROM upd)",
     6,
     {kTextOid, kTextOid, kByteaOid, kInt8Oid, kInt8Oid, kInt8Oid}},
    // ($1 ns, $2 key, $3 expected version or NULL (any), $4 now) -> (deleted, was live, live
    // version). Expected 0 deletes only an expired row.
    {"kv_remove",
     "WITH del AS (DELETE FROM appliance_kv WHERE ns = $1 AND key = $2 AND ($3 IS NULL "
     "OR ($3 = 0 AND expires_at <> 0 AND expires_at <= $4) "
     "OR ($3 <> 0 AND version = $3 AND (expires_at = 0 OR expires_at > $4))) "
     "RETURNING (expires_at = 0 OR expires_at > $4) AS live) "
     "SELECT true, live, NULL::int8 FROM del "
     "UNION ALL SELECT false, false, (SELECT version FROM appliance_kv WHERE ns = $1 AND key = $2 "
     "AND (expires_at = 0 OR expires_at > $4)) WHERE NOT EXISTS (SELECT 1 FROM del)",
     4,
     {kTextOid, kTextOid, kInt8Oid, kInt8Oid}},
    // ($1 lock keys) Transaction-level advisory locks on every key of a batch, ascending (the
    // ORDER BY subquery is not flattened, so the locks are taken in that order): concurrent
    // batches over the same keys queue instead of deadlocking.
    {"kv_lock",
     "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT k FROM unnest($1::int8[]) AS u(k) "
     "ORDER BY k) AS keys",
     1,
     {kInt8ArrayOid}},
    // ($1 cutoff, $2 limit) Expired rows, oldest first, through appliance_kv_expiry_idx; SKIP
    // LOCKED so that purges in several processes split the work.
    {"kv_purge",
     "WITH doomed AS (SELECT ns, key FROM appliance_kv WHERE expires_at <> 0 AND expires_at <= $1 "
     "ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED), "
     "gone AS (DELETE FROM appliance_kv kv USING doomed d WHERE kv.ns = d.ns AND kv.key = d.key "
     "AND kv.expires_at <> 0 AND kv.expires_at <= $1 RETURNING 1) "
     "SELECT count(*) FROM gone",
     2,
     {kInt8Oid, kInt8Oid}},
}};

#undef LIST_STATEMENT
#undef NO_TASK
#undef REMOVE_IN_WINDOW
#undef UPDATE_IN_WINDOW
#undef CREATE_IN_WINDOW
#undef IN_WINDOW
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
