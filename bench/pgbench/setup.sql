-- Seeds the tasks table (created by the storage_postgres migrations, or by this file when
-- run alone) with 10000 rows: ids 1..10000 for get_by_id.sql and update.sql. Every migration
-- that shapes the tasks table runs, so the statements meet the store's indexes (without 0002's
-- live-row indexes a list walks every tombstone that insert_delete.sql leaves).
\ir ../../plugins/storage_postgres/migrations/0001_tasks.sql
\ir ../../plugins/storage_postgres/migrations/0002_live_indexes.sql
TRUNCATE tasks RESTART IDENTITY;
INSERT INTO tasks (title, content, due_date, done, last_request_at)
SELECT 'task ' || g, repeat('x', 200), DATE '2024-01-01' + (g % 365), g % 3 = 0,
       TIMESTAMP '2024-01-01'
  FROM generate_series(1, 10000) AS g;
VACUUM ANALYZE tasks;
