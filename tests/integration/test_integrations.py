"""Alerting tools through the real gateway and store: Alertmanager's and Grafana's
webhooks and PagerDuty's Events API v2, with bodies shaped as those tools send them;
storm control (occurrences, recurrences), retried deliveries, every invalid case."""

import base64
import copy
import os
import shutil
import subprocess
import threading
import unittest

from harness import BIN_DIR, PipelineTest, wait_for

PROBE = os.path.join(BIN_DIR, "triage-probe")

KEY = "0123456789abcdef0123456789abcdef"  # 32 characters: a PagerDuty integration key
ZERO = "0001-01-01T00:00:00Z"


def am_alert(fp, status="firing", name="HighLatency", **over):
    a = {"status": status,
         "labels": {"alertname": name, "instance": "api-1:9100", "job": "api",
                    "severity": "critical"},
         "annotations": {"summary": f"{name} on api-1", "description": "p99 over 2 s",
                         "runbook_url": "https://runbooks.example/latency"},
         "startsAt": "2026-12-01T00:00:00.000Z",
         "endsAt": ZERO if status == "firing" else "2026-12-01T00:05:00.000Z",
         "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
         "fingerprint": fp}
    a.update(over)
    return a


def am_body(alerts, status=None, truncated=0):
    """Alertmanager 0.25's webhook body (notify/webhook: version 4)."""
    if status is None:
        status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"receiver": "triage", "status": status, "alerts": alerts,
            "groupLabels": {"alertname": "HighLatency"},
            "commonLabels": {"alertname": "HighLatency", "job": "api"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
            "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}",
            "truncatedAlerts": truncated}


def grafana_body(fp, status="firing"):
    """Grafana unified alerting's webhook body (version 1)."""
    return {"receiver": "triage", "status": status, "orgId": 1,
            "alerts": [{"status": status,
                        "labels": {"alertname": "DiskFull", "grafana_folder": "infra",
                                   "instance": "db-1"},
                        "annotations": {"summary": "Disk almost full on db-1"},
                        "startsAt": "2026-12-01T00:00:00Z",
                        "endsAt": ZERO if status == "firing" else "2026-12-01T00:09:00Z",
                        "generatorURL": "http://grafana:3000/alerting/grafana/abc/view",
                        "fingerprint": fp,
                        "silenceURL": "http://grafana:3000/alerting/silence/new?matcher=x",
                        "dashboardURL": "http://grafana:3000/d/dash1",
                        "panelURL": "http://grafana:3000/d/dash1?viewPanel=2",
                        "values": {"B": 97.5, "C": 1},
                        "valueString": "[ var='B' labels={instance=db-1} value=97.5 ]"}],
            "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {"alertname": "DiskFull"},
            "commonAnnotations": {}, "externalURL": "http://grafana:3000/",
            "version": "1", "groupKey": "{}:{alertname=\"DiskFull\"}", "truncatedAlerts": 0,
            "title": "[FIRING:1] DiskFull", "state": "alerting",
            "message": "**Firing**"}


def pd_event(action="trigger", dedup=None, **payload):
    e = {"routing_key": KEY, "event_action": action}
    if dedup is not None:
        e["dedup_key"] = dedup
    if action == "trigger":
        p = {"summary": "Checkout 5xx rate at 12%", "source": "checkout-7f9", "severity": "error",
             "timestamp": "2026-12-01T00:00:00.000+0000", "component": "checkout",
             "group": "payments", "class": "http",
             "custom_details": {"rate": 0.12, "region": "eu-west-1"}}
        p.update(payload)
        e["payload"] = p
        e["links"] = [{"href": "https://grafana.example/d/1", "text": "Dashboard"}]
        e["images"] = [{"src": "https://grafana.example/render/1.png", "alt": "graph"}]
        e["client"] = "Monitoring"
        e["client_url"] = "https://monitoring.example"
    return e


class IntegrationsTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.env["TRIAGE_API_KEYS"] = KEY
        self.stack.key = KEY
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()

    def post(self, path, body, headers=None, key=False):
        h = {"Authorization": f"Bearer {KEY}"} if key is False and not path.startswith(
            ("/v2", "/integrations/pagerduty")) else {}
        h.update(headers or {})
        return self.stack.request("POST", path, body, headers=h, key=key)

    def incidents_by_fp(self, fp):
        return self.stack.sql("SELECT id, state, occurrence_count FROM incidents "
                              f"WHERE dedup_key = '{fp}' ORDER BY id")

    # -- Alertmanager ----------------------------------------------------------

    def test_alertmanager_firing_group_dedup_and_resolve(self):
        body = am_body([am_alert("aaaa000000000001"), am_alert("aaaa000000000002", name="Errors",
                                                                annotations={})])
        r = self.post("/integrations/alertmanager", body)
        self.assertEqual(r.status, 202, r)
        self.assertEqual([x["result"] for x in r.json["results"]], ["created", "created"])
        one = self.stack.incident(r.json["results"][0]["incident_id"])
        self.assertEqual(one["title"], "HighLatency on api-1")
        self.assertEqual(one["description"], "p99 over 2 s")
        self.assertEqual(one["source"], "alertmanager")
        self.assertEqual(one["service"], "api")
        self.assertEqual(one["source_severity"], "critical")
        self.assertEqual(one["labels"]["instance"], "api-1:9100")
        rels = {l["rel"]: l["href"] for l in one["source_links"]}
        self.assertEqual(rels["generator"], "http://prometheus:9090/graph?g0.expr=up")
        self.assertEqual(rels["runbook"], "https://runbooks.example/latency")
        self.assertEqual(one["source_details"]["truncatedAlerts"], 0)
        self.assertEqual(one["source_details"]["endsAt"], ZERO)
        # no summary/description annotation: the alert name and labels
        two = self.stack.incident(r.json["results"][1]["incident_id"])
        self.assertTrue(two["title"].startswith("Errors: "), two["title"])
        self.assertIn("instance=api-1:9100", two["title"])
        self.assertIn("job=api", two["description"])

        # the group again, one alert changed (a new body): occurrences, no new incident
        body2 = copy.deepcopy(body)
        body2["alerts"][0]["annotations"]["description"] = "p99 over 3 s"
        r = self.post("/integrations/alertmanager", body2)
        self.assertEqual(r.status, 202, r)
        self.assertEqual([x["result"] for x in r.json["results"]], ["occurrence", "occurrence"])
        self.assertEqual(self.incidents_by_fp("aaaa000000000001"), [[str(one["id"]), "open", "2"]])
        got = self.stack.incident(one["id"])
        self.assertEqual(got["occurrence_count"], 2)
        self.assertEqual([e["kind"] for e in got["timeline"]], ["created", "occurrence"])

        # mixed: one resolved, one still firing
        body3 = am_body([am_alert("aaaa000000000001", status="resolved"),
                         am_alert("aaaa000000000002", name="Errors", annotations={})])
        r = self.post("/integrations/alertmanager", body3)
        self.assertEqual(r.status, 202, r)
        self.assertEqual([x["result"] for x in r.json["results"]], ["resolved", "occurrence"])
        self.assertEqual(self.incidents_by_fp("aaaa000000000001")[0][1], "resolved")
        self.assertEqual(self.incidents_by_fp("aaaa000000000002")[0][1:], ["open", "3"])

        # it fires again: a new incident that links to the earlier one
        r = self.post("/integrations/alertmanager", am_body([am_alert("aaaa000000000001")]))
        self.assertEqual(r.json["results"][0]["result"], "created")
        again = self.stack.incident(r.json["results"][0]["incident_id"])
        self.assertEqual(again["recurrence_of"], one["id"])
        self.assertEqual(again["recurrences_7d"], 1)
        self.assertNotEqual(again["id"], one["id"])

    def test_retried_delivery_counts_once(self):
        body = am_body([am_alert("bbbb000000000001")])
        r1 = self.post("/integrations/alertmanager", body)
        r2 = self.post("/integrations/alertmanager", body)  # Alertmanager retrying after a 5xx
        self.assertEqual((r1.status, r2.status), (202, 202))
        self.assertEqual(r1.json, r2.json)
        self.assertEqual(self.incidents_by_fp("bbbb000000000001")[0][2], "1")
        # concurrently too: the same delivery twice at once
        body = am_body([am_alert("bbbb000000000002")])
        out = []
        ts = [threading.Thread(target=lambda: out.append(
            self.post("/integrations/alertmanager", body))) for _ in range(4)]
        [t.start() for t in ts]
        [t.join(30) for t in ts]
        self.assertEqual([r.status for r in out], [202] * 4)
        self.assertEqual(self.incidents_by_fp("bbbb000000000002")[0][2], "1")

    def test_truncated_group_and_empty_optionals(self):
        a = am_alert("cccc000000000001", annotations={}, generatorURL="")
        body = am_body([a], truncated=7)
        body["commonAnnotations"] = {}
        body["groupLabels"] = {}
        r = self.post("/integrations/alertmanager", body)
        self.assertEqual(r.status, 202, r)
        inc = self.stack.incident(r.json["results"][0]["incident_id"])
        self.assertEqual(inc["source_details"]["truncatedAlerts"], 7)
        self.assertEqual(inc["source_links"], [])  # "" generatorURL is no link

    def test_submit_and_alert_opening_the_same_fingerprint_at_once(self):
        """POST /incidents and Alertmanager race to open one fingerprint: both 202, one
        incident (the unique index decides; the loser becomes an occurrence)."""
        for round_ in range(15):
            fp = f"race{round_:012d}"
            out = []
            ts = [threading.Thread(target=lambda: out.append(self.stack.request(
                      "POST", "/incidents", {"title": "race", "description": "",
                                             "dedup_key": fp}))),
                  threading.Thread(target=lambda: out.append(
                      self.post("/integrations/alertmanager", am_body([am_alert(fp)]))))]
            [t.start() for t in ts]
            [t.join(30) for t in ts]
            self.assertEqual(sorted(r.status for r in out), [202, 202], out)
            self.assertEqual(self.incidents_by_fp(fp)[0][1:], ["open", "2"])
            self.assertEqual(len(self.incidents_by_fp(fp)), 1)

    def test_resolve_for_unknown_fingerprint_is_ignored(self):
        r = self.post("/integrations/alertmanager",
                      am_body([am_alert("dddd000000000001", status="resolved")]))
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["results"][0]["result"], "ignored")
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "0")

    def test_alertmanager_invalid_payloads_name_the_field(self):
        good = am_body([am_alert("eeee000000000001"), am_alert("eeee000000000002")])
        cases = [
            (lambda b: b.update(version="3"), "version"),
            (lambda b: b.pop("version"), "version"),
            (lambda b: b.update(status="pending"), "status"),
            (lambda b: b.update(alerts=[]), "alerts"),
            (lambda b: b.update(alerts={}), "alerts"),
            (lambda b: b["alerts"][1].pop("fingerprint"), "alerts[1].fingerprint"),
            (lambda b: b["alerts"][1].update(fingerprint=""), "alerts[1].fingerprint"),
            (lambda b: b["alerts"][1].update(status="weird"), "alerts[1].status"),
            (lambda b: b["alerts"][0].update(labels={}), "alerts[0].labels"),
            (lambda b: b["alerts"][0].update(labels={"a": 1}), "alerts[0].labels.a"),
            (lambda b: b["alerts"][1].update(annotations=[]), "alerts[1].annotations"),
            (lambda b: b["alerts"][1].pop("startsAt"), "alerts[1].startsAt"),
            (lambda b: b["alerts"][1].update(generatorURL=5), "alerts[1].generatorURL"),
            (lambda b: b.update(truncatedAlerts=-1), "truncatedAlerts"),
            (lambda b: b.update(commonLabels="x"), "commonLabels"),
            (lambda b: b["alerts"].__setitem__(0, "x"), "alerts[0]"),
        ]
        for change, field in cases:
            b = copy.deepcopy(good)
            change(b)
            r = self.post("/integrations/alertmanager", b)
            self.assertEqual(r.status, 400, (field, r))
            self.assertEqual(r.json["error"], "invalid")
            self.assertTrue(r.json["detail"].startswith(field + ":"), (field, r.json))
        for raw, what in [(b"{", "invalid JSON"), (b"[]", "JSON object"), (b"", "empty"),
                          (b'{"version":"4","version":"4"}', "invalid JSON"),
                          (b'{"version":"\xff"}', "UTF-8")]:
            r = self.post("/integrations/alertmanager", raw,
                          headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 400, r)
            self.assertIn(what, r.json["detail"])
        # nothing half-written: the first alert of each bad group was not stored
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "0")
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM integration_deliveries"), "0")

    def test_auth_bearer_basic_and_refusals(self):
        body = am_body([am_alert("ffff000000000001")])
        basic = base64.b64encode(f"grafana:{KEY}".encode()).decode()
        r = self.stack.request("POST", "/integrations/alertmanager", body, key=False,
                               headers={"Authorization": f"Basic {basic}"})
        self.assertEqual(r.status, 202, r)
        for h in [{}, {"Authorization": "Bearer nope"},
                  {"Authorization": "Basic " + base64.b64encode(b"u:wrong").decode()},
                  {"Authorization": "Basic !!!"}]:
            r = self.stack.request("POST", "/integrations/alertmanager", body, key=False,
                                   headers=h)
            self.assertEqual(r.status, 401, (h, r))
        r = self.post("/integrations/alertmanager", "x", headers={"Content-Type": "text/plain"})
        self.assertEqual(r.status, 415, r)
        r = self.stack.request("GET", "/integrations/alertmanager")
        self.assertEqual(r.status, 405, r)

    # -- the Integrations page's data ------------------------------------------

    def test_integrations_last_event_per_source(self):
        r = self.stack.request("GET", "/integrations")
        self.assertEqual((r.status, r.json), (200, {"sources": []}))
        self.post("/integrations/alertmanager", am_body([am_alert("gggg000000000001"),
                                                         am_alert("gggg000000000002")]))
        self.post("/v2/enqueue", pd_event(dedup="gggg-pd"))
        r = self.stack.request("GET", "/integrations")
        src = {s["source"]: s for s in r.json["sources"]}
        self.assertEqual(set(src), {"alertmanager", "pagerduty"})
        self.assertEqual(src["alertmanager"]["last_events"], 2)
        self.assertEqual(src["alertmanager"]["last_summary"]["created"], 2)
        self.assertEqual(src["pagerduty"]["deliveries"], 1)
        self.assertTrue(src["pagerduty"]["last_at"].endswith("Z"))


def mp(v):
    """A minimal msgpack encoder (str, int, dict, list) for hand-made store messages."""
    if isinstance(v, int):
        assert 0 <= v < 128
        return bytes([v])
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else bytes([0xda]) + len(b).to_bytes(2, "big")) + b
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())


class StoreAlertsInputTest(PipelineTest):
    """ALERTS messages that did not come from a gateway: refused, nothing stored."""

    def test_malformed_events_are_refused(self):
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        url = self.stack.env["TRIAGE_STORE_URL"]
        bad = ["garbage", "{\"a\":\"explode\",\"fp\":\"x\"}", "{\"a\":\"trigger\",\"fp\":\"\"}",
               "{\"a\":\"trigger\",\"fp\":\"x\",\"title\":}",  # not JSON: PostgreSQL refuses
               "{\"a\":\"trigger\",\"fp\":\"y\"}",                 # no title: NOT NULL refuses
               "{\"a\":\"resolve\",\"fp\":\"z\"}\n\n{\"a\":\"resolve\",\"fp\":\"w\"}"]  # empty line
        msgs = [mp([1, 12, {"request_id": f"probe-{i}", "source": "alertmanager", "events": e}]).hex()
                for i, e in enumerate(bad)]
        r = subprocess.run([PROBE, "raw", "req", url, *msgs], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout.split(), ["reply"] * len(bad))  # each answered (an error)
        self.assertTrue(self.stack.procs["store"].alive())
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "0")
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM integration_deliveries"), "0")
        r = self.stack.request("POST", "/integrations/alertmanager", am_body([am_alert("ok-after")]),
                               headers={"Authorization": "Bearer secret123"}, key=False)
        self.assertEqual(r.status, 202, r)


class Migration008Test(PipelineTest):
    """008 upgrades a populated database in place."""

    def test_upgrade_keeps_rows_and_links_recurrences(self):
        below = os.path.join(self.stack.dir, "sql-below-008")
        os.makedirs(below)
        src = self.stack.env["TRIAGE_SQL_DIR"]
        for f in sorted(os.listdir(src)):
            if f.endswith(".sql") and f[:3].isdigit() and int(f[:3]) < 8:
                shutil.copy(os.path.join(src, f), below)
        self.stack.env["TRIAGE_API_KEYS"] = KEY
        self.stack.key = KEY
        # the schema before 008, populated as an older store would have left it
        store = self.stack.start_store(env={"TRIAGE_SQL_DIR": below})
        wait_for(lambda: "ready:" in store.text() or not store.alive(), 30, "the old schema")
        self.stack.stop("store")
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM schema_migrations WHERE version >= 8"), "0")
        old_id = self.stack.scalar(
            "INSERT INTO incidents (request_id, title, description, labels, dedup_key, fingerprint,"
            " state, resolved_at) VALUES ('old-1', 'before 008', '', '{\"team\": \"db\"}',"
            " 'upgrade-1', md5('d:upgrade-1'), 'resolved', now()) RETURNING id")
        self.stack.sql(f"INSERT INTO incident_events (incident_id, kind, status, attempt, actor)"
                       f" VALUES ({old_id}, 'created', 'submitted', 0, 'api')")
        old = {"id": int(old_id)}
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM schema_migrations WHERE version = 8"), "1")
        got = self.stack.incident(old["id"])
        self.assertEqual((got["title"], got["state"], got["labels"]),
                         ("before 008", "resolved", {"team": "db"}))
        self.assertEqual((got["source_links"], got["source_details"], got["recurrence_of"]),
                         ([], {}, None))
        # the same dedup_key after the upgrade: a new incident linked to the old one
        new = self.stack.submit(title="after 008", dedup_key="upgrade-1")
        got = self.stack.incident(new["id"])
        self.assertEqual((got["recurrence_of"], got["recurrences_7d"]), (old["id"], 1))
        r = self.stack.request("POST", "/integrations/alertmanager",
                               am_body([am_alert("upgrade-1")]),
                               headers={"Authorization": f"Bearer {KEY}"}, key=False)
        self.assertEqual(r.json["results"][0]["result"], "occurrence")


if __name__ == "__main__":
    unittest.main()
