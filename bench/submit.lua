-- wrk script: POST /incidents with a ~1 KB realistic incident, a unique title each.
local desc = string.rep("Disk usage on /var/lib/postgresql reached 97% on db-7; " ..
  "autovacuum is lagging and WAL archiving is slow. ", 10)
local n = 0
local key = os.getenv("TRIAGE_BENCH_KEY") or "secret123"

request = function()
  n = n + 1
  local body = string.format('{"title":"bench %d-%d","description":"%s","service":"db-7",' ..
    '"labels":{"env":"prod","alertname":"DiskFull"}}', math.random(1, 1e9), n, desc)
  return wrk.format("POST", "/incidents",
    {["Content-Type"] = "application/json", ["X-API-KEY"] = key}, body)
end

done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"connect_err":%d,"read_err":%d,' ..
    '"write_err":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
