-- Shared by the bench/wrk scenarios: configuration from the environment, the Bearer header,
-- per-thread status counting, request timestamps, and the done() report.
--
-- Environment (all optional except TOKEN when auth is on):
--   TOKEN / BENCH_TOKEN   API token, sent as `Authorization: Bearer <token>`
--   BENCH_ID_MIN/_MAX     id range of existing tasks for GET/PUT by id (default 1..1000)
--   BENCH_SCENARIO        name printed in the RESULT line (default: the script's name)
--   BENCH_COUNT_STATUS=0  skip response() (wrk then skips parsing headers and bodies): the
--                         RESULT line then only has wrk's own >399 count
--
-- wrk runs each thread in its own Lua state; setup() and done() share a separate one. So each
-- thread counts statuses in its own globals, and done() collects them with thread:get().
local M = {}

local ffi_ok, ffi = pcall(require, "ffi")
if ffi_ok then
  pcall(ffi.cdef, [[
    typedef struct { long tv_sec; long tv_usec; } bench_timeval;
    int gettimeofday(bench_timeval* tv, void* tz);
  ]])
end

function M.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

function M.envNumber(name, default)
  local v = M.env(name, nil)
  if v == nil then return default end
  local n = tonumber(v)
  if n == nil then error(name .. " must be a number, got '" .. v .. "'") end
  return n
end

M.token = M.env("BENCH_TOKEN", M.env("TOKEN", nil))
M.idMin = M.envNumber("BENCH_ID_MIN", 1)
M.idMax = M.envNumber("BENCH_ID_MAX", 1000)
if M.idMax < M.idMin then error("BENCH_ID_MAX < BENCH_ID_MIN") end

-- Headers for every request. Content-Type only matters for bodies, but costs nothing.
function M.headers(with_body)
  local h = {}
  if M.token then h["Authorization"] = "Bearer " .. M.token end
  if with_body then h["Content-Type"] = "application/json" end
  return h
end

-- Wall clock in microseconds since the epoch (ffi gettimeofday; os.time() as a fallback).
function M.nowMicros()
  if ffi_ok then
    local tv = ffi.new("bench_timeval")
    ffi.C.gettimeofday(tv, nil)
    return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
  end
  return os.time() * 1000000
end

-- ISO-8601 UTC with microseconds; the seconds part is cached (one os.date per second).
local cached_sec, cached_text = -1, ""
function M.isoMicros(us)
  local sec = math.floor(us / 1000000)
  if sec ~= cached_sec then
    cached_sec, cached_text = sec, os.date("!%Y-%m-%dT%H:%M:%S", sec)
  end
  return string.format("%s.%06dZ", cached_text, us % 1000000)
end

-- A strictly increasing timestamp per thread: max(now, last + 1) in microseconds, so that a
-- thread's own writes are always newer than its previous ones (and than the seed's).
local last_ts = 0
function M.nextTimestamp()
  local now = M.nowMicros()
  if now <= last_ts then now = last_ts + 1 end
  last_ts = now
  return M.isoMicros(now)
end

function M.randomId()
  return math.random(M.idMin, M.idMax)
end

-- Wires setup/init/response/done into the script's globals. `name` is the scenario name.
-- Scenarios define request() themselves and may pass extra per-thread init code.
function M.install(name, thread_init)
  local scenario = M.env("BENCH_SCENARIO", name)
  local threads = {}  -- setup/done state only

  _G.setup = function(thread)
    table.insert(threads, thread)
    thread:set("thread_index", #threads)
  end

  _G.init = function(args)
    -- Different streams per thread and per run.
    math.randomseed(M.nowMicros() % 2147483647 + (thread_index or 0) * 7919)
    statuses = {}
    if thread_init then thread_init(args) end
    if M.env("BENCH_COUNT_STATUS", "1") == "0" then response = nil end
  end

  _G.response = function(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if M.onResponse then M.onResponse(status, headers, body) end
  end

  _G.done = function(summary, latency, requests)
    M.report(scenario, threads, summary, latency)
  end
end

-- Prints a readable block and one machine-readable `RESULT key=value ...` line (bench/run.sh
-- parses it). Latencies are in milliseconds.
function M.report(scenario, threads, summary, latency)
  local totals, codes = {}, {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses") or {}
    for code, n in pairs(s) do
      if totals[code] == nil then table.insert(codes, code) end
      totals[code] = (totals[code] or 0) + n
    end
  end
  table.sort(codes)
  local counted, non2xx, parts = 0, 0, {}
  for _, code in ipairs(codes) do
    counted = counted + totals[code]
    if code < 200 or code > 299 then non2xx = non2xx + totals[code] end
    table.insert(parts, code .. ":" .. totals[code])
  end
  local status_text = #parts > 0 and table.concat(parts, ",") or "not-counted"
  if #parts == 0 then non2xx = summary.errors.status end  -- only >399 known then
  local e = summary.errors
  local sock_errors = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  local rps = summary.requests / secs
  local function ms(p) return latency:percentile(p) / 1000 end

  io.write(string.format("scenario %s: %d requests in %.2fs, %.0f req/s\n",
                         scenario, summary.requests, secs, rps))
  io.write(string.format("  latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
                         ms(50), ms(90), ms(99), ms(99.9), latency.max / 1000))
  io.write(string.format("  statuses: %s   non-2xx: %d   socket errors: connect %d read %d write %d timeout %d\n",
                         status_text, non2xx, e.connect, e.read, e.write, e.timeout))
  if M.reportExtra then io.write(M.reportExtra(threads)) end
  io.write(string.format(
      "RESULT scenario=%s rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d non2xx=%d socket_errors=%d statuses=%s\n",
      scenario, rps, ms(50), ms(90), ms(99), latency.max / 1000, summary.requests, non2xx,
      sock_errors, status_text))
end

return M
