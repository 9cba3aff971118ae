"""A real Alertmanager 0.25 (Debian's prometheus-alertmanager) on loopback, with a
webhook receiver and a PagerDuty receiver whose url is the gateway: alerts posted to
its /api/v2/alerts become incidents, deduplicate and resolve."""

import datetime
import json
import os
import shutil
import subprocess
import unittest

from harness import PipelineTest, free_port, http_request, wait_for

KEY = "fedcba9876543210fedcba9876543210"
AM_BIN = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"

CONFIG = """
route:
  receiver: triage-webhook
  group_by: ['alertname']
  group_wait: 200ms
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: triage-pagerduty
      matchers: ['via="pagerduty"']
receivers:
  - name: triage-webhook
    webhook_configs:
      - url: http://127.0.0.1:{port}/integrations/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
  - name: triage-pagerduty
    pagerduty_configs:
      - routing_key: {key}
        url: http://127.0.0.1:{port}/v2/enqueue
        send_resolved: true
"""


def now(offset_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@unittest.skipUnless(os.path.exists(AM_BIN), "prometheus-alertmanager is not installed")
class RealAlertmanagerTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.env["TRIAGE_API_KEYS"] = KEY
        self.stack.key = KEY
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        d = os.path.join(self.stack.dir, "alertmanager")
        os.makedirs(os.path.join(d, "data"))
        cfg = os.path.join(d, "alertmanager.yml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(port=self.stack.http_port, key=KEY))
        self.am_port = free_port()
        self.am_log = open(os.path.join(d, "alertmanager.log"), "wb")
        self.am = subprocess.Popen(
            [AM_BIN, f"--config.file={cfg}", f"--storage.path={d}/data",
             f"--web.listen-address=127.0.0.1:{self.am_port}", "--cluster.listen-address="],
            stdout=self.am_log, stderr=subprocess.STDOUT)
        self.addCleanup(self._stop_am)
        wait_for(self._am_ready, 30, "Alertmanager to be ready")

    def _stop_am(self):
        self.am.terminate()
        try:
            self.am.wait(20)
        except subprocess.TimeoutExpired:
            self.am.kill()
            self.am.wait()
        self.am_log.close()

    def _am_ready(self):
        assert self.am.poll() is None, "alertmanager exited"
        try:
            return http_request(self.am_port, "GET", "/-/ready", timeout=2).status == 200
        except OSError:
            return False

    def post_alerts(self, alerts):
        r = http_request(self.am_port, "POST", "/api/v2/alerts", alerts)
        self.assertEqual(r.status, 200, r)

    def rows(self, where):
        return self.stack.sql("SELECT dedup_key, state, occurrence_count, source, title "
                              f"FROM incidents WHERE {where} ORDER BY id")

    def test_webhook_receiver(self):
        a = {"labels": {"alertname": "RealHighLatency", "instance": "api-1", "severity": "warning"},
             "annotations": {"summary": "Latency high on api-1"},
             "startsAt": now(-5), "generatorURL": "http://prometheus.example/graph"}
        self.post_alerts([a])
        wait_for(lambda: len(self.rows("source = 'alertmanager'")) == 1, 30,
                 "the webhook delivery to become an incident")
        first = self.rows("source = 'alertmanager'")[0]
        self.assertEqual(first[1:], ["open", "1", "alertmanager", "Latency high on api-1"])
        fp_a = first[0]
        # a second alert in the same group: the group is re-sent with both
        b = {"labels": {"alertname": "RealHighLatency", "instance": "api-2", "severity": "warning"},
             "annotations": {"summary": "Latency high on api-2"}, "startsAt": now(-1)}
        self.post_alerts([b])
        wait_for(lambda: len(self.rows("source = 'alertmanager'")) == 2, 30,
                 "the second alert to become an incident")
        wait_for(lambda: self.rows(f"dedup_key = '{fp_a}'")[0][2] == "2", 30,
                 "the first alert's re-delivery to count as an occurrence")
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "2")
        # both end: resolved notifications resolve both incidents
        for x in (a, b):
            x["endsAt"] = now(-0.1)
        self.post_alerts([a, b])
        wait_for(lambda: [r[1] for r in self.rows("source = 'alertmanager'")] ==
                 ["resolved", "resolved"], 30, "both incidents to be resolved")
        inc = self.stack.request("GET", "/integrations").json
        self.assertEqual([s["source"] for s in inc["sources"]], ["alertmanager"])

    def test_pagerduty_receiver(self):
        a = {"labels": {"alertname": "RealDiskFull", "via": "pagerduty", "instance": "db-1"},
             "annotations": {"summary": "Disk full on db-1"}, "startsAt": now(-5)}
        self.post_alerts([a])
        wait_for(lambda: len(self.rows("source = 'pagerduty'")) == 1, 30,
                 "the PagerDuty event to become an incident")
        row = self.rows("source = 'pagerduty'")[0]
        self.assertEqual(row[1], "open")
        a["endsAt"] = now(-0.1)
        self.post_alerts([a])
        wait_for(lambda: self.rows("source = 'pagerduty'")[0][1] == "resolved", 30,
                 "the PagerDuty resolve to resolve the incident")
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "1")


if __name__ == "__main__":
    unittest.main()
