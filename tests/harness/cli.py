"""Runs a whole private pipeline for tests written in other languages (the browser
tests): PostgreSQL, the fake LLM server, store, gateway and enrichers.

    python3 -m harness.cli --info /tmp/stack.json [--enrichers 2] [--llm fake|rules] [--notifier]

Writes {"url", "key", "port", "fakellm_url", "control_url", "pid"} to the info file once
the gateway is ready (with --notifier also a triage-notifier and "receiver_url", a local
webhook receiver answering 200), then serves a control API on loopback until SIGTERM/SIGINT:
    POST /gateway/restart   stop the gateway (SIGTERM) and start it again, ready
    POST /gateway/stop      stop it;   POST /gateway/start  start it again
Exits non-zero if any process printed a sanitizer report."""

import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .pg import Postgres
from .receiver import Receiver
from .stack import Stack


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--info", required=True)
    ap.add_argument("--enrichers", type=int, default=2)
    ap.add_argument("--llm", choices=("fake", "rules"), default="fake")
    ap.add_argument("--name", default="browser")
    ap.add_argument("--notifier", action="store_true")
    args = ap.parse_args()

    pg = Postgres().start()
    stack = Stack(args.name, pg)
    lock = threading.Lock()
    status = {"code": 0}

    class Control(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            with lock:
                try:
                    if self.path == "/gateway/restart":
                        stack.stop("gateway")
                        stack.start_gateway()
                    elif self.path == "/gateway/stop":
                        stack.stop("gateway")
                    elif self.path == "/gateway/start":
                        stack.start_gateway()
                    else:
                        self.send_error(404)
                        return
                except Exception as e:  # reported to the test, which fails
                    body = json.dumps({"error": str(e)}).encode()
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = False
    receiver = None
    try:
        stack.start_all(enrichers=args.enrichers, llm=args.llm)
        if args.notifier:
            receiver = Receiver()
            stack.start_notifier(env={"TRIAGE_NOTIFY_POLL_MS": "100"})
        threading.Thread(target=server.serve_forever, daemon=True).start()
        serving = True
        info = {"url": f"http://127.0.0.1:{stack.http_port}", "port": stack.http_port,
                "key": stack.key, "control_url": f"http://127.0.0.1:{server.server_port}",
                "fakellm_url": stack.fakellm.url if stack.fakellm else None,
                "logs": stack.dir, "pid": os.getpid(),
                "receiver_url": receiver.url if receiver else None}
        tmp = args.info + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, args.info)
        stop.wait()
    finally:
        if serving:
            server.shutdown()
        if receiver:
            receiver.close()
        try:
            stack.close()
        except AssertionError as e:
            print(e, file=sys.stderr)
            status["code"] = 1
        pg.destroy()
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
