"""Small helpers for tests: waiting on conditions with a deadline, free ports, HTTP."""

import http.client
import json
import socket
import time


def wait_for(cond, timeout=10.0, what="condition", interval=0.02):
    """Polls cond() until it returns something truthy, and returns that. Fails the test
    with what it was waiting for when timeout seconds pass. This is the only way tests
    wait: never a bare sleep."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except (ConnectionError, OSError, http.client.HTTPException) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def http_request(port, method, path, body=None, headers=None, timeout=30.0, host="127.0.0.1"):
    """One HTTP/1.1 request on a fresh connection. body may be bytes, str or a JSON-able
    object (sent as application/json)."""
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.getheaders(), data.decode("utf-8", "replace"))
    finally:
        conn.close()
