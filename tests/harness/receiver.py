"""A local webhook receiver for notification tests: a real HTTP server on 127.0.0.1 that
records every request (headers, body, arrival time) and answers as told: a status (200,
500, 429 with Retry-After, ...) or a hang (the request is read and recorded, and the
answer held until release() or close())."""

import hashlib
import hmac
import http.server
import json
import threading
import time


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []          # dicts: path, headers (lower-case keys), body, json, at
        self.script = []            # answers to give next, in order, before the default
        self.default = (200, {})
        self.released = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as separate writes: without TCP_NODELAY each answer
            # waits for the client's delayed ACK (~40 ms)
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                rec = {"path": self.path, "body": body, "at": time.monotonic(),
                       "headers": {k.lower(): v for k, v in self.headers.items()}}
                try:
                    rec["json"] = json.loads(body)
                except ValueError:
                    rec["json"] = None
                with receiver.lock:
                    receiver.requests.append(rec)
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == "hang":
                    receiver.released.wait(120)
                    self.close_connection = True
                    return
                status, headers = answer
                payload = b'{"ok":true}' if status < 300 else b'{"error":"scripted"}'
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, *answers, default=None):
        """Queues answers: (status, headers) tuples or "hang"; default replaces the
        answer given once the queue is empty."""
        with self.lock:
            self.script.extend(answers)
            if default is not None:
                self.default = default

    def got(self):
        with self.lock:
            return list(self.requests)

    def release(self):
        self.released.set()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def signature_ok(secret, body, header):
    """True if header is "sha256=" + the hex HMAC-SHA256 of body under secret."""
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, header or "")
