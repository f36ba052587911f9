-- storage_postgres `update`: the conditional UPDATE with its same-statement 404/409
-- disambiguation. The request timestamp is clock_timestamp() so that updates are accepted.
\set id random(1, 10000)
WITH req AS (SELECT clock_timestamp() AT TIME ZONE 'UTC' AS ts),
upd AS (
  UPDATE tasks SET
    title = COALESCE(NULL::text, title),
    content = COALESCE(NULL::text, content),
    due_date = COALESCE(NULL::date, due_date),
    done = COALESCE(NOT done, done),
    updated_at = now() AT TIME ZONE 'UTC',
    last_request_at = (SELECT ts FROM req)
  WHERE id = :id::int8 AND NOT deleted AND last_request_at < (SELECT ts FROM req)
  RETURNING id, title, content, due_date, done, created_at, updated_at, last_request_at),
cur AS (SELECT deleted, last_request_at FROM tasks WHERE id = :id::int8 FOR SHARE)
SELECT 0 AS outcome, upd.* FROM upd
UNION ALL
SELECT CASE WHEN cur.deleted AND cur.last_request_at < (SELECT ts FROM req) THEN 1 ELSE 2 END,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd);
