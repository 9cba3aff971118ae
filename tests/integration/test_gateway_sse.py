"""Gateway-specific behaviour of GET /events (docs/API.md, "Live events"): the frames,
ids <epoch>-<seq>, resync on Last-Event-ID and on a store restart (new epoch),
heartbeats, the key (header only), the stream limit, and a clean stop with open streams
and requests still waiting for the store."""

import http.client
import json
import signal
import socket
import threading
import time
import unittest

from harness import DEV_KEY, PipelineTest, SSEStream, wait_for


class GatewaySSETest(PipelineTest):
    def start(self, **env):
        self.stack.start_store()
        self.stack.start_gateway(env=env)
        self.stack.wait_ready()

    def open(self, **kw):
        ev = SSEStream(self.stack.http_port, **kw)
        self.addCleanup(ev.close)
        return ev

    def incident_frame(self, ev, incident_id, timeout=15):
        def find():
            for f in ev.events("incident"):
                if f["data"]["id"] == incident_id:
                    return f
            return None
        return wait_for(find, timeout, f"an event for incident {incident_id}")

    def wait_events_flowing(self, ev):
        def flowing():
            inc = self.stack.submit(title="warm-up")
            return any(f["data"]["id"] == inc["id"] for f in ev.events("incident")) or \
                self.try_frame(ev, inc["id"])
        wait_for(flowing, 20, "events to flow from the store", interval=0.2)

    def try_frame(self, ev, incident_id):
        try:
            return self.incident_frame(ev, incident_id, timeout=1)
        except AssertionError:
            return None

    def test_hello_then_incident_frames(self):
        self.start()
        ev = self.open()
        self.assertEqual(ev.status, 200)
        self.assertTrue(ev.header("Content-Type").startswith("text/event-stream"))
        self.assertEqual(ev.header("Cache-Control"), "no-store")
        self.assertIn("script-src 'self'", ev.header("Content-Security-Policy"))
        hello = wait_for(lambda: ev.events(), 10, "the hello frame")[0]
        self.assertEqual(hello["event"], "hello")
        self.assertIsInstance(hello["data"]["gateway"], str)
        self.assertNotIn("id", hello)

        # The gateway subscribes to the store's events in the background: until that
        # link is up, events are lost (clients resync), so first wait for one to flow.
        self.wait_events_flowing(ev)
        inc = self.stack.submit(title="SSE one")
        f = self.incident_frame(ev, inc["id"])
        self.assertRegex(f["id"], r"^\d+-\d+$")
        d = f["data"]
        self.assertEqual(d["status"], "submitted")
        self.assertEqual(d["state"], "open")
        self.assertIsInstance(d["version"], int)
        self.assertIsInstance(d["kind"], str)
        self.assertRegex(d["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIn("severity", d)
        self.assertIn("category", d)
        # Sequence numbers of one store grow by one: a second incident is the next id.
        inc2 = self.stack.submit(title="SSE two")
        f2 = self.incident_frame(ev, inc2["id"])
        epoch, seq = map(int, f["id"].split("-"))
        epoch2, seq2 = map(int, f2["id"].split("-"))
        self.assertEqual(epoch, epoch2)
        self.assertGreater(seq2, seq)
        self.assertEqual(ev.events("resync"), [])

    def test_last_event_id_gets_a_resync(self):
        self.start()
        ev = self.open(last_event_id="1-5")
        frames = wait_for(lambda: len(ev.events()) >= 2 and ev.events(), 10, "hello and resync")
        self.assertEqual(frames[0]["event"], "hello")
        self.assertEqual(frames[1]["event"], "resync")
        self.assertEqual(frames[1]["data"], {"reason": "reconnect"})

    def test_heartbeats_on_an_idle_stream(self):
        self.start(TRIAGE_SSE_HEARTBEAT_MS="200")
        ev = self.open()
        wait_for(lambda: len(ev.comments) >= 3, 10, "three heartbeats")
        self.assertTrue(all(c == ": heartbeat" for c in ev.comments), ev.comments)

    def test_key_in_header_only(self):
        self.start()
        ev = self.open(key=None)
        self.assertEqual(ev.status, 401)
        self.assertEqual(ev.header("WWW-Authenticate"), "Bearer")
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.http_port, timeout=10)
        conn.request("GET", "/events?key=" + DEV_KEY)
        self.assertEqual(conn.getresponse().status, 401)
        conn.close()
        ev = self.open(key=None, headers={"Authorization": "Bearer " + DEV_KEY})
        self.assertEqual(ev.status, 200)

    def test_stream_limit(self):
        self.start(TRIAGE_SSE_MAX_STREAMS="2", TRIAGE_SSE_HEARTBEAT_MS="100")
        a = self.open()
        b = self.open()
        self.assertEqual((a.status, b.status), (200, 200))
        c = self.open()
        self.assertEqual(c.status, 503)
        self.assertIsNotNone(c.header("Retry-After"))
        self.assertEqual(json.loads(c.body)["error"], "unavailable")
        # A closed stream frees its place (noticed at the next heartbeat).
        a.close()

        def reopen():
            d = SSEStream(self.stack.http_port)
            if d.status == 200:
                self.addCleanup(d.close)
                return d
            return None
        wait_for(reopen, 10, "a place after a stream closed")

    def test_store_restart_means_resync(self):
        self.start()
        ev = self.open()
        self.wait_events_flowing(ev)
        first = self.stack.submit(title="before restart")
        self.incident_frame(ev, first["id"])
        last_before = first["id"]
        self.stack.kill("store")
        self.stack.start_store()
        self.stack.wait_ready()
        # PUB/SUB reconnects in the background: submit until an event gets through.
        seen = {}

        def next_event():
            inc = self.stack.submit(title="after restart")
            for f in ev.events("incident"):
                if f["data"]["id"] > last_before:
                    seen["frame"] = f
                    return True
            return False
        wait_for(next_event, 20, "an event from the restarted store", interval=0.2)
        frames = ev.events()
        i = frames.index(seen["frame"])
        resyncs = [f for f in frames[:i] if f.get("event") == "resync"]
        self.assertTrue(resyncs, frames)
        self.assertEqual(resyncs[-1]["data"]["reason"], "epoch")

    def test_slow_reader_overflows_and_resyncs(self):
        self.start(TRIAGE_SSE_QUEUE="4")
        live = self.open()
        self.wait_events_flowing(live)
        # A client that stops reading: a tiny receive buffer, and nobody reads.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", self.stack.http_port))
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.http_port, timeout=30)
        conn.sock = sock
        self.addCleanup(conn.close)
        conn.request("GET", "/events", headers={"X-API-KEY": DEV_KEY})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        # Far more events than the kernel buffers and the queue of 4 can hold.
        before = len(live.events("incident"))
        body = '{"title":"%s","description":"%s"}'
        keep = http.client.HTTPConnection("127.0.0.1", self.stack.http_port, timeout=30)
        self.addCleanup(keep.close)
        last = None
        for i in range(600):
            keep.request("POST", "/incidents", body=body % ("burst %d" % i, "x" * 200),
                         headers={"X-API-KEY": DEV_KEY, "Content-Type": "application/json"})
            r = keep.getresponse()
            self.assertEqual(r.status, 202)
            last = json.loads(r.read())["id"]
        # The reading client got them (or resyncs of its own), the slow one is not in
        # the way of anybody.
        wait_for(lambda: len(live.events("incident")) - before >= 600 or live.events("resync"),
                 30, "the live client to see the burst")
        # Now read the slow stream: somewhere a resync(overflow), then it carries on.
        slow = SSEStream.from_response(conn, resp)
        wait_for(lambda: any(f["data"]["id"] == last for f in slow.events("incident")), 30,
                 "the slow stream to catch up to the last incident")
        frames = slow.events()
        reasons = [f["data"]["reason"] for f in frames if f.get("event") == "resync"]
        self.assertIn("overflow", reasons, [f.get("event") for f in frames][:20])
        self.assertLess(len(slow.events("incident")), 600)  # events were dropped, not queued
        after = self.stack.submit(title="after the burst")
        wait_for(lambda: any(f["data"]["id"] == after["id"] for f in slow.events("incident")),
                 15, "the slow stream to carry on after its resync")

    def test_clean_stop_with_streams_and_parked_requests(self):
        self.start(TRIAGE_STORE_TIMEOUT_MS="60000")
        streams = [self.open() for _ in range(3)]
        for s in streams:
            wait_for(lambda s=s: s.events("hello"), 10, "hello")
        store = self.stack.procs["store"]
        store.send_signal(signal.SIGSTOP)
        self.addCleanup(store.send_signal, signal.SIGCONT)
        results = []

        def post():
            try:
                results.append(self.stack.request("POST", "/incidents",
                                                  {"title": "t", "description": "d"}).status)
            except (OSError, http.client.HTTPException) as e:
                results.append(repr(e))
        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        # Wait until the gateway has the requests (they are parked for the store).
        gateway = self.stack.procs["gateway"]
        wait_for(lambda: gateway.text().count("POST /incidents parked for the store") >= 4,
                 10, "four requests parked for the store")
        t0 = time.monotonic()
        code = self.stack.stop("gateway", timeout=20)
        self.assertEqual(code, 0, self.stack.procs["gateway"].text()[-3000:])
        self.assertLess(time.monotonic() - t0, 10)
        for t in threads:
            t.join(10)
        # Parked requests were answered 503 (nothing stored) before the daemon stopped.
        self.assertEqual(results, [503] * 4)
        for s in streams:
            self.assertTrue(s.ended.wait(10), "the stream ended")
        store.send_signal(signal.SIGCONT)


if __name__ == "__main__":
    unittest.main()
