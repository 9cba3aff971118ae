"""GET /metrics: the gateway's HTTP figures and the store's (incidents by status,
severity, category and state, queue depth, enrichers, LLM calls and latency, ingest
batches) in the Prometheus text format, scraped by Debian's real prometheus."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import PipelineTest, free_port, http_request, wait_for

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse(text):
    """{(name, frozenset(labels)): value}; fails on any line that is not the format."""
    out = {}
    for line in text.split("\n"):
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


class MetricsTest(PipelineTest):
    def setUp(self):
        super().setUp()
        s = self.stack
        s.start_store()
        s.start_gateway()
        s.wait_ready()
        s.start_enricher("enricher1", llm="rules")

    def scrape(self):
        r = self.stack.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("text/plain; version=0.0.4"))
        return parse(r.body)

    def test_figures_follow_the_pipeline(self):
        s = self.stack
        ids = [s.submit(title=f"Disk Full {i}", description="Production disk at 100%")["id"]
               for i in range(3)]
        for i in ids:
            s.wait_status(i, "triaged")
        self.assertEqual(s.request("POST", f"/incidents/{ids[0]}/resolve").status, 200)
        self.assertEqual(s.request("GET", "/incidents/999999").status, 404)
        m = self.scrape()
        self.assertEqual(value(m, "triage_store_up"), 1)
        self.assertEqual(value(m, "triage_http_requests_total", route="incidents", status="202"), 3)
        self.assertEqual(value(m, "triage_http_requests_total", route="incident", status="404"), 1)
        self.assertEqual(value(m, "triage_http_requests_total", route="resolve", status="200"), 1)
        self.assertEqual(value(m, "triage_ingest_latency_seconds_count"), 3)
        self.assertEqual(value(m, "triage_ingest_latency_seconds_bucket", le="+Inf"), 3)
        self.assertEqual(value(m, "triage_incidents_by_status", status="triaged"), 3)
        self.assertEqual(value(m, "triage_incidents_by_state", state="resolved"), 1)
        self.assertEqual(value(m, "triage_incidents_by_state", state="open"), 2)
        sev = sum(v for (n, _), v in m.items() if n == "triage_incidents_by_severity")
        cat = sum(v for (n, _), v in m.items() if n == "triage_incidents_by_category")
        self.assertEqual((sev, cat), (3, 3))
        self.assertEqual(value(m, "triage_queue_depth", queue="submitted"), 0)
        self.assertEqual(value(m, "triage_enrichers_active"), 1)
        calls = {dict(l)["outcome"]: v for (n, l), v in m.items()
                 if n == "triage_llm_calls_total" and dict(l)["backend"] == "rules"}
        self.assertEqual(calls.get("triaged"), 3, calls)
        self.assertEqual(sum(v for (n, l), v in m.items()
                             if n == "triage_ingest_batch_size_count"), 3)
        # histograms are cumulative
        buckets = sorted((float(dict(l)["le"]) if dict(l)["le"] != "+Inf" else float("inf"), v)
                         for (n, l), v in m.items() if n == "triage_ingest_latency_seconds_bucket")
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))

    def test_needs_a_key_and_survives_the_store(self):
        s = self.stack
        self.assertEqual(s.request("GET", "/metrics", key=False).status, 401)
        self.assertEqual(s.stop("store"), 0)
        m = self.scrape()
        self.assertEqual(value(m, "triage_store_up"), 0)
        self.assertIsNotNone(value(m, "triage_http_requests_total", route="metrics", status="401"))

    def test_scraped_by_prometheus(self):
        s = self.stack
        prom = shutil.which("prometheus")
        self.assertIsNotNone(prom, "prometheus is missing (scripts/deps.sh test)")
        inc = s.submit(title="Checkout 500s", description="Payment API returns HTTP 500")
        s.wait_status(inc["id"], "triaged")
        d = tempfile.mkdtemp(prefix="prom-", dir=s.dir)
        port = free_port()
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: triage
    metrics_path: /metrics
    authorization:
      credentials: {s.key}
    static_configs:
      - targets: ['127.0.0.1:{s.http_port}']
""")
        log = open(os.path.join(d, "prometheus.log"), "wb")
        p = subprocess.Popen([prom, f"--config.file={d}/prometheus.yml",
                              f"--storage.tsdb.path={d}/data",
                              f"--web.listen-address=127.0.0.1:{port}"],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def stop():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(30)
            log.close()
        self.addCleanup(stop)
        wait_for(lambda: p.poll() is None and
                 http_request(port, "GET", "/-/ready", timeout=5).status == 200,
                 60, "prometheus to be ready")
        q = urllib.parse.quote('triage_incidents_by_status{status="triaged"}')

        def triaged():
            r = http_request(port, "GET", f"/api/v1/query?query={q}", timeout=5)
            result = r.json["data"]["result"] if r.status == 200 else []
            return result and result[0]["value"][1] == "1"
        wait_for(triaged, 60, "prometheus to scrape the triaged incident")
        r = http_request(port, "GET", "/api/v1/targets", timeout=5)
        target = r.json["data"]["activeTargets"][0]
        self.assertEqual(target["health"], "up", target)
        stop()
        self.assertEqual(p.returncode, 0)


if __name__ == "__main__":
    unittest.main()
