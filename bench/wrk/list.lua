-- GET /tasks?limit=100: the newest 100 tasks (plus the Link header for the next page).
--   TOKEN=... wrk -t2 -c32 -d10s --latency -s bench/wrk/list.lua http://127.0.0.1:8080
-- BENCH_LIST_LIMIT changes the page size.
-- Find common.lua next to this script, whatever the working directory.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

local req

function request()
  return req
end

bench.install("list", function()
  local limit = bench.envNumber("BENCH_LIST_LIMIT", 100)
  req = wrk.format("GET", "/tasks?limit=" .. limit, bench.headers(false))
end)
