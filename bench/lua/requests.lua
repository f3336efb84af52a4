-- wrk script: requests from a tab-separated file (METHOD PATH TOKEN BODY KEY; "-" for none).
-- Thread t of n (n from $WRK_THREADS) takes lines t, t+n, ...
-- Mode "once": each line exactly once; a connection that frees up after the last line asks
-- for IDLE_PATH (a cheap 404, counted apart) until the thread's last answer arrives, then the
-- thread stops. "cycle": repeat for the run's duration, each Idempotency-Key made unique.
-- wrk's own duration is the -d it slept, so the time from the first request to the last
-- answer is taken here with clock_gettime (LuaJIT ffi).
-- done() prints one line "WRKJSON {...}": throughput, latency (ms), status counts.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC: the same clock in every thread
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local IDLE_PATH = "/__bench_idle__"
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  file, mode = args[1], args[2] or "once"
  local n = tonumber(os.getenv("WRK_THREADS") or "2")
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    i = i + 1
    if (i - 1) % n == (tid - 1) then
      local m, p, tok, body, key = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      table.insert(reqs, {m, p, tok, body, key})
    end
  end
  sent, got, idle, statuses = 0, 0, 0, {}
  t_start, t_end = 0, 0
  -- wrk calls request() once in the first thread to check it before the run: don't spend a line on it
  verified = (tid ~= 1)
end

local function format(r, suffix)
  local headers = {["Content-Type"] = "application/json"}
  if r[3] ~= "-" then headers["Authorization"] = "Bearer " .. r[3] end
  if r[5] ~= "-" then headers["Idempotency-Key"] = r[5] .. suffix end
  local body = nil
  if r[4] ~= "-" then body = r[4] end
  return wrk.format(r[1], r[2], headers, body)
end

function delay()
  -- once mode: a connection freed after the last line waits before asking IDLE_PATH again
  if mode == "once" and sent >= #reqs then return 50 end
  return 0
end

function request()
  if not verified then
    verified = true
    return format(reqs[1], "")
  end
  if t_start == 0 then t_start = now_us() end
  if mode == "once" then
    if sent >= #reqs then return wrk.format("GET", IDLE_PATH) end
    sent = sent + 1
    return format(reqs[sent], "")
  end
  sent = sent + 1
  return format(reqs[((sent - 1) % #reqs) + 1], "-" .. tid .. "-" .. sent)
end

function response(status, headers, body)
  if mode == "once" and status == 404 then  -- IDLE_PATH: no workload expects a 404
    idle = idle + 1
    return
  end
  got = got + 1
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  t_end = now_us()
  if mode == "once" and got >= #reqs then
    local f = io.open(file .. ".done." .. tid, "w")  -- tells the runner to end wrk early (SIGINT)
    if f then f:close() end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local st, first, last, real = {}, nil, 0, 0
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do st[k] = (st[k] or 0) + v; real = real + v end end
    local a, b = t:get("t_start"), t:get("t_end")
    if a and a > 0 and (first == nil or a < first) then first = a end
    if b and b > last then last = b end
  end
  local secs = (first and last > first) and (last - first) / 1e6 or summary.duration / 1e6
  local parts = {}
  for k, v in pairs(st) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.6f,"rps":%.2f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"statuses":{%s}}\n',
    real, secs, real / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ",")))
end
