"""Gateway-specific HTTP behaviour: the dashboard's files (types, security headers, no
traversal), headers on API answers, 413 before any body is read (also with
Expect: 100-continue), ids and query parameters refused at the door, keep-alive
connections across parked requests, and Location on 202."""

import os
import socket
import unittest

from harness import SOURCE_DIR, PipelineTest, http_request

WEB_DIR = os.path.join(SOURCE_DIR, "web")
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".svg": "image/svg+xml", ".json": "application/json"}


def raw(port, request, read_all=True):
    """Sends raw bytes; returns what came back (until close, or the first header block)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(request)
        data = b""
        while True:
            try:
                got = s.recv(65536)
            except OSError:
                break
            if not got:
                break
            data += got
            if not read_all and b"\r\n\r\n" in data:
                break
        return data
    finally:
        s.close()


class GatewayHttpTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.port = self.stack.http_port

    def assert_security_headers(self, r):
        csp = r.header("Content-Security-Policy")
        self.assertIsNotNone(csp, r)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertIn("object-src 'none'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")

    def test_static_files_with_types_and_headers(self):
        r = http_request(self.port, "GET", "/")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        with open(os.path.join(WEB_DIR, "index.html"), encoding="utf-8") as f:
            self.assertEqual(r.body, f.read())
        self.assert_security_headers(r)
        checked = 0
        for name in sorted(os.listdir(WEB_DIR)):
            ext = os.path.splitext(name)[1]
            if ext not in TYPES or name.startswith("."):
                continue
            r = http_request(self.port, "GET", "/" + name)
            self.assertEqual(r.status, 200, (name, r))
            self.assertTrue(r.header("Content-Type").startswith(TYPES[ext]), (name, r.headers))
            self.assert_security_headers(r)
            checked += 1
        self.assertGreater(checked, 1)
        head = http_request(self.port, "HEAD", "/index.html")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, "")

    def test_static_needs_no_key_but_refuses_other_methods(self):
        r = http_request(self.port, "POST", "/index.html", "x")
        self.assertEqual(r.status, 405)
        self.assertEqual({m.strip() for m in r.header("Allow").split(",")}, {"GET", "HEAD"})
        r = http_request(self.port, "GET", "/no-such-file.js")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json["error"], "not_found")

    def test_no_traversal(self):
        with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), "rb") as f:
            secret = f.read()[:40]
        for path in (b"/../CMakeLists.txt", b"/%2e%2e/CMakeLists.txt", b"/..%2fCMakeLists.txt",
                     b"/%2e%2e%2fCMakeLists.txt", b"/web/../../CMakeLists.txt",
                     b"/.%2e/CMakeLists.txt", b"/..\\CMakeLists.txt", b"//etc/passwd",
                     b"/%00index.html", b"/.git/config", b"/index.html%00.js"):
            data = raw(self.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status = data.split(b" ", 2)[1] if data.startswith(b"HTTP/1.1") else data[:40]
            self.assertIn(status, (b"400", b"404"), (path, data[:300]))
            self.assertNotIn(secret, data)
            self.assertNotIn(b"root:", data)

    def test_api_answers_are_json_no_store(self):
        r = self.stack.request("GET", "/incidents")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assert_security_headers(r)
        r = self.stack.request("GET", "/incidents", key=False)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        r = http_request(self.port, "GET", "/healthz")
        self.assertEqual((r.status, r.json), (200, {"status": "ok"}))
        r = http_request(self.port, "GET", "/readyz")
        self.assertEqual((r.status, r.json), (200, {"status": "ready"}))

    def test_413_with_expect_continue_reads_nothing(self):
        data = raw(self.port, b"POST /incidents HTTP/1.1\r\nHost: x\r\nX-API-KEY: secret123\r\n"
                              b"Content-Type: application/json\r\nContent-Length: 70000\r\n"
                              b"Expect: 100-continue\r\n\r\n", read_all=False)
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])
        self.assertNotIn(b"100 Continue", data)
        # At the limit is fine (and then invalid JSON: 400, not 413).
        r = self.stack.request("POST", "/incidents", b" " * 65536,
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r)

    def test_ids_and_parameters_refused_at_the_door(self):
        for path in ("/incidents/0", "/incidents/abc", "/incidents/-1", "/incidents/01",
                     "/incidents/1/delete", "/incidents/99999999999999999999"):
            r = self.stack.request("GET", path)
            self.assertEqual(r.status, 404, (path, r))
            self.assertEqual(r.json["error"], "not_found")
        for query, word in (("limit=0", "limit"), ("limit=201", "limit"), ("status=open", "status"),
                            ("severity=urgent", "severity"), ("bogus=1", "bogus"),
                            ("status=failed&status=triaged", "status"), ("q=", "q"), ("limit=1%00", "limit"),
                            ("cursor=%3Cx%3E", "cursor")):
            r = self.stack.request("GET", "/incidents?" + query)
            self.assertEqual(r.status, 400, (query, r))
            self.assertIn(word, r.json["detail"])
        r = self.stack.request("GET", "/stats?x=1")
        self.assertEqual(r.status, 400, r)
        r = self.stack.request("POST", "/incidents", {"title": "t", "description": "d"},
                               headers={"Idempotency-Key": "has space"})
        self.assertEqual(r.status, 400, r)
        self.assertIn("Idempotency-Key", r.json["detail"])
        r = self.stack.request("PATCH", "/incidents/1", {"severity": "urgent"})
        self.assertEqual(r.status, 400, r)
        r = self.stack.request("PUT", "/settings", {"model": "bad model!"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(int(self.stack.scalar("SELECT count(*) FROM incidents")), 0)

    def test_query_is_form_decoded(self):
        # Browsers (URLSearchParams) send spaces as '+', and '+' itself as %2B.
        self.stack.submit(title="Disk Full on db-1")
        self.stack.submit(title="Disk+Full literally")
        self.stack.submit(title="Other thing")
        r = self.stack.request("GET", "/incidents?q=disk+full")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([i["title"] for i in r.json["items"]], ["Disk Full on db-1"])
        r = self.stack.request("GET", "/incidents?q=disk%2Bfull")
        self.assertEqual([i["title"] for i in r.json["items"]], ["Disk+Full literally"])

    def test_keep_alive_across_parked_requests(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        ids = []
        for i in range(20):
            conn.request("POST", "/incidents", body='{"title":"ka %d","description":""}' % i,
                         headers={"X-API-KEY": "secret123", "Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            self.assertEqual(r.status, 202, body)
            import json
            inc = json.loads(body)
            self.assertEqual(r.getheader("Location"), "/incidents/%d" % inc["id"])
            ids.append(inc["id"])
            conn.request("GET", "/incidents/%d" % inc["id"], headers={"X-API-KEY": "secret123"})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(json.loads(r.read())["title"], "ka %d" % i)
        conn.close()
        self.assertEqual(len(set(ids)), 20)


class GatewayKeysTest(PipelineTest):
    """Which keys work where: configured keys are checked before anything; other keys
    are looked up in the store."""

    def test_public_address_needs_configured_keys(self):
        self.stack.start_store()
        p = self.stack.start_gateway(env={"TRIAGE_HTTP_ADDR": "0.0.0.0", "TRIAGE_API_KEYS": ""},
                                     wait=False)
        self.assertEqual(p.popen.wait(20), 2)
        p.stop()  # closes its log
        self.assertIn("refusing to start on 0.0.0.0", p.text())
        self.assertIn("TRIAGE_API_KEYS", p.text())
        # a short key is refused off loopback, at start
        p = self.stack.start_gateway(env={"TRIAGE_HTTP_ADDR": "0.0.0.0",
                                          "TRIAGE_API_KEYS": "ops-key-1"}, wait=False)
        self.assertEqual(p.popen.wait(20), 2)
        p.stop()
        self.assertIn("shorter than 24 characters", p.text())
        self.stack.start_gateway(env={"TRIAGE_HTTP_ADDR": "0.0.0.0",
                                      "TRIAGE_API_KEYS": " ops-key-1-0123456789abcdef , "
                                                         "alerts-key-2-0123456789abcdef "})
        r = self.stack.request("GET", "/events", key="secret123")
        self.assertEqual(r.status, 401, r)  # the development key is off
        self.assertEqual(r.json["detail"], "unknown API key")
        r = self.stack.request("GET", "/stats", key=False,
                               headers={"Authorization": "Bearer alerts-key-2-0123456789abcdef"})
        self.assertEqual(r.status, 200, r)
        log = self.stack.procs["gateway"].text()
        for secret in ("ops-key-1", "alerts-key-2", "secret123"):
            self.assertNotIn(secret, log)

    def test_bad_configuration_is_refused_clearly(self):
        for env, word in (({"TRIAGE_HTTP_ADDR": "example.com"}, "TRIAGE_HTTP_ADDR"),
                          ({"TRIAGE_HTTP_PORT": "70000"}, "TRIAGE_HTTP_PORT"),
                          ({"TRIAGE_API_KEYS": "has space"}, "TRIAGE_API_KEYS"),
                          ({"TRIAGE_WEB_DIR": "/nonexistent/web"}, "TRIAGE_WEB_DIR")):
            p = self.stack.start_gateway(env=env, wait=False)
            self.assertNotEqual(p.popen.wait(20), 0, env)
            p.stop()
            self.assertIn(word, p.text())


if __name__ == "__main__":
    unittest.main()
