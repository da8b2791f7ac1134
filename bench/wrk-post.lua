-- wrk script for bench/core.sh's saturation runs: POSTs one fixed chat-completions body (read
-- from $WRK_BODY_FILE) on every request and at the end writes the figures as JSON to
-- $WRK_JSON_OUT. wrk is closed-loop: only its throughput is used, never its latency.
local f = assert(io.open(os.getenv("WRK_BODY_FILE"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local ok = summary.requests - e.status
  local out = string.format(
    '{"tool":"wrk","label":"%s","requests":%d,"ok":%d,"duration_s":%.3f,"throughput_rps":%.3f,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"closed_loop_latency_ms":{"p50":%.3f,"p99":%.3f,"max":%.3f}}\n',
    os.getenv("WRK_LABEL") or "", summary.requests, ok, secs, ok / secs,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000)
  local path = os.getenv("WRK_JSON_OUT")
  if path then
    local o = assert(io.open(path, "w"))
    o:write(out)
    o:close()
  else
    io.write(out)
  end
end
