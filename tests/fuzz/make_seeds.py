#!/usr/bin/env python3
"""Writes the checked-in seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).
Run again after changing a message or a payload; the fuzzers grow their own corpora in
temporary folders, so these stay small and reviewable."""

import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def mp(v):
    """A minimal msgpack encoder (enough for our messages)."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b \
            if len(b) < 256 else b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


MESSAGES = {
    "submit": [1, 1, {"request_id": "r1", "title": "Disk full", "description": "at 100%",
                      "source": "alertmanager", "labels": {"env": "prod"}}],
    "query": [1, 2, {"request_id": "r2", "op": 2, "params": {"status": "triaged"}}],
    "reply": [1, 3, {"request_id": "r3", "code": 0, "json": "{\"id\":1}"}],
    "job": [1, 4, {"incident_id": 9, "attempt": 1, "lease_deadline_ms": 1764075600123,
                   "title": "t", "description": "d"}],
    "result": [1, 5, {"incident_id": 9, "attempt": 1, "enricher_id": "e", "outcome": 1,
                      "summary": "s", "severity": "high", "category": "storage",
                      "backend": "rules", "actions": ["a", "b"], "confidence": 0.5}],
    "heartbeat": [1, 6, {"enricher_id": "e", "slots": 4, "busy": 1}],
    "event": [1, 7, {"epoch": 1, "seq": 2, "incident_id": 3, "version": 1, "kind": "created",
                     "status": "submitted"}],
    "events_sync": [1, 10, {"epoch": 1, "seq": 2}],
    "submit_batch": [1, 13, {"request_id": "b1", "confirms": ["r0"], "submits": [
        {"request_id": "r1", "title": "Disk full", "description": "at 100%",
         "labels": {"env": "prod"}, "deadline_ms": 1764075603000, "retry_key": "k1"},
        {"request_id": "r2", "title": "Disk full", "description": "",
         "dedup_key": "d1"}]}],
    "batch_reply": [1, 14, {"request_id": "b1", "replies": [
        {"request_id": "r1", "code": 0, "created": True, "incident_id": 7, "json": "{}"},
        {"request_id": "r2", "code": 1, "json": "{\"error\":\"invalid\"}"}]}],
    "wrong_version": [2, 1, {}],
    "unknown_type": [1, 99, {}],
}

ANSWER = {"summary": "The disk is full.", "severity": "high", "category": "storage",
          "suggested_actions": ["Free space", "Grow the volume"], "confidence": 0.8}
LLM = {
    "ollama": json.dumps({"model": "phi3:mini", "message": {"role": "assistant",
                          "content": json.dumps(ANSWER)}, "done": True,
                          "prompt_eval_count": 10, "eval_count": 20}),
    "ollama_error": json.dumps({"error": "model not found"}),
    "openai": json.dumps({"choices": [{"message": {"content": json.dumps(ANSWER)},
                                       "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 10, "completion_tokens": 20}}),
    "answer": json.dumps(ANSWER),
    "oneshot": json.dumps({"title": "Disk full", "description": "at 100%",
                           "labels": {"env": "prod"}}),
}
GATEWAY = {
    "submit": json.dumps({"title": "Disk Full", "description": "Production disk at 100%",
                          "source": "curl", "labels": {"team": "ops"}}),
    "override": json.dumps({"severity": "low", "category": None}),
    "settings": json.dumps({"model": "phi3:mini"}),
    "params": "status=triaged&severity=high&q=disk&limit=50&cursor=abc",
    "id": "12345",
    "unescape": "a%20b+c%zz",
    "idem": "key-1",
}
# The first byte of a gateway or llm input chooses the function (see the targets).
GATEWAY_SEL = {"submit": 0, "override": 1, "settings": 2, "params": 3, "id": 4,
               "unescape": 5, "idem": 6}
LLM_SEL = {"ollama": 0, "ollama_error": 0, "openai": 1, "answer": 2, "oneshot": 3}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for name, m in MESSAGES.items():
    write("fuzz_proto_decode", name, mp(m))
for name, text in GATEWAY.items():
    write("fuzz_gw_validate", name, bytes([GATEWAY_SEL[name]]) + text.encode())
for name, text in LLM.items():
    write("fuzz_llm_answer", name, bytes([LLM_SEL[name]]) + text.encode())
