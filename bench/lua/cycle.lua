-- wrk script of the nexsis benchmark harness (bench/wrk.py writes a prelude above this text).
--
-- The prelude defines:
--   bench_requests : list of {method=, path=, headers={}, body=, dynamic=bool}; every connection
--                    cycles through it, so a weight is expressed by repeating a request.
--   bench_capture  : list of Lua patterns; on a 2xx answer every capture found in the body is
--                    recorded as an acknowledged write (to check afterwards that it is readable).
--   bench_ack_file : where done() writes the acknowledged captures, one per line (or nil).
--   bench_seq_base : added to every "@SEQ@" number, different for every load of a harness run.
-- In a dynamic request "@SEQ@" in the path or body becomes a number unique across threads and
-- requests, so a write never collides with another (a duplicate group name is an error in Moodle).
--
-- An answer counts as an error when its status is >= 400 or when its body is a Moodle exception
-- envelope (Moodle answers errors with HTTP 200). done() prints one line "BENCH_JSON {...}" that
-- bench/wrk.py parses; the human text of wrk --latency is kept as well.

local threads = {}
local counter = 0
local idx = 0
local prebuilt = {}
-- Globals, not locals: done() reads them from each thread with thread:get(), which sees globals only.
http_errors = 0
app_errors = 0
acked = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  for i, r in ipairs(bench_requests) do
    if not r.dynamic then
      prebuilt[i] = wrk.format(r.method, r.path, r.headers, r.body)
    end
  end
end

function request()
  idx = idx % #bench_requests + 1
  local pre = prebuilt[idx]
  if pre then
    return pre
  end
  local r = bench_requests[idx]
  counter = counter + 1
  local seq = string.format("%d", bench_seq_base + (tid + 1) * 100000000 + counter)
  local path = (r.path:gsub("@SEQ@", seq))
  local body = r.body
  if body then
    body = (body:gsub("@SEQ@", seq))
  end
  return wrk.format(r.method, path, r.headers, body)
end

function response(status, headers, body)
  if status >= 400 then
    http_errors = http_errors + 1
    return
  end
  if body and string.find(body, '"exception"', 1, true) and string.find(body, '"errorcode"', 1, true) then
    app_errors = app_errors + 1
    return
  end
  if bench_capture and body and status < 300 then
    for _, pattern in ipairs(bench_capture) do
      for value in string.gmatch(body, pattern) do
        acked[value] = true
      end
    end
  end
end

function done(summary, latency, requests)
  local http_e, app_e = 0, 0
  local lines = {}
  for _, t in ipairs(threads) do
    http_e = http_e + (t:get("http_errors") or 0)
    app_e = app_e + (t:get("app_errors") or 0)
    local a = t:get("acked")
    if a then
      for value, _ in pairs(a) do
        table.insert(lines, value)
      end
    end
  end
  if bench_ack_file then
    local f = assert(io.open(bench_ack_file, "w"))
    for _, value in ipairs(lines) do
      f:write(value, "\n")
    end
    f:close()
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"http_errors":%d,"app_errors":%d,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"status_errors":%d,' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"acked":%d}\n',
    summary.requests, summary.duration, summary.bytes, http_e, app_e,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    #lines))
end
