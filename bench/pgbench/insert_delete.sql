-- storage_postgres `create` then `remove` of the new task: mixed.lua's POST and the DELETE of
-- a task its thread created, as two statements and two implicit transactions (the title lock
-- joins the INSERT in one statement here, since \gset cannot run in a pipeline).
\set n random(1, 2000000000)
WITH lock AS (SELECT pg_advisory_xact_lock(1952543595, :n))
INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, last_request_at)
SELECT 'bench ' || :n, 'some content', DATE '2025-01-01', false,
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', clock_timestamp() AT TIME ZONE 'UTC'
  FROM lock
 WHERE NOT EXISTS (SELECT 1 FROM tasks
                    WHERE title = 'bench ' || :n
                      AND last_request_at >= clock_timestamp() AT TIME ZONE 'UTC')
RETURNING id AS new_id \gset
WITH req AS (SELECT clock_timestamp() AT TIME ZONE 'UTC' AS ts),
del AS (
  UPDATE tasks SET deleted = true, updated_at = now() AT TIME ZONE 'UTC',
         last_request_at = (SELECT ts FROM req)
   WHERE id = :new_id::int8 AND NOT deleted AND last_request_at < (SELECT ts FROM req)
  RETURNING id),
cur AS (SELECT deleted, last_request_at FROM tasks WHERE id = :new_id::int8 FOR SHARE)
SELECT 0 FROM del
UNION ALL
SELECT CASE WHEN cur.deleted AND cur.last_request_at < (SELECT ts FROM req) THEN 1 ELSE 2 END
  FROM cur WHERE NOT EXISTS (SELECT 1 FROM del);
