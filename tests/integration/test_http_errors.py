"""Every error status of the HTTP contract, each with a JSON body naming what was wrong,
and each leaving the database unchanged."""

import socket
import time
import unittest

from harness import PipelineTest, http_request


class HttpErrorsTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.start_store()
        self.stack.start_gateway(env={"TRIAGE_STORE_TIMEOUT_MS": "1500"})
        self.stack.wait_ready()

    def count(self):
        return int(self.stack.scalar("SELECT count(*) FROM incidents"))

    def assert_error(self, r, status, mentions=None):
        self.assertEqual(r.status, status, r)
        body = r.json
        self.assertIsInstance(body.get("error"), str, r)
        self.assertIsInstance(body.get("detail"), str, r)
        if mentions:
            self.assertIn(mentions, body["detail"], r)

    def test_400_bad_bodies_change_nothing(self):
        cases = [
            ("{not json", None),
            ("[]", None),
            ('{"description": "x"}', "title"),
            ('{"title": "", "description": "x"}', "title"),
            ('{"title": "' + "t" * 201 + '", "description": "x"}', "title"),
            ('{"title": 5, "description": "x"}', "title"),
            ('{"title": "t"}', "description"),
            ('{"title": "t", "description": "' + "d" * (16 * 1024 + 1) + '"}', "description"),
            ('{"title": "t", "description": "x", "labels": {"a": {"b": "c"}}}', "labels"),
            ('{"title": "t", "description": "x", "labels": ["a"]}', "labels"),
            ('{"title": "t", "description": "x", "colour": "red"}', "colour"),
            ('{"title": "t", "description": "x", "source": "' + "s" * 256 + '"}', "source"),
            ('{"title": "t", "description": "x", "dedup_key": ""}', "dedup_key"),
            ('{"title": "t", "title": "u", "description": "x"}', None),
        ]
        labels = ",".join(f'"k{i}": "v"' for i in range(33))
        cases.append(('{"title": "t", "description": "x", "labels": {' + labels + '}}', "labels"))
        for body, field in cases:
            r = self.stack.request("POST", "/incidents", body,
                                   headers={"Content-Type": "application/json"})
            self.assert_error(r, 400, field)
        # Invalid UTF-8 in a string.
        r = self.stack.request("POST", "/incidents", b'{"title": "bad \xff\xfe", "description": ""}',
                               headers={"Content-Type": "application/json"})
        self.assert_error(r, 400)
        self.assertEqual(self.count(), 0)

    def test_title_counts_characters_not_bytes(self):
        ok = self.stack.request("POST", "/incidents", {"title": "é" * 200, "description": ""})
        self.assertEqual(ok.status, 202, ok)
        r = self.stack.request("POST", "/incidents", {"title": "é" * 201, "description": ""})
        self.assert_error(r, 400, "title")
        self.assertEqual(self.count(), 1)

    def test_401_missing_or_unknown_key(self):
        body = {"title": "t", "description": "x"}
        for kw in ({"key": False}, {"key": "wrong"},
                   {"key": False, "headers": {"Authorization": "Bearer wrong"}},
                   {"key": False, "headers": {"Authorization": "Basic c2VjcmV0MTIz"}}):
            r = self.stack.request("POST", "/incidents", body, **kw)
            self.assert_error(r, 401)
        r = self.stack.request("GET", "/incidents", key=False)
        self.assert_error(r, 401)
        self.assertEqual(self.count(), 0)
        # The key is never logged.
        self.assertNotIn("secret123", self.stack.procs["gateway"].text())

    def test_415_not_json(self):
        r = self.stack.request("POST", "/incidents", '{"title":"t","description":"x"}',
                               headers={"Content-Type": "text/plain"})
        self.assert_error(r, 415)
        self.assertEqual(self.count(), 0)

    def test_404_and_405(self):
        self.assert_error(self.stack.request("GET", "/nope"), 404)
        self.assert_error(self.stack.request("GET", "/incidents/999999"), 404)
        self.assert_error(self.stack.request("POST", "/incidents/999999/acknowledge"), 404)
        r = self.stack.request("DELETE", "/incidents")
        self.assert_error(r, 405)
        allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
        self.assertEqual(allow, {"GET", "POST"})

    def test_413_refused_without_reading_the_body(self):
        # Announce 10 MB but send nothing: the answer must come at once.
        s = socket.create_connection(("127.0.0.1", self.stack.http_port), timeout=10)
        s.sendall(b"POST /incidents HTTP/1.1\r\nHost: x\r\nX-API-KEY: secret123\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])

    def test_413_chunked_body_over_the_limit(self):
        s = socket.create_connection(("127.0.0.1", self.stack.http_port), timeout=10)
        s.sendall(b"POST /incidents HTTP/1.1\r\nHost: x\r\nX-API-KEY: secret123\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"a" * 8192
        data = b""
        try:
            for _ in range(20):  # 160 KiB, over the 64 KiB limit
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the gateway may close as soon as it has answered
        try:
            while b"\r\n\r\n" not in data:
                got = s.recv(4096)
                if not got:
                    break
                data += got
        except OSError:
            pass
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])
        self.assertEqual(self.count(), 0)

    def test_503_when_the_store_is_down_then_recovers(self):
        self.stack.stop("store")
        t0 = time.monotonic()
        r = self.stack.request("POST", "/incidents", {"title": "t", "description": "x"})
        elapsed = time.monotonic() - t0
        self.assert_error(r, 503)
        self.assertIsNotNone(r.header("Retry-After"))
        self.assertLess(elapsed, 5.0)
        self.assertEqual(self.stack.request("GET", "/readyz", key=False).status, 503)
        self.assertEqual(self.count(), 0)
        self.stack.start_store()
        self.stack.wait_ready()
        self.assertEqual(self.stack.request("POST", "/incidents",
                                            {"title": "t", "description": "x"}).status, 202)

    def test_healthz_needs_no_store(self):
        self.stack.stop("store")
        r = http_request(self.stack.http_port, "GET", "/healthz")
        self.assertEqual(r.status, 200, r)


class GatewayStartupTest(PipelineTest):
    def test_refuses_public_address_without_a_key(self):
        p = self.stack.start_gateway(env={"TRIAGE_HTTP_ADDR": "0.0.0.0", "TRIAGE_API_KEYS": ""},
                                     wait=False)
        code = p.expect_exit(20)
        self.assertNotEqual(code, 0)
        self.assertIn("TRIAGE_API_KEYS", p.text())

    def test_configured_keys_replace_the_development_key(self):
        self.stack.start_store()
        self.stack.start_gateway(env={"TRIAGE_API_KEYS": "k-one,k-two"})
        self.stack.wait_ready()
        body = {"title": "t", "description": "x"}
        self.assertEqual(self.stack.request("POST", "/incidents", body, key="k-two").status, 202)
        self.assertEqual(self.stack.request("POST", "/incidents", body).status, 401)
        # Idempotency keys are namespaced by API key.
        a = self.stack.request("POST", "/incidents", body, key="k-one",
                               headers={"Idempotency-Key": "same"})
        b = self.stack.request("POST", "/incidents", body, key="k-two",
                               headers={"Idempotency-Key": "same"})
        self.assertNotEqual(a.json["id"], b.json["id"])


if __name__ == "__main__":
    unittest.main()
