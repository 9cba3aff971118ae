-- wrk script: an alert storm over 10 fingerprints. TRIAGE_BENCH_STORM_MODE=alertmanager
-- posts Alertmanager webhook groups of TRIAGE_BENCH_STORM_ALERTS alerts (one per
-- fingerprint, in turn); =pagerduty posts one PagerDuty event each. Every body differs
-- (a counter in the annotations), so no delivery is taken for a retry.
local mode = os.getenv("TRIAGE_BENCH_STORM_MODE") or "alertmanager"
local per = tonumber(os.getenv("TRIAGE_BENCH_STORM_ALERTS") or "10")
local key = os.getenv("TRIAGE_BENCH_KEY") or "secret123"
local n = 0
tid = 0 -- set per thread by setup(), so two threads never send the same body

local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local function alert(i, k)
  return string.format('{"status":"firing","labels":{"alertname":"Storm%d","instance":' ..
    '"node-%d:9100","job":"node","severity":"critical"},"annotations":{"summary":' ..
    '"Storm %d on node-%d","description":"event %d-%d-%d"},"startsAt":' ..
    '"2026-12-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":' ..
    '"http://prometheus:9090/graph","fingerprint":"storm%011d"}', i, i, i, i, tid, n, k, i)
end

request = function()
  n = n + 1
  if mode == "pagerduty" then
    local body = string.format('{"routing_key":"%s","event_action":"trigger","dedup_key":' ..
      '"storm%011d","payload":{"summary":"Storm %d","source":"node-%d","severity":"error",' ..
      '"custom_details":{"seq":"%d-%d"}}}', key, n % 10, n % 10, n % 10, tid, n)
    return wrk.format("POST", "/v2/enqueue", {["Content-Type"] = "application/json"}, body)
  end
  local alerts = {}
  for k = 0, per - 1 do
    alerts[#alerts + 1] = alert((n * per + k) % 10, k)
  end
  local body = '{"receiver":"triage","status":"firing","alerts":[' ..
    table.concat(alerts, ",") .. '],"groupLabels":{},"commonLabels":{},' ..
    '"commonAnnotations":{},"externalURL":"http://am:9093","version":"4",' ..
    '"groupKey":"{}:{}","truncatedAlerts":0}'
  return wrk.format("POST", "/integrations/alertmanager",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end

done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"connect_err":%d,"read_err":%d,' ..
    '"write_err":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
