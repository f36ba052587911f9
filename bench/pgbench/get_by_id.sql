-- storage_postgres `get`: one task by id.
\set id random(1, 10000)
SELECT id, title, content, due_date, done, created_at, updated_at, last_request_at
  FROM tasks WHERE id = :id::int8 AND NOT deleted;
