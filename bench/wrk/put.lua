-- PUT /tasks/{id} on a random existing id (BENCH_ID_MIN..BENCH_ID_MAX), toggling done and
-- changing the title, with request_timestamp = max(now, last + 1 µs) per thread. Each
-- thread's writes are strictly newer than its previous ones and than the seed's, so nearly
-- all are accepted; a 409 means two connections raced on one id and the older one arrived
-- last, which is the ordering rule doing its job.
--   TOKEN=... BENCH_ID_MIN=1 BENCH_ID_MAX=1000 wrk -t2 -c32 -d10s --latency \
--     -s bench/wrk/put.lua http://127.0.0.1:8080
-- Find common.lua next to this script, whatever the working directory.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local bench = require("common")

local headers = bench.headers(true)
local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
      '{"title":"updated %d-%d","done":%s,"request_timestamp":"%s"}',
      thread_index or 0, counter, counter % 2 == 0 and "true" or "false", bench.nextTimestamp())
  return wrk.format("PUT", "/tasks/" .. bench.randomId(), headers, body)
end

bench.install("put")
