-- Seeds the tasks table (created by the storage_postgres migrations, or by this file when
-- run alone) with 10000 rows: ids 1..10000 for get_by_id.sql and update.sql.
\ir ../../plugins/storage_postgres/migrations/0001_tasks.sql
TRUNCATE tasks RESTART IDENTITY;
INSERT INTO tasks (title, content, due_date, done, last_request_at)
SELECT 'task ' || g, repeat('x', 200), DATE '2024-01-01' + (g % 365), g % 3 = 0,
       TIMESTAMP '2024-01-01'
  FROM generate_series(1, 10000) AS g;
VACUUM ANALYZE tasks;
