"""Limits at the front door: request rates per key and per address (429 with
Retry-After), failed keys throttled per address (429, one log line, the key never
logged), Content-Length with Transfer-Encoding and conflicting Content-Lengths refused
(400, raw sockets), slow clients shed (a normal request still succeeds with 1,000
slowloris connections held), and one address's pipelined requests held to its share of
store slots."""

import http.client
import json
import signal
import socket
import threading
import time
import unittest

from harness import PipelineTest, wait_for

ADMIN = "bootstrap-admin-key-0123456789abcdef"


def request(port, method, path, key=None, source="127.0.0.1", body=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        headers = {"X-API-KEY": key} if key else {}
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheader("Retry-After"), r.read()
    finally:
        conn.close()


def raw(port, data, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while b"\r\n\r\n" not in out:
            got = s.recv(65536)
            if not got:
                break
            out += got
        return out
    finally:
        s.close()


class LimitsTest(PipelineTest):
    def start(self, **env):
        e = {"TRIAGE_API_KEYS": ADMIN}
        e.update({k: str(v) for k, v in env.items()})
        self.stack.key = ADMIN
        self.stack.start_store()
        self.stack.start_gateway(env=e)
        self.stack.wait_ready()
        return self.stack.http_port

    def test_rate_per_key(self):
        # 1 request/s, bursts of 2: slow enough that a loaded machine still outpaces it
        port = self.start(TRIAGE_RATE_PER_KEY=1, TRIAGE_RATE_PER_ADDR=0)
        started = time.monotonic()
        got = [request(port, "GET", "/incidents", ADMIN) for _ in range(20)]
        elapsed = time.monotonic() - started
        limited = [g for g in got if g[0] == 429]
        self.assertTrue(limited, [g[0] for g in got])
        self.assertEqual({g[0] for g in got}, {200, 429})
        for status, after, body in limited:
            self.assertGreaterEqual(int(after), 1)
            self.assertEqual(json.loads(body)["error"], "too_many_requests")
            self.assertIn("this key", json.loads(body)["detail"])
        # at most the burst plus what refilled while the test ran
        self.assertLessEqual(sum(1 for g in got if g[0] == 200), 2 + elapsed + 1)
        log = self.stack.procs["gateway"].text()
        self.assertIn("limit: key cfg1 used its burst of 1 requests/s", log)
        self.assertNotIn(ADMIN, log)
        # another key is not affected
        r = self.stack.request("POST", "/keys", {"name": "other", "role": "viewer"})
        if r.status == 429:  # the admin key is still limited: wait for its token
            r = wait_for(lambda: (lambda x: x if x.status == 201 else None)(self.stack.request(
                "POST", "/keys", {"name": "other", "role": "viewer"})), 20, "a token")
        self.assertEqual(request(port, "GET", "/incidents", r.json["key"])[0], 200)
        self.assertEqual(request(port, "GET", "/healthz")[0], 200)  # probes are not limited

    def test_rate_per_address(self):
        port = self.start(TRIAGE_RATE_PER_ADDR=1, TRIAGE_RATE_PER_KEY=0,
                          TRIAGE_AUTH_FAILS_PER_MIN=0)
        got = [request(port, "GET", "/incidents", ADMIN, source="127.0.0.8") for _ in range(20)]
        limited = [g for g in got if g[0] == 429]
        self.assertTrue(limited, [g[0] for g in got])
        self.assertIn("from this address", json.loads(limited[0][2])["detail"])
        self.assertGreaterEqual(int(limited[0][1]), 1)
        # counted before the key: requests without one are limited as well
        self.assertEqual(request(port, "GET", "/incidents", None, source="127.0.0.8")[0], 429)
        # another address is not affected
        self.assertEqual(request(port, "GET", "/incidents", ADMIN, source="127.0.0.9")[0], 200)
        self.assertIn("limit: 127.0.0.8 used its burst of 1 requests/s",
                      self.stack.procs["gateway"].text())

    def test_failed_keys_are_throttled_per_address(self):
        port = self.start(TRIAGE_AUTH_FAILS_PER_MIN=10)  # one more every 6 s
        guesses = ["guess-%04d-abcdefghijklmnopqrstuvwxyz" % i for i in range(40)]
        started = time.monotonic()
        got = [request(port, "GET", "/incidents", g, source="127.0.0.5") for g in guesses]
        elapsed = time.monotonic() - started
        statuses = [g[0] for g in got]
        self.assertEqual(statuses[:10], [401] * 10)
        self.assertEqual(statuses[10], 429)
        self.assertEqual(set(statuses), {401, 429})
        failed = statuses.count(401)
        self.assertLessEqual(failed, 10 + elapsed / 6 + 1)  # the allowance refills slowly
        for status, after, _ in got:
            if status == 429:
                self.assertGreaterEqual(int(after), 1)
        # the address stays throttled even with the right key; others are not
        self.assertEqual(request(port, "GET", "/incidents", ADMIN, source="127.0.0.5")[0], 429)
        self.assertEqual(request(port, "GET", "/incidents", ADMIN, source="127.0.0.6")[0], 200)
        log = self.stack.procs["gateway"].text()
        self.assertEqual(log.count("auth: 401 unknown API key"), failed)  # one line per 401
        self.assertIn("127.0.0.5 sent 10 failed keys within a minute: throttled", log)
        for g in guesses:
            self.assertNotIn(g, log)

    def test_ambiguous_framing_is_400(self):
        port = self.start()
        body = b'{"title":"smuggled","description":"x"}'
        head = (b"POST /incidents HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + ADMIN.encode() +
                b"\r\nContent-Type: application/json\r\n")
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        cases = [
            head + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(chunked) +
            chunked,
            head + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + chunked,
            head + b"Content-Length: %d\r\nContent-Length: 5\r\n\r\n" % len(body) + body,
            head + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(body), len(body)) +
            body,
        ]
        for req in cases:
            out = raw(port, req)
            self.assertTrue(out.startswith(b"HTTP/1.1 400"), (req[:160], out[:200]))
            self.assertIn(b'"error":"invalid"', out)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "0")
        # the plain forms still work
        ok = raw(port, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.assertTrue(ok.startswith(b"HTTP/1.1 202"), ok[:200])
        ok = raw(port, head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
        self.assertTrue(ok.startswith(b"HTTP/1.1 202"), ok[:200])

    def test_slow_headers_are_cut_off(self):
        port = self.start(TRIAGE_HTTP_HEADER_TIMEOUT_MS=500, TRIAGE_HTTP_BODY_TIMEOUT_MS=500)
        slow = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.addCleanup(slow.close)
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")
        body = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.addCleanup(body.close)
        body.sendall(b"POST /incidents HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + ADMIN.encode() +
                     b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        for s in (slow, body):
            while True:  # trickle until the gateway hangs up
                try:
                    s.sendall(b"X-a: b\r\n" if s is slow else b" ")
                    data = s.recv(4096)
                except (ConnectionResetError, BrokenPipeError):
                    break
                if not data:
                    break
        self.assertLess(time.monotonic() - started, 15)
        wait_for(lambda: "shed" in self.stack.procs["gateway"].text(), 10, "the shed log line")

    def test_slowloris_does_not_starve_a_normal_request(self):
        port = self.start()
        conns = []
        stop = threading.Event()

        def close_all():
            stop.set()
            for s in conns:
                s.close()
        self.addCleanup(close_all)
        # 1,000 connections from 8 addresses (within the per-address limit), each sending
        # a request header a few bytes at a time and never finishing it.
        for i in range(1000):
            s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                         source_address=("127.0.0.%d" % (10 + i % 8), 0))
            s.setblocking(False)
            try:
                s.send(b"GET /incidents HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass
            conns.append(s)

        def trickle():
            while not stop.wait(0.5):
                for s in conns:
                    try:
                        s.send(b"X-slow: 1\r\n")
                    except OSError:
                        pass
        threading.Thread(target=trickle, daemon=True).start()
        # The normal requests are answered (the oldest unfinished headers were shed).
        started = time.monotonic()
        self.assertEqual(request(port, "GET", "/healthz", timeout=20)[0], 200)
        status, _, body = request(port, "GET", "/incidents", ADMIN, timeout=20)
        elapsed = time.monotonic() - started
        self.assertEqual(status, 200, body)
        print(f"\nnormal requests with 1,000 slowloris connections: {elapsed * 1000:.0f} ms")
        log = self.stack.procs["gateway"].text()
        self.assertIn("too many connections open", log)

    def test_one_connection_pipelining_300_unread_requests_starves_nobody(self):
        port = self.start(TRIAGE_STORE_MAX_INFLIGHT=16)
        one = b"GET /incidents HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + ADMIN.encode() + b"\r\n\r\n"
        s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                     source_address=("127.0.0.30", 0))
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(one * 300)  # and never read the answers
        for i in range(20):
            status, _, body = request(port, "GET", "/incidents", ADMIN, source="127.0.0.31")
            self.assertEqual(status, 200, body)

    def test_pipelined_requests_hold_a_fair_share_of_store_slots(self):
        port = self.start(TRIAGE_STORE_MAX_INFLIGHT=32, TRIAGE_STORE_MAX_PER_ADDR=8,
                          TRIAGE_STORE_TIMEOUT_MS=8000)
        store = self.stack.procs["store"]
        store.send_signal(signal.SIGSTOP)  # every store request now waits
        self.addCleanup(lambda: store.send_signal(signal.SIGCONT))
        one = b"GET /incidents HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + ADMIN.encode() + b"\r\n\r\n"
        socks = []
        for i in range(60):  # 300 pipelined requests on 60 connections, never read
            s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                         source_address=("127.0.0.20", 0))
            s.sendall(one * 5)
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])
        wait_for(lambda: "has 8 store requests in flight" in self.stack.procs["gateway"].text(),
                 20, "the address to reach its share")
        # another client still gets a store slot: answered once the store runs again
        result = {}

        def normal():
            result["r"] = request(port, "GET", "/incidents", ADMIN, source="127.0.0.21")
        t = threading.Thread(target=normal)
        t.start()
        wait_for(lambda: "parked for the store" in self.stack.procs["gateway"].text(), 10)
        store.send_signal(signal.SIGCONT)
        t.join(30)
        self.assertEqual(result["r"][0], 200, result)
        # the pipelining address got 429s beyond its share
        first = socks[-1]
        first.settimeout(20)
        data = b""
        while b"\r\n\r\n" not in data:
            data += first.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 429") or data.startswith(b"HTTP/1.1 200"),
                        data[:100])


if __name__ == "__main__":
    unittest.main()
