#pragma once
// The SQL the store runs: every statement prepared once per connection, with typed binary
// parameters and binary results. Each ordering rule is one statement (or, for create, two
// statements pipelined in one implicit transaction); see README.md "Concurrency design".

#include <array>
#include <cstdint>
#include <string_view>

namespace appliance::plugins::storage_postgres {

enum class Statement : int {
  kGet = 0,
  kGetMany,   // read batches (read_batcher.h)
  kList,      // GET /tasks
  kListDone,  // GET /tasks?done=true
  kListOpen,  // GET /tasks?done=false
  kCreateLock,
  kCreate,
  kUpdate,
  kRemove,
  kCounts,
  kPing,
  kBegin,  // write batches (write_batcher.h)
  kCommit,
  kRollback,
  kPurge,  // expired tombstones (PostgresTaskStore::purgeTombstones)
  // The kv_store service (postgres_kv_store.h), table appliance_kv (migration 0003).
  kKvGet,
  kKvList,
  kKvPut,         // unconditional or must-not-exist: an upsert
  kKvPutVersion,  // only over a given live version: a conditional update
  kKvRemove,
  kKvLock,  // a batch's per-key advisory locks, in one global order
  kKvPurge,
};
inline constexpr int kStatementCount = 22;

// PostgreSQL type OIDs (pg_type.h) of the parameters we send.
inline constexpr unsigned kInt8Oid = 20;
inline constexpr unsigned kInt8ArrayOid = 1016;
inline constexpr unsigned kInt4Oid = 23;
inline constexpr unsigned kTextOid = 25;
inline constexpr unsigned kByteaOid = 17;
inline constexpr unsigned kBoolOid = 16;
inline constexpr unsigned kDateOid = 1082;
inline constexpr unsigned kTimestampOid = 1114;

struct StatementDef {
  const char* name;  // prepared statement name, also the metric label
  const char* sql;
  int param_count;
  std::array<unsigned, 7> param_types;
};

const StatementDef& statementDef(Statement statement);

// The last column of task_create, task_update and task_remove: why nothing was written.
inline constexpr std::int64_t kOutcomeWritten = 0;
inline constexpr std::int64_t kOutcomeNotFound = 1;  // no row, or a tombstone older than it
inline constexpr std::int64_t kOutcomeConflict = 2;  // stale, or a replayed create
inline constexpr std::int64_t kOutcomeTooOld = 3;    // before the retention window

// The column list every task-returning statement yields, in this order, from this column.
// id, title, content, due_date, done, created_at, updated_at, last_request_at
inline constexpr int kTaskColumns = 8;

// pg_advisory_xact_lock(kTitleLockSpace, titleLockKey(title)) serialises creates of one
// title across every process. Computed here (not with hashtext()) so that write batches can
// sort their locks by it.
inline constexpr std::int32_t kTitleLockSpace = 0x7461736b;  // "task"
std::int32_t titleLockKey(std::string_view title);           // FNV-1a 32
// pg_advisory_lock(kMigrationLockKey) serialises migrations across processes.
inline constexpr std::int64_t kMigrationLockKey = 0x6170706c69616e63;  // "applianc"

}  // namespace appliance::plugins::storage_postgres
