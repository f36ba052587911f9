-- A read-mostly mix: 80% GET /tasks/{id}, 10% PUT /tasks/{id}, 5% POST /tasks,
-- 5% GET /tasks?limit=100. Ids from BENCH_ID_MIN..BENCH_ID_MAX as for get_by_id.lua.
-- (This was mixed.lua until 2026-12-03; results before then under "mixed" used this mix.)
--   TOKEN=... BENCH_ID_MIN=1 BENCH_ID_MAX=1000 wrk -t2 -c32 -d10s --latency \
--     -s bench/wrk/read_mostly.lua http://127.0.0.1:8080
-- Find common.lua next to this script, whatever the working directory.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

local read_headers = bench.headers(false)
local write_headers = bench.headers(true)
local run_id = string.format("%x", bench.nowMicros() % 0xffffffff)
local counter = 0
local list_req

function request()
  counter = counter + 1
  local r = math.random(100)
  if r <= 80 then
    return wrk.format("GET", "/tasks/" .. bench.randomId(), read_headers)
  elseif r <= 90 then
    local body = string.format('{"done":%s,"request_timestamp":"%s"}',
                               counter % 2 == 0 and "true" or "false", bench.nextTimestamp())
    return wrk.format("PUT", "/tasks/" .. bench.randomId(), write_headers, body)
  elseif r <= 95 then
    local body = string.format(
        '{"title":"mixed %s-%d-%d","content":"Load-test task created by bench/wrk/mixed.lua",'
        .. '"due_date":"2030-02-01","request_timestamp":"%s"}',
        run_id, thread_index or 0, counter, bench.nextTimestamp())
    return wrk.format("POST", "/tasks", write_headers, body)
  end
  return list_req
end

bench.install("read_mostly", function()
  list_req = wrk.format("GET", "/tasks?limit=100", read_headers)
end)
