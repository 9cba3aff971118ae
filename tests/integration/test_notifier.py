"""Notifications out: channels through the API, the outbox written with the change,
delivery by real triage-notifier processes to a local HTTP receiver that answers 200,
500, 429 with Retry-After or hangs: retries, give-up on the timeline, hold-down, SIGKILL
mid-delivery, two notifiers side by side, the HMAC signature."""

import os
import shutil
import signal
import tempfile
import unittest

from harness import PipelineTest, Receiver, signature_ok, wait_for

SECRET = "s3cret-for-hmac"
FAST = {"TRIAGE_NOTIFY_POLL_MS": "50", "TRIAGE_NOTIFY_BACKOFF_MS": "100",
        "TRIAGE_NOTIFY_BACKOFF_MAX_MS": "400", "TRIAGE_NOTIFY_TIMEOUT_MS": "1500",
        "TRIAGE_NOTIFY_LEASE_MS": "3000", "TRIAGE_NOTIFY_MAX_ATTEMPTS": "5"}
HIGH = {"title": "Disk Full", "description": "Production disk at 100%"}          # rules: high
LOW = {"title": "Typo on the about page",
       "description": "cosmetic: a misspelled word in the footer, no user impact"}  # low


class NotifierTest(PipelineTest):
    def start(self, notifiers=1, env=None):
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.stack.start_enricher("enricher1", llm="rules")
        for i in range(notifiers):
            self.stack.start_notifier(f"notifier{i + 1}", env=dict(FAST, **(env or {})))

    def receiver(self):
        r = Receiver()
        self.addCleanup(r.close)
        return r

    def channel(self, receiver, service, **fields):
        body = {"name": f"ch-{service}", "kind": "webhook", "url": receiver.url,
                "secret": SECRET, "services": [service]}
        body.update(fields)
        r = self.stack.request("POST", "/channels", body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def triaged(self, service, fields=HIGH):
        inc = self.stack.submit(service=service, **fields)
        self.stack.wait_status(inc["id"], "triaged")
        return inc["id"]

    def outbox(self, where):
        return self.stack.sql("SELECT id, event, state, attempts, last_error FROM "
                              f"notification_outbox WHERE {where} ORDER BY id")

    def test_channel_api_validates_and_never_returns_secrets(self):
        self.start(notifiers=0)
        rec = self.receiver()
        ch = self.channel(rec, "api", min_severity="high", hold_down_s=30)
        self.assertEqual((ch["kind"], ch["has_secret"], ch["min_severity"], ch["hold_down_s"]),
                         ("webhook", True, "high", 30))
        self.assertEqual(ch["events"], ["triaged", "severity_raised", "resolved"])
        self.assertNotIn(SECRET, str(ch))
        slack = self.stack.request("POST", "/channels", {
            "name": "team", "kind": "slack",
            "url": "https://hooks.slack.com/services/T000/B000/XXXXSECRET"})
        self.assertEqual(slack.status, 201, slack)
        self.assertEqual(slack.json["url"], "https://hooks.slack.com/…")
        bad = [({"name": "x", "kind": "webhook", "url": rec.url}, "secret"),
               ({"name": "x", "kind": "email", "url": rec.url, "secret": "k"}, "kind"),
               ({"name": "x", "kind": "webhook", "url": "ftp://h/", "secret": "k"}, "url"),
               ({"name": "x", "kind": "webhook", "url": rec.url, "secret": "k",
                 "events": []}, "events"),
               ({"name": "x", "kind": "webhook", "url": rec.url, "secret": "k",
                 "min_severity": "huge"}, "min_severity"),
               ({"name": "x", "kind": "webhook", "url": rec.url, "secret": "k",
                 "hold_down_s": -1}, "hold_down_s"),
               ({"name": "x", "kind": "webhook", "url": rec.url, "secret": "k",
                 "colour": "red"}, "colour")]
        for body, field in bad:
            r = self.stack.request("POST", "/channels", body)
            self.assertEqual(r.status, 400, (body, r))
            self.assertIn(field, r.json["detail"])
        dup = self.stack.request("POST", "/channels", {"name": "team", "kind": "slack",
                                                       "url": "https://example.org/x"})
        self.assertEqual(dup.status, 409, dup)
        listed = self.stack.request("GET", "/channels")
        self.assertEqual([c["name"] for c in listed.json["channels"]], ["ch-api", "team"])
        self.assertNotIn(SECRET, listed.body)
        self.assertNotIn("XXXXSECRET", listed.body)
        r = self.stack.request("PATCH", f"/channels/{ch['id']}", {"enabled": False,
                                                                  "categories": ["storage"]})
        self.assertEqual((r.status, r.json["enabled"], r.json["categories"]),
                         (200, False, ["storage"]))
        self.assertEqual(self.stack.request("PATCH", f"/channels/{ch['id']}", {}).status, 400)
        for patch in ({"kind": "webhook"}, {"secret": None}):
            target = slack.json["id"] if "kind" in patch else ch["id"]
            r = self.stack.request("PATCH", f"/channels/{target}", patch)
            self.assertEqual(r.status, 400, (patch, r))
            self.assertIn("secret", r.json["detail"])
        self.assertNotIn("XXXXSECRET", self.stack.procs["store"].text())
        self.assertNotIn(SECRET, self.stack.procs["store"].text())
        self.assertEqual(self.stack.request("PATCH", "/channels/999", {"enabled": True}).status,
                         404)
        # channels are admin-only, reading them too; an incident's deliveries are not
        for role, want in (("responder", 403), ("admin", 200)):
            k = self.stack.request("POST", "/keys", {"name": f"k-{role}", "role": role})
            self.assertEqual(k.status, 201, k)
            self.assertEqual(self.stack.request("GET", "/channels", key=k.json["key"]).status,
                             want, role)
        inc = self.stack.submit(title="seen by a viewer")
        viewer = self.stack.request("POST", "/keys", {"name": "k-viewer", "role": "viewer"})
        r = self.stack.request("GET", f"/incidents/{inc['id']}/notifications",
                               key=viewer.json["key"])
        self.assertEqual((r.status, r.json["notifications"]), (200, []))
        self.assertEqual(self.stack.request("POST", f"/channels/{ch['id']}/test",
                                            key=viewer.json["key"]).status, 403)
        self.assertEqual(self.stack.request("DELETE", f"/channels/{ch['id']}").status, 200)
        self.assertEqual(self.stack.request("DELETE", f"/channels/{ch['id']}").status, 404)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM notification_channels"), "1")

    def test_retries_on_500_429_and_a_hang_then_delivers_signed(self):
        self.start()
        rec = self.receiver()
        rec.answer((500, {}), (429, {"Retry-After": "1"}), "hang", default=(200, {}))
        ch = self.channel(rec, "svc-r", min_severity="high")
        quiet = self.triaged("svc-r", LOW)          # below the channel's minimum
        iid = self.triaged("svc-r")
        got = wait_for(lambda: len(rec.got()) >= 4 and rec.got(), 30, "four attempts")
        ids = {g["headers"]["x-triage-delivery"] for g in got}
        self.assertEqual(len(ids), 1, "one delivery id across retries")
        for g in got:
            self.assertTrue(signature_ok(SECRET, g["body"], g["headers"]["x-triage-signature"]))
        body = got[0]["json"]
        self.assertEqual((body["event"], body["incident"]["id"], body["channel"]["id"]),
                         ("triaged", iid, ch["id"]))
        self.assertEqual(str(body["delivery_id"]), ids.pop())
        self.assertIsInstance(body["event_id"], int)
        self.assertEqual(body["incident"]["severity"], "high")
        self.assertGreaterEqual(got[2]["at"] - got[1]["at"], 0.95, "Retry-After: 1 honoured")
        wait_for(lambda: self.outbox(f"incident_id = {iid}") == [
            [str(body["delivery_id"]), "triaged", "sent", "4",
             "timeout: the receiver did not answer in time"]], 15, "the row sent")
        self.assertEqual(self.outbox(f"incident_id = {quiet}"), [])
        shown = self.stack.request("GET", f"/incidents/{iid}/notifications").json
        self.assertEqual([(n["event"], n["state"], n["attempts"], n["channel"]["name"])
                          for n in shown["notifications"]], [("triaged", "sent", 4, "ch-svc-r")])
        # raised by a responder, then resolved: one notification each, in order
        self.assertEqual(self.stack.request("PATCH", f"/incidents/{iid}",
                                            {"severity": "critical"}).status, 200)
        self.assertEqual(self.stack.request("POST", f"/incidents/{iid}/resolve").status, 200)
        got = wait_for(lambda: len(rec.got()) >= 6 and rec.got(), 20, "raise and resolve")
        self.assertEqual([g["json"]["event"] for g in got[4:]], ["severity_raised", "resolved"])
        self.assertEqual(got[4]["json"]["incident"]["severity"], "critical")
        self.assertEqual(len({g["json"]["event_id"] for g in got}), 3)

    def test_gives_up_with_the_reason_on_the_timeline(self):
        self.start(env={"TRIAGE_NOTIFY_MAX_ATTEMPTS": "3", "TRIAGE_NOTIFY_BACKOFF_MS": "300"})
        down, refusing = self.receiver(), self.receiver()
        down.answer(default=(503, {}))
        refusing.answer(default=(404, {}))
        self.channel(down, "svc-g")
        self.channel(refusing, "svc-g", name="refusing")
        iid = self.triaged("svc-g")
        # while it retries, the outbox depth shows on the pipeline figures
        wait_for(lambda: self.stack.request("GET", "/stats").json["outbox"]["retrying"] >= 1,
                 15, "a retrying notification in /stats")

        def failed():
            return [e for e in self.stack.incident(iid)["timeline"]
                    if e["kind"] == "notification_failed"]
        events = wait_for(lambda: len(failed()) == 2 and failed(), 30, "two give-ups")
        reasons = sorted(e["detail"]["reason"] for e in events)
        self.assertEqual(reasons, ["gave up after 3 attempts: HTTP 503",
                                   "refused by the receiver: HTTP 404"])
        self.assertEqual((len(down.got()), len(refusing.got())), (3, 1))
        stats = self.stack.request("GET", "/stats").json["outbox"]
        self.assertEqual((stats["pending"], stats["failed_24h"]), (0, 2))
        metrics = self.stack.request("GET", "/metrics").body
        self.assertIn('triage_notification_outbox{state="pending"} 0\n', metrics)
        self.assertIn("triage_notifications_failed_24h 2\n", metrics)
        chans = {c["name"]: c["health"] for c in self.stack.request("GET", "/channels").json[
            "channels"]}
        self.assertEqual(chans["refusing"]["failed_24h"], 1)
        self.assertEqual(chans["refusing"]["last_error"], "refused by the receiver: HTTP 404")

    def test_hold_down_sends_nothing_when_resolved_meanwhile(self):
        self.start()
        rec = self.receiver()
        self.channel(rec, "svc-h", hold_down_s=4)
        flapping = self.triaged("svc-h")
        r = self.stack.request("POST", f"/incidents/{flapping}/resolve")
        self.assertEqual(r.status, 200)
        staying = self.triaged("svc-h")
        got = wait_for(lambda: rec.got(), 30, "the held-down notification of the other one")
        wait_for(lambda: [r[2] for r in self.outbox(f"incident_id = {flapping}")]
                 == ["cancelled", "cancelled"], 30, "both of the flapping one's cancelled")
        self.assertEqual([g["json"]["incident"]["id"] for g in rec.got()], [staying])
        self.assertEqual(got[0]["json"]["event"], "triaged")
        created = self.stack.scalar(f"SELECT extract(epoch FROM due_at - created_at) FROM "
                                    f"notification_outbox WHERE incident_id = {staying}")
        self.assertEqual(float(created), 4.0)

    def test_sigkill_mid_delivery_loses_nothing(self):
        env = {"TRIAGE_NOTIFY_TIMEOUT_MS": "20000", "TRIAGE_NOTIFY_LEASE_MS": "21000"}
        self.start(env=env)
        rec = self.receiver()
        rec.answer("hang", default=(200, {}))
        self.channel(rec, "svc-k")
        iid = self.triaged("svc-k")
        wait_for(lambda: rec.got(), 20, "the delivery to reach the receiver")
        self.assertEqual(self.outbox(f"incident_id = {iid}")[0][2], "sending")
        self.stack.kill("notifier1")
        # the lease is what brings it back: expire it rather than wait 21 s
        self.stack.sql("UPDATE notification_outbox SET lease_until = now() - interval '1 s'"
                       f" WHERE incident_id = {iid}")
        self.stack.start_notifier("notifier2", env=dict(FAST))
        got = wait_for(lambda: len(rec.got()) >= 2 and rec.got(), 20, "the redelivery")
        self.assertEqual(got[0]["headers"]["x-triage-delivery"],
                         got[1]["headers"]["x-triage-delivery"])
        wait_for(lambda: self.outbox(f"incident_id = {iid}")[0][2:4] == ["sent", "2"], 10,
                 "the row sent on the second attempt")

    def test_sigterm_mid_delivery_puts_the_row_back_at_once(self):
        env = {"TRIAGE_NOTIFY_TIMEOUT_MS": "20000", "TRIAGE_NOTIFY_LEASE_MS": "21000"}
        self.start(env=env)
        rec = self.receiver()
        rec.answer("hang", default=(200, {}))
        self.channel(rec, "svc-t")
        iid = self.triaged("svc-t")
        wait_for(lambda: rec.got(), 20, "the delivery to reach the receiver")
        self.assertEqual(self.stack.stop("notifier1", signal.SIGTERM), 0)
        row = self.outbox(f"incident_id = {iid}")[0]
        self.assertEqual(row[2:], ["pending", "1", "the notifier stopped during the delivery"])
        self.stack.start_notifier("notifier2", env=dict(FAST))
        wait_for(lambda: self.outbox(f"incident_id = {iid}")[0][2:4] == ["sent", "2"], 20,
                 "the row sent by the next notifier, without waiting for a lease")

    def test_two_notifiers_deliver_each_once_and_the_test_route(self):
        self.start(notifiers=2)
        rec = self.receiver()
        ch = self.channel(rec, "svc-2")
        slack_rec = self.receiver()
        slack = self.stack.request("POST", "/channels", {
            "name": "chat", "kind": "slack", "url": slack_rec.url, "services": ["svc-2"],
            "events": ["triaged"]}).json
        ids = [self.stack.submit(service="svc-2", **HIGH)["id"] for _ in range(12)]
        for i in ids:
            self.stack.wait_status(i, "triaged")
        got = wait_for(lambda: len(rec.got()) >= 12 and rec.got(), 30, "12 webhooks")
        wait_for(lambda: len(slack_rec.got()) >= 12, 30, "12 slack messages")
        deliveries = [g["headers"]["x-triage-delivery"] for g in got]
        self.assertEqual(len(deliveries), len(set(deliveries)), "nothing sent twice")
        self.assertEqual(sorted(g["json"]["incident"]["id"] for g in got), ids)
        claimers = self.stack.sql("SELECT DISTINCT claimed_by FROM notification_outbox")
        self.assertTrue(set(r[0] for r in claimers) <= {"notifier1", "notifier2"})
        msg = slack_rec.got()[0]
        self.assertNotIn("x-triage-signature", msg["headers"])
        self.assertIn("Disk Full", msg["json"]["text"])
        self.assertEqual(msg["json"]["blocks"][0]["type"], "section")
        r = self.stack.request("POST", f"/channels/{ch['id']}/test")
        self.assertEqual(r.status, 202, r)
        test = wait_for(lambda: [g for g in rec.got() if g["json"]["event"] == "test"], 15,
                        "the test delivery")
        self.assertEqual(test[0]["headers"]["x-triage-delivery"], str(r.json["delivery_id"]))
        self.assertTrue(signature_ok(SECRET, test[0]["body"],
                                     test[0]["headers"]["x-triage-signature"]))
        self.assertEqual(self.stack.request("POST", f"/channels/{slack['id']}/test").status, 202)
        wait_for(lambda: any("Test notification" in g["json"]["text"] for g in slack_rec.got()),
                 15, "the slack test message")
        for p in ("notifier1", "notifier2"):
            self.assertEqual(self.stack.stop(p, signal.SIGTERM), 0)

    def test_migration_009_upgrades_a_populated_database(self):
        below = tempfile.mkdtemp(prefix="sql-", dir=self.stack.dir)
        sql_dir = self.stack.env["TRIAGE_SQL_DIR"]
        for f in os.listdir(sql_dir):
            if f.endswith(".sql") and f[:3].isdigit() and int(f[:3]) < 9:
                shutil.copy(os.path.join(sql_dir, f), below)
        self.stack.start_store(env={"TRIAGE_SQL_DIR": below})
        self.stack.start_gateway()
        self.stack.wait_ready()
        old = self.stack.submit(service="svc-m", **HIGH)["id"]
        self.assertEqual(self.stack.scalar("SELECT to_regclass('notification_outbox')"), None)
        self.stack.stop("store")
        self.stack.start_store()
        self.stack.wait_ready()
        self.stack.start_notifier("notifier1", env=FAST)
        rec = self.receiver()
        self.channel(rec, "svc-m", events=["resolved"])
        self.assertEqual(self.stack.request("POST", f"/incidents/{old}/resolve").status, 200)
        got = wait_for(lambda: rec.got(), 20, "the resolved notification of the old incident")
        self.assertEqual((got[0]["json"]["event"], got[0]["json"]["incident"]["id"]),
                         ("resolved", old))


if __name__ == "__main__":
    unittest.main()
