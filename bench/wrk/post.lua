-- POST /tasks with a unique title per request (run id, thread, counter) and an increasing
-- request_timestamp, so every create is accepted (201) and none is a replay.
--   TOKEN=... wrk -t2 -c32 -d10s --latency -s bench/wrk/post.lua http://127.0.0.1:8080
-- Also the seeder of bench/run.sh: BENCH_SEED_COUNT=N makes each of the T threads stop after
-- N/T created tasks, and the report gives the range of ids created (from Location headers).
-- Find common.lua next to this script, whatever the working directory.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

local headers = bench.headers(true)
local run_id = string.format("%x", bench.nowMicros() % 0xffffffff)
local counter = 0
local quota = nil

function request()
  counter = counter + 1
  local body = string.format(
      '{"title":"bench %s-%d-%d","content":"Load-test task created by bench/wrk/post.lua",'
      .. '"due_date":"2030-01-%02d","request_timestamp":"%s"}',
      run_id, thread_index or 0, counter, counter % 28 + 1, bench.nextTimestamp())
  return wrk.format("POST", "/tasks", headers, body)
end

created, id_min, id_max = 0, nil, nil

bench.onResponse = function(status, hdrs)
  if status ~= 201 then return end
  created = created + 1
  local id = tonumber((hdrs["Location"] or hdrs["location"] or ""):match("(%d+)$"))
  if id then
    if id_min == nil or id < id_min then id_min = id end
    if id_max == nil or id > id_max then id_max = id end
  end
  if quota and created >= quota then wrk.thread:stop() end
end

bench.reportExtra = function(threads)
  local total, lo, hi = 0, nil, nil
  for _, t in ipairs(threads) do
    total = total + (t:get("created") or 0)
    local a, b = t:get("id_min"), t:get("id_max")
    if a and (lo == nil or a < lo) then lo = a end
    if b and (hi == nil or b > hi) then hi = b end
  end
  return string.format("CREATED count=%d id_min=%s id_max=%s\n", total, tostring(lo), tostring(hi))
end

bench.install("post", function()
  local seed = bench.envNumber("BENCH_SEED_COUNT", 0)
  local nthreads = bench.envNumber("BENCH_THREADS", 1)
  if seed > 0 then quota = math.ceil(seed / nthreads) end
end)
