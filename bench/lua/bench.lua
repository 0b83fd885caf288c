-- One wrk script for every workload, configured by the driver (bench/run.py) through
-- environment variables:
--   BENCH_METHOD       request method (default GET)
--   BENCH_BODY_FILE    file whose bytes are the request body (optional)
--   BENCH_HEADERS      extra headers, "Name: value" per line (optional)
--   BENCH_ROTATE_PATH  a path ending in a prefix to which "%06d" ids are appended; each
--                      request picks the next of 10 000 random ids below BENCH_ROTATE_N
-- At the end it prints one line "BENCH {json}" with the counts and latencies (µs).

wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
end

local headers = os.getenv("BENCH_HEADERS")
if headers then
  for line in headers:gmatch("[^\n]+") do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

local rotate = os.getenv("BENCH_ROTATE_PATH")
if rotate and rotate ~= "" then
  local n = tonumber(os.getenv("BENCH_ROTATE_N") or "1000")
  local requests = {}
  local next_index = 0
  init = function(args)
    math.randomseed(12345)
    for i = 1, 10000 do
      requests[i] = wrk.format(nil, rotate .. string.format("%06d", math.random(0, n - 1)))
    end
  end
  request = function()
    next_index = next_index % #requests + 1
    return requests[next_index]
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
