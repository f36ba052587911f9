// storage_postgres: the `task_store`, `task_store_async`, `task_lister_async` and `kv_store`
// services on PostgreSQL through libpq. See README.md.
#include "postgres_plugin.h"

APPLIANCE_PLUGIN(appliance::plugins::storage_postgres::StoragePostgresPlugin, "storage_postgres",
                 "0.1.0", "Task and kv storage on PostgreSQL (libpq): pooled, migrated, race-free",
                 "task_store,task_store_async,task_lister_async,kv_store", "")
