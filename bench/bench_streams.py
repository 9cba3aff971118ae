"""Benchmark: the gateway's resident memory with many live event streams (GET /events)
held open, and that each of them still receives what happens. Target: <= 64 MB of RSS
with 1,000 streams."""

import json
import socket
import time

from harness import wait_for


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_stream(port, key):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall((f"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-KEY: {key}\r\n"
               "Accept: text/event-stream\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("stream closed before its headers")
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    s.setblocking(False)
    return s


def drain(streams, needle):
    """Reads what each stream has; returns how many have seen needle so far."""
    seen = 0
    for st in streams:
        try:
            while True:
                chunk = st["sock"].recv(65536)
                if not chunk:
                    break
                st["buf"] += chunk
                st["buf"] = st["buf"][-4096:]
                if needle in st["buf"]:
                    st["seen"] = True
        except BlockingIOError:
            pass
        seen += st["seen"]
    return seen


def streams_rss(make_stack, loadavg, n=1000):
    stack = make_stack("bench-streams")
    try:
        stack.start_store()
        # every stream comes from this one address: its connection cap is off
        gw = stack.start_gateway(env={"TRIAGE_SSE_MAX_STREAMS": str(n + 16),
                                      "TRIAGE_HTTP_MAX_CONNS": str(n + 64),
                                      "TRIAGE_HTTP_MAX_CONNS_PER_ADDR": "0"})
        stack.wait_ready()
        load = loadavg()
        base = rss_kb(gw.pid)
        t0 = time.monotonic()
        streams = [{"sock": open_stream(stack.http_port, stack.key), "buf": b"", "seen": False}
                   for _ in range(n)]
        opened_s = time.monotonic() - t0
        inc = stack.submit(title="streams benchmark", description="one event to every stream")
        needle = f'"id":{inc["id"]}'.encode()
        t1 = time.monotonic()
        wait_for(lambda: drain(streams, needle) == n, 60, f"all {n} streams to see the event")
        fanout_ms = (time.monotonic() - t1) * 1000
        peak = rss_kb(gw.pid)
        for st in streams:
            st["sock"].close()
        res = {"streams": n, "rss_before_kb": base, "rss_with_streams_kb": peak,
               "rss_mb": round(peak / 1024, 1), "open_s": round(opened_s, 2),
               "event_to_all_ms": round(fanout_ms, 1), "loadavg_before": load}
        print(json.dumps({"gateway_streams": res}), flush=True)
        print(f"gateway with {n} live streams: RSS {res['rss_mb']} MB (before: "
              f"{round(base / 1024, 1)} MB), one event reached all in {res['event_to_all_ms']} ms "
              f"| target <= 64 MB", flush=True)
        return res
    finally:
        stack.close()
