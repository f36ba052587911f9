-- 0001: the tasks table, created fresh or adopted from the seed's FastAPI service.
--
-- The seed created tasks(id SERIAL PRIMARY KEY, title VARCHAR(200), content VARCHAR(2000),
-- due_date DATE, done BOOLEAN, created_at TIMESTAMP, updated_at TIMESTAMP), perhaps with a
-- last_request_timestamp or request_timestamp column. Such a table is kept in place: columns
-- are only added, NULLs are backfilled, no row is dropped and no seed column is removed.
-- Datetimes are TIMESTAMP (without time zone) holding UTC, as in the seed. Title and content
-- are TEXT: length limits are the Task API's validation (1..200, 1..2000 characters), the
-- same for every task_store, not the store's; the seed's VARCHARs become TEXT, which
-- PostgreSQL does without rewriting the table (binary-compatible types).

CREATE TABLE IF NOT EXISTS tasks (
  id BIGSERIAL PRIMARY KEY,
  title TEXT NOT NULL,
  content TEXT NOT NULL,
  due_date DATE NOT NULL,
  done BOOLEAN NOT NULL DEFAULT false,
  created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

-- Tombstones and the ordering rule's memory. ADD COLUMN with a constant default does not
-- rewrite the table (PostgreSQL 11+).
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS deleted BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS last_request_at TIMESTAMP;

-- A seed value that cannot be read as a timestamp becomes NULL (then the fallback applies).
CREATE OR REPLACE FUNCTION pg_temp.appliance_try_timestamp(v text) RETURNS timestamp
LANGUAGE plpgsql AS $$
BEGIN
  RETURN v::timestamptz AT TIME ZONE 'UTC';
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;

-- Backfill last_request_at: the seed's own request timestamp column when there is one (of
-- whatever type it has), else updated_at, else created_at.
DO $$
DECLARE
  seed_column text;
  seed_type text;
  seed_value text;
BEGIN
  SELECT column_name, data_type INTO seed_column, seed_type
    FROM information_schema.columns
   WHERE table_schema = current_schema() AND table_name = 'tasks'
     AND column_name IN ('last_request_timestamp', 'request_timestamp')
   ORDER BY column_name = 'last_request_timestamp' DESC
   LIMIT 1;
  seed_value := CASE
    WHEN seed_column IS NULL THEN 'NULL::timestamp'
    WHEN seed_type = 'timestamp without time zone' THEN format('%I', seed_column)
    WHEN seed_type = 'timestamp with time zone' THEN format('(%I AT TIME ZONE ''UTC'')', seed_column)
    WHEN seed_type = 'date' THEN format('%I::timestamp', seed_column)
    WHEN seed_type IN ('double precision', 'real', 'numeric', 'bigint', 'integer') THEN
      -- epoch seconds, milliseconds or microseconds, by magnitude
      format('(to_timestamp(CASE WHEN %1$I > 1e14 THEN %1$I / 1e6 WHEN %1$I > 1e11 '
             'THEN %1$I / 1e3 ELSE %1$I END) AT TIME ZONE ''UTC'')', seed_column)
    WHEN seed_type IN ('text', 'character varying', 'character') THEN
      format('pg_temp.appliance_try_timestamp(%I)', seed_column)
    ELSE 'NULL::timestamp'
  END;
  EXECUTE format('UPDATE tasks SET last_request_at = COALESCE(%s, updated_at, created_at, '
                 '''1970-01-01''::timestamp) WHERE last_request_at IS NULL', seed_value);
END $$;

-- The seed's columns were nullable; the API never stores NULLs, so backfill and enforce.
UPDATE tasks SET
  title = COALESCE(title, ''),
  content = COALESCE(content, ''),
  done = COALESCE(done, false),
  created_at = COALESCE(created_at, updated_at, now() AT TIME ZONE 'UTC'),
  updated_at = COALESCE(updated_at, created_at, now() AT TIME ZONE 'UTC'),
  due_date = COALESCE(due_date, created_at::date, updated_at::date, CURRENT_DATE)
WHERE title IS NULL OR content IS NULL OR done IS NULL OR created_at IS NULL
   OR updated_at IS NULL OR due_date IS NULL;

ALTER TABLE tasks
  ALTER COLUMN title TYPE TEXT,
  ALTER COLUMN content TYPE TEXT,
  ALTER COLUMN title SET NOT NULL,
  ALTER COLUMN content SET NOT NULL,
  ALTER COLUMN due_date SET NOT NULL,
  ALTER COLUMN done SET NOT NULL,
  ALTER COLUMN done SET DEFAULT false,
  ALTER COLUMN created_at SET NOT NULL,
  ALTER COLUMN created_at SET DEFAULT (now() AT TIME ZONE 'UTC'),
  ALTER COLUMN updated_at SET NOT NULL,
  ALTER COLUMN updated_at SET DEFAULT (now() AT TIME ZONE 'UTC'),
  ALTER COLUMN last_request_at SET NOT NULL;

-- The create-replay check: "a task with this title whose last request is not older".
CREATE INDEX IF NOT EXISTS tasks_title_last_request_idx ON tasks (title, last_request_at);
