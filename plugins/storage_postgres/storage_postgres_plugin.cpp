// storage_postgres: the `task_store` service on PostgreSQL through libpq. See README.md.
#include "postgres_plugin.h"

APPLIANCE_PLUGIN(appliance::plugins::storage_postgres::StoragePostgresPlugin, "storage_postgres",
                 "0.1.0", "Task storage on PostgreSQL (libpq): pooled, migrated, race-free",
                 "task_store", "")
