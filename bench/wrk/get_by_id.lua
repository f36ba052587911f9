-- GET /tasks/{id} for a random id in BENCH_ID_MIN..BENCH_ID_MAX (tasks that exist).
--   TOKEN=... BENCH_ID_MIN=1 BENCH_ID_MAX=1000 wrk -t2 -c32 -d10s --latency \
--     -s bench/wrk/get_by_id.lua http://127.0.0.1:8080
-- Find common.lua next to this script, whatever the working directory.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

local headers = bench.headers(false)

function request()
  return wrk.format("GET", "/tasks/" .. bench.randomId(), headers)
end

bench.install("get_by_id")
