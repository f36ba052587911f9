-- The performance issue's mix: 50% GET /tasks/{id}, 20% PUT /tasks/{id}, 10% POST /tasks,
-- 10% DELETE of a task this thread created, 10% GET /tasks?limit=100. Creates and deletes
-- balance, so the newest ids turn into tombstones as they do under real churn, and lists must
-- skip them. GET and PUT ids come from BENCH_ID_MIN..BENCH_ID_MAX as for get_by_id.lua.
--   TOKEN=... BENCH_ID_MIN=1 BENCH_ID_MAX=1000 wrk -t2 -c32 -d10s --latency \
--     -s bench/wrk/mixed.lua http://127.0.0.1:8080
-- Deletes need the ids POSTs returned, so this scenario reads responses even with
-- BENCH_COUNT_STATUS=0 unset; without them (BENCH_COUNT_STATUS=0) a DELETE turns into a POST.
-- Find common.lua next to this script, whatever the working directory.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

local read_headers = bench.headers(false)
local write_headers = bench.headers(true)
local run_id = string.format("%x", bench.nowMicros() % 0xffffffff)
local counter = 0
local list_req
-- Ids this thread's POSTs got back, oldest first: a ring of `first`..`last`.
local created, first, last = {}, 1, 0

bench.onResponse = function(status, headers, body)
  if status == 201 then
    local id = body:match('^{"id":(%d+)')
    if id then
      last = last + 1
      created[last] = id
    end
  end
end

local function post()
  local body = string.format(
      '{"title":"mixed %s-%d-%d","content":"Load-test task created by bench/wrk/mixed.lua",'
      .. '"due_date":"2030-02-01","request_timestamp":"%s"}',
      run_id, thread_index or 0, counter, bench.nextTimestamp())
  return wrk.format("POST", "/tasks", write_headers, body)
end

function request()
  counter = counter + 1
  local r = math.random(100)
  if r <= 50 then
    return wrk.format("GET", "/tasks/" .. bench.randomId(), read_headers)
  elseif r <= 70 then
    local body = string.format('{"done":%s,"request_timestamp":"%s"}',
                               counter % 2 == 0 and "true" or "false", bench.nextTimestamp())
    return wrk.format("PUT", "/tasks/" .. bench.randomId(), write_headers, body)
  elseif r <= 80 then
    return post()
  elseif r <= 90 then
    if first > last then return post() end
    local id = created[first]
    created[first] = nil
    first = first + 1
    local body = string.format('{"request_timestamp":"%s"}', bench.nextTimestamp())
    return wrk.format("DELETE", "/tasks/" .. id, write_headers, body)
  end
  return list_req
end

bench.install("mixed", function()
  list_req = wrk.format("GET", "/tasks?limit=100", read_headers)
end)
