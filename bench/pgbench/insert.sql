-- storage_postgres `create`: the per-title advisory lock and the replay-checked INSERT in one
-- pipeline = one round trip and one implicit transaction, as the store sends them.
\set n random(1, 2000000000)
\startpipeline
SELECT pg_advisory_xact_lock(1952543595, :n);
INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, last_request_at)
SELECT 'bench ' || :n, 'some content', DATE '2025-01-01', false,
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', clock_timestamp() AT TIME ZONE 'UTC'
 WHERE NOT EXISTS (SELECT 1 FROM tasks
                    WHERE title = 'bench ' || :n
                      AND last_request_at >= clock_timestamp() AT TIME ZONE 'UTC')
RETURNING id, title, content, due_date, done, created_at, updated_at, last_request_at;
\endpipeline
