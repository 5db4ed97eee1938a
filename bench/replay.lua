-- wrk script for `make bench`: replays the requests listed in the file BENCH_REQUESTS
-- names, one per line: METHOD<TAB>PATH<TAB>COOKIE<TAB>BODY. Each signed-in person's session
-- and CSRF cookies come from that file, so every request is a real signed-in one (and a
-- POST carries a real CSRF token). Thread i of n sends lines i, i+n, i+2n, ...: no two
-- threads send the same line, so a correct code is entered once unless the list wraps,
-- which `wrapped` counts. The figures are printed as one JSON line after "BENCH_JSON ".

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  thread_count = tonumber(os.getenv("BENCH_THREADS"))
  lines = {}
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local method, path, cookie, body = line:match("^(%u+)\t([^\t]+)\t([^\t]*)\t?(.*)$")
    local headers = { Cookie = cookie }
    if method == "POST" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
    else
      body = nil
    end
    table.insert(lines, wrk.format(method, path, headers, body))
  end
  position = id - thread_count
  wrapped = 0
  statuses = {}
end

function request()
  position = position + thread_count
  if position > #lines then
    position = id
    wrapped = wrapped + 1
  end
  return lines[position]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local statuses_all, wrapped_all = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      statuses_all[status] = (statuses_all[status] or 0) + count
    end
    wrapped_all = wrapped_all + thread:get("wrapped")
  end
  local parts = {}
  for status, count in pairs(statuses_all) do
    table.insert(parts, string.format('"%s": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p90_ms": %.2f, '
      .. '"p99_ms": %.2f, "max_ms": %.2f, "socket_errors": %d, "wrapped": %d, '
      .. '"statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    errors.connect + errors.read + errors.write + errors.timeout, wrapped_all,
    table.concat(parts, ", ")
  ))
end
