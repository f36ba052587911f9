// The storage_sqlite entry point: the descriptor and factory only.
#include "appliance/plugin.h"
#include "sqlite_plugin.h"

APPLIANCE_PLUGIN(appliance::plugins::storage_sqlite::SqlitePlugin, "storage_sqlite", "0.1.0",
                 "Task and kv storage on an embedded SQLite file (WAL)", "task_store,kv_store", "")
