-- wrk script: POST /incidents at a fixed total rate. Each connection waits
-- TRIAGE_BENCH_DELAY_MS between its requests (connections / rate, set by bench.py).
local delay_ms = tonumber(os.getenv("TRIAGE_BENCH_DELAY_MS") or "64")
local body = '{"title":"Checkout API 5xx rate above 20%","description":"HTTP 500 errors ' ..
  'from payments service after deploy","service":"payments","labels":{"env":"prod"}}'

request = function()
  return wrk.format("POST", "/incidents",
    {["Content-Type"] = "application/json", ["X-API-KEY"] = "secret123"}, body)
end

delay = function()
  return delay_ms
end

done = function(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, summary.errors.status))
end
