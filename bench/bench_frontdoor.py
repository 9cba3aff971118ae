"""Front-door figures for bench.py: the latency of normal requests (GET /incidents with
a key, a fresh connection each) alone and while 1,000 slowloris connections from 8
loopback addresses trickle unfinished headers. Target: every normal request answered
within 1 s while the slow connections are held."""

import http.client
import json
import socket
import threading
import time

from harness import Stack

KEY = "bench-admin-key-0123456789abcdefgh"


def _latencies(port, n):
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request("GET", "/incidents?limit=5", headers={"X-API-KEY": KEY})
            r = c.getresponse()
            r.read()
            ok = r.status == 200
        except OSError:
            ok = False
        finally:
            c.close()
        out.append((time.monotonic() - t0) * 1000 if ok else float("inf"))
    return sorted(out)


def _summary(lat):
    def pct(p):
        return round(lat[min(len(lat) - 1, int(len(lat) * p))], 1)
    return {"n": len(lat), "failed": sum(1 for x in lat if x == float("inf")),
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 1)}


def slowloris(pg, loadavg, n_slow=1000, n_requests=50):
    stack = Stack("bench-slowloris", pg, env={"TRIAGE_LOG_LEVEL": "warn", "TRIAGE_API_KEYS": KEY})
    conns = []
    stop = threading.Event()
    try:
        stack.key = KEY
        stack.start_store()
        stack.start_gateway()
        stack.wait_ready()
        port = stack.http_port
        base = _summary(_latencies(port, n_requests))
        for i in range(n_slow):
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
        attacked = _summary(_latencies(port, n_requests))
        res = {"slow_connections": n_slow, "alone": base, "with_slowloris": attacked,
               "loadavg": loadavg()}
        print(json.dumps({"slowloris": res}), flush=True)
        return res
    finally:
        stop.set()
        for s in conns:
            s.close()
        stack.close()
