"""Small helpers for tests: waiting on conditions with a deadline, free ports, HTTP."""

import http.client
import json
import os
import socket
import threading
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


# Ports for servers the tests start, below the kernel's ephemeral range (32768-60999
# here): a port the kernel handed out for bind(0) is also one it hands to outgoing
# connections (HTTP clients, PostgreSQL over TCP), which took it before the server could
# bind it. Each test process walks its own stretch (by pid), so two suites side by side
# rarely meet; a port someone holds is skipped.
_PORT_LOW, _PORT_HIGH = 20000, 32000
_next_port = [None]
_port_lock = threading.Lock()


def free_port():
    with _port_lock:
        if _next_port[0] is None:
            span = _PORT_HIGH - _PORT_LOW
            _next_port[0] = _PORT_LOW + (os.getpid() * 97) % span
        for _ in range(_PORT_HIGH - _PORT_LOW):
            port = _next_port[0]
            _next_port[0] = port + 1 if port + 1 < _PORT_HIGH else _PORT_LOW
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("0.0.0.0", port))
                except OSError:
                    continue
                return port
        raise OSError("no free port between %d and %d" % (_PORT_LOW, _PORT_HIGH))


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


class SubmitLoad:
    """Clients POSTing distinct incidents in threads until finish(), spread over ports,
    keeping the client's own record: every answer's status, and the ids of those
    acknowledged (202). A refused or broken connection counts as no answer (nothing was
    acknowledged). more(n) waits for n more acknowledgements."""

    def __init__(self, ports, key, prefix, description, clients=4):
        self.ports, self.key = list(ports), key
        self.prefix, self.description = prefix, description
        self.accepted, self.answers = [], []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,))
                        for n in range(clients)]

    def _client(self, n):
        i = 0
        while not self.stop.is_set():
            port = self.ports[(n + i) % len(self.ports)]
            i += 1
            try:
                r = http_request(port, "POST", "/incidents",
                                 {"title": f"{self.prefix} {n}-{i}",
                                  "description": self.description},
                                 {"X-API-KEY": self.key}, timeout=15)
            except OSError:
                continue
            with self.lock:
                self.answers.append(r.status)
                if r.status == 202:
                    self.accepted.append(r.json["id"])

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def more(self, n, timeout=60):
        with self.lock:
            target = len(self.accepted) + n
        wait_for(lambda: len(self.accepted) >= target, timeout, f"{n} more acknowledged submits")

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)
