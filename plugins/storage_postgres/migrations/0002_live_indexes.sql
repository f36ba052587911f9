-- 0002: lists and the tombstone purge read only the rows they need.
--
-- GET /tasks walked the primary key backwards and filtered out tombstones, so a page cost grew
-- with every task ever deleted. These partial indexes hold live rows only, in the lists' order
-- (id, scanned backwards from the cursor): all of them for task_list, and the done or the open
-- ones for task_list_done and task_list_open. One (id) index per done state rather than a
-- (done, id) index: the planner judges a multi-column index by its first column's
-- correlation with the table's order and preferred (id) with a filter on done, which reads
-- every open task above a page of done ones. The last index finds expired tombstones for the
-- purge, oldest first.
--
-- Plain CREATE INDEX (a migration is one transaction, which CONCURRENTLY cannot run in): it
-- blocks writes to tasks while it builds, about a second per million rows.
CREATE INDEX IF NOT EXISTS tasks_live_id_idx ON tasks (id) WHERE NOT deleted;
CREATE INDEX IF NOT EXISTS tasks_live_done_idx ON tasks (id) WHERE NOT deleted AND done;
CREATE INDEX IF NOT EXISTS tasks_live_open_idx ON tasks (id) WHERE NOT deleted AND NOT done;
CREATE INDEX IF NOT EXISTS tasks_tombstone_age_idx ON tasks (last_request_at) WHERE deleted;

-- Every update and delete leaves a dead row version, and the purge deletes tombstones in
-- batches: vacuum this table after 5% of it is dead rather than the server default's 20%,
-- so indexes and the heap do not bloat on a large table. Per-table settings override the
-- server's (an RDS parameter group) for this table only.
ALTER TABLE tasks SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_threshold = 1000,
                       autovacuum_analyze_scale_factor = 0.05);

-- Statistics for the planner right away (it chooses between the partial and the primary
-- key indexes from them); samples at most 30,000 rows, so it is quick on any size.
ANALYZE tasks;
