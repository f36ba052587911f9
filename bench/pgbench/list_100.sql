-- storage_postgres `list` with no filters, first page of 100 (limit + 1 to learn has_more).
SELECT id, title, content, due_date, done, created_at, updated_at, last_request_at
  FROM tasks
 WHERE NOT deleted AND id < 9223372036854775807::int8
   AND (NULL::boolean IS NULL OR done = NULL::boolean)
   AND (NULL::date IS NULL OR due_date < NULL::date)
   AND (NULL::date IS NULL OR due_date > NULL::date)
 ORDER BY id DESC LIMIT 101;
