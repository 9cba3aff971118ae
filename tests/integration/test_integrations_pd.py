"""Grafana's webhook and PagerDuty's Events API v2 through the real gateway and store:
bodies shaped as those tools send them, PagerDuty's answers, every invalid case."""

import base64
import socket
import unittest

import test_integrations as ti  # the payload builders (as a module: its tests stay there)
from harness import PipelineTest


class GrafanaPagerDutyTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.env["TRIAGE_API_KEYS"] = ti.KEY
        self.stack.key = ti.KEY
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()

    post = ti.IntegrationsTest.post  # Bearer for the webhooks, nothing for PagerDuty

    # -- Grafana ---------------------------------------------------------------

    def test_grafana_firing_links_values_and_resolve(self):
        basic = base64.b64encode(f"admin:{ti.KEY}".encode()).decode()
        hdr = {"Authorization": f"Basic {basic}"}
        r = self.stack.request("POST", "/integrations/grafana", ti.grafana_body("9a1b2c3d4e5f6071"),
                               key=False, headers=hdr)
        self.assertEqual(r.status, 202, r)
        inc = self.stack.incident(r.json["results"][0]["incident_id"])
        self.assertEqual(inc["title"], "Disk almost full on db-1")
        self.assertEqual(inc["source"], "grafana")
        rels = {l["rel"]: l["href"] for l in inc["source_links"]}
        self.assertEqual(set(rels), {"generator", "dashboard", "panel", "silence"})
        self.assertEqual(inc["source_details"]["values"], {"B": 97.5, "C": 1})
        self.assertEqual(inc["source_details"]["orgId"], 1)
        self.assertIn("value=97.5", inc["source_details"]["valueString"])
        r = self.post("/integrations/grafana", ti.grafana_body("9a1b2c3d4e5f6071", "resolved"))
        self.assertEqual(r.json["results"][0]["result"], "resolved")
        for change, field in [(lambda b: b.update(version="4"), "version"),
                              (lambda b: b.update(orgId="1"), "orgId"),
                              (lambda b: b["alerts"][0].update(values={"B": "x"}),
                               "alerts[0].values"),
                              (lambda b: b["alerts"][0].update(dashboardURL=1),
                               "alerts[0].dashboardURL")]:
            b = ti.grafana_body("9a1b2c3d4e5f6072")
            change(b)
            r = self.post("/integrations/grafana", b)
            self.assertEqual(r.status, 400, (field, r))
            self.assertTrue(r.json["detail"].startswith(field + ":"), (field, r.json))
        # empty optionals as Grafana sends them
        b = ti.grafana_body("9a1b2c3d4e5f6073")
        b["alerts"][0].update(values=None, dashboardURL="", panelURL="", silenceURL="",
                              valueString="", annotations={})
        r = self.post("/integrations/grafana", b)
        self.assertEqual(r.status, 202, r)

    # -- PagerDuty -------------------------------------------------------------

    def test_pagerduty_trigger_ack_resolve(self):
        r = self.post("/v2/enqueue", ti.pd_event(dedup="checkout-5xx"))
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["status"], "success")
        self.assertEqual(r.json["message"], "Event processed")
        self.assertEqual(r.json["dedup_key"], "checkout-5xx")
        inc = self.stack.incident(r.json["incident_id"])
        self.assertEqual(inc["source_severity"], "error")
        self.assertEqual(inc["service"], "checkout")
        self.assertEqual(inc["labels"]["severity"], "error")
        self.assertEqual(inc["source_details"]["custom_details"]["region"], "eu-west-1")
        self.assertIn("eu-west-1", inc["description"])
        self.assertEqual({l["rel"] for l in inc["source_links"]}, {"link", "image", "client"})
        r = self.post("/integrations/pagerduty", ti.pd_event(dedup="checkout-5xx",
                                                          summary="Checkout 5xx rate at 14%"))
        self.assertEqual(r.json["incident_id"], inc["id"])
        r = self.post("/v2/enqueue", ti.pd_event("acknowledge", dedup="checkout-5xx"))
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.stack.incident(inc["id"])["state"], "acknowledged")
        r = self.post("/integrations/pagerduty/v2/enqueue", ti.pd_event("resolve", dedup="checkout-5xx"))
        self.assertEqual(r.status, 202, r)
        got = self.stack.incident(inc["id"])
        self.assertEqual((got["state"], got["occurrence_count"]), ("resolved", 2))
        # resolve/acknowledge of an unknown key: accepted, ignored
        for action in ("resolve", "acknowledge"):
            r = self.post("/v2/enqueue", ti.pd_event(action, dedup="never-seen"))
            self.assertEqual((r.status, r.json["dedup_key"]), (202, "never-seen"))
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE dedup_key = 'never-seen'"), "0")

    def test_pagerduty_generated_dedup_key_and_retry(self):
        body = ti.pd_event()
        r1 = self.post("/v2/enqueue", body)
        self.assertEqual(r1.status, 202, r1)
        key = r1.json["dedup_key"]
        self.assertTrue(key.startswith("triage-"), key)
        r2 = self.post("/v2/enqueue", body)  # a client retry: the same answer, nothing new
        self.assertEqual(r2.json["dedup_key"], key)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "1")

    def test_pagerduty_invalid_events(self):
        long = "x" * 1025
        cases = [
            (lambda e: e.pop("routing_key"), "routing_key"),
            (lambda e: e.update(routing_key="short"), "routing_key"),
            (lambda e: e.update(routing_key="f" * 32), "routing_key"),
            (lambda e: e.update(event_action="snooze"), "event_action"),
            (lambda e: e.update(dedup_key="d" * 256), "dedup_key"),
            (lambda e: e.update(dedup_key=""), "dedup_key"),
            (lambda e: e.pop("payload"), "payload"),
            (lambda e: e["payload"].pop("summary"), "payload.summary"),
            (lambda e: e["payload"].update(summary=long), "payload.summary"),
            (lambda e: e["payload"].pop("source"), "payload.source"),
            (lambda e: e["payload"].update(severity="high"), "payload.severity"),
            (lambda e: e["payload"].update(component=3), "payload.component"),
            (lambda e: e.update(links=[{"text": "no href"}]), "links[0].href"),
            (lambda e: e.update(images="x"), "images"),
            (lambda e: e.update(client_url=7), "client_url"),
        ]
        for change, field in cases:
            e = ti.pd_event(dedup="bad-1")
            change(e)
            r = self.post("/v2/enqueue", e)
            self.assertEqual(r.status, 400, (field, r))
            self.assertEqual(r.json["status"], "invalid event")
            self.assertEqual(r.json["message"], "Event object is invalid")
            self.assertTrue(r.json["errors"][0].startswith(field + ":"), (field, r.json))
        r = self.post("/v2/enqueue", {"routing_key": ti.KEY, "event_action": "resolve"})
        self.assertEqual((r.status, r.json["errors"][0][:10]), (400, "dedup_key:"))
        # 1024 characters (multi-byte) is fine; a body up to 512 KB is accepted
        e = ti.pd_event(dedup="big-1", summary="é" * 1024,
                     custom_details={"blob": "y" * (400 * 1024)})
        r = self.post("/v2/enqueue", e)
        self.assertEqual(r.status, 202, r)
        inc = self.stack.incident(r.json["incident_id"])
        self.assertEqual(len(inc["title"]), 200)
        self.assertTrue(inc["title"].endswith("..."))
        self.assertEqual(inc["source_details"]["truncated"], True)  # over 64 KiB: its size
        self.assertGreater(inc["source_details"]["bytes"], 400 * 1024)
        # over 512 KB: refused from the declared length, before the body is sent
        with socket.create_connection(("127.0.0.1", self.stack.http_port), timeout=30) as s:
            s.sendall(b"POST /v2/enqueue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                      b"\r\nContent-Length: %d\r\n\r\n" % (512 * 1024 + 1))
            status = s.makefile("rb").readline()
        self.assertIn(b" 413 ", status)
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE dedup_key = 'bad-1'"), "0")


if __name__ == "__main__":
    unittest.main()
