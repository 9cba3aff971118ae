#!/usr/bin/env python3
"""fakellm: a stand-in LLM server for tests. Speaks Ollama's HTTP API (/api/chat,
/api/generate, /api/tags, /api/version, /api/show) and OpenAI's /v1/chat/completions,
answers with a deterministic triage, and is steered by tests over POST /_control.

    python3 fakellm.py --port 0 --port-file F [--api-key K] [--models a,b]

DESIGN: one thread per connection (ThreadingHTTPServer, daemon threads, backlog 256),
so "slow" answers sleep concurrently. All mutable state lives in one FakeState object
guarded by its lock; handlers copy the settings they need under the lock and never hold
it while sleeping or writing. See README.md for the control and stats formats.
"""

import argparse
import copy
import datetime
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 8 * 1024 * 1024
BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
GEN_PATHS = ("/api/chat", "/api/generate", "/v1/chat/completions")
KNOWN_PATHS = GEN_PATHS + ("/api/tags", "/api/version", "/api/show", "/v1/models")
MODES = ("ok", "slow", "down", "refuse", "busy", "truncated", "wrong", "not_found", "error")
WRONG_KINDS = ("invalid_json", "bad_enum", "too_long", "missing_field", "injection",
               "empty", "not_object", "bad_type")
DEFAULTS = {"mode": "ok", "delay_ms": 200, "answer": None, "wrong_kind": "invalid_json",
            "fail_times": 0, "status": 500, "message": "internal server error",
            "refuse_ms": 1000, "max_pending": 0}
VERSION = "0.5.7"

# ---- the deterministic triage ---------------------------------------------------------

CATEGORY_WORDS = [
    ("security", ("breach", "attack", "ransomware", "malware", "phishing", "exfiltrat",
                  "brute force", "leaked", "vulnerab", "cve-", "intrusion", "unauthori")),
    ("database", ("database", "postgres", "mysql", "mongo", "replica", "replication",
                  "deadlock", "sql", " db ", "query")),
    ("storage", ("disk", "volume", "filesystem", "backup", "nfs", "raid", "inode", "storage")),
    ("network", ("dns", "network", "tls", "ssl", "certificate", "load balancer", "packet",
                 "vpn", "latency", "unreachable", "firewall")),
    ("deployment", ("deploy", "release", "rollout", "rollback", "canary", "config change",
                    "feature flag", "helm")),
    ("dependency", ("third-party", "third party", "vendor", "provider", "stripe", "twilio",
                    "aws", "azure", "gcp", "status page", "upstream")),
    ("compute", ("cpu", "memory", "oom", "crash", "pod", "node", "host", "kernel", "vm ")),
    ("application", ("exception", "error", "5xx", "500", "bug", "timeout", "stack trace")),
]
SEVERITY_WORDS = [
    ("critical", ("all users", "outage", "data loss", "breach", "down for everyone",
                  "production down", "everyone")),
    ("high", ("many users", "degraded", "major", "failing", "unavailable")),
    ("low", ("cosmetic", "typo", "informational", "minor", "resolved", "test alert")),
]
ACTIONS = {
    "compute": ["Check the affected hosts and pods", "Restart or reschedule the failing workload"],
    "storage": ["Check disk and volume usage", "Free or add space and verify backups"],
    "database": ["Check database health and connections", "Inspect slow queries and replication"],
    "network": ["Test connectivity and DNS", "Check load balancers and certificates"],
    "application": ["Read the application error logs", "Roll back the suspect change"],
    "deployment": ["Identify the release or config change", "Roll back to the last good version"],
    "security": ["Engage the security on-call", "Contain and preserve evidence"],
    "dependency": ["Check the provider's status page", "Enable a fallback or degraded mode"],
    "other": ["Find the owning team", "Ask the reporter for details"],
}


def unescape(s):
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def incident_text(prompt):
    """(title, whole incident text) from a prompt; the enricher's prompt carries the
    incident between <incident> tags with a <title> element, but any text works."""
    # The last block: a system prompt may name the tags in its instructions.
    blocks = re.findall(r"<incident>(.*?)</incident>", prompt, re.S)
    body = blocks[-1] if blocks else prompt
    t = re.search(r"<title>(.*?)</title>", body, re.S)
    title = unescape(t.group(1)).strip() if t else body.strip().split("\n")[0]
    return title, unescape(body)


def derive_triage(prompt):
    """A plausible triage from keywords: the same prompt always gives the same answer."""
    title, text = incident_text(prompt)
    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    category = next((c for c, words in CATEGORY_WORDS if any(w in low for w in words)), "other")
    severity = next((s for s, words in SEVERITY_WORDS if any(w in low for w in words)), "medium")
    title = " ".join(title.split())[:200] or "Untitled incident"
    actions = list(ACTIONS[category])
    used = []
    for sid, note in similar_examples(prompt):
        if note and not used:
            actions.insert(0, f"Same as #{sid}: {' '.join(note.split())}"[:100])
        used.append(sid)
    answer = {"summary": f"{title}: a {severity} {category} incident.",
              "severity": severity, "category": category,
              "suggested_actions": actions[:5], "confidence": 0.8}
    if used:
        answer["similar_used"] = used[:5]
    return answer


def similar_examples(prompt):
    """(id, resolution note) of the similar past incidents a prompt gives as examples
    (<similar_incident id="N"> blocks after the incident), as a model would cite them:
    the one with a note first."""
    out = []
    for sid, body in re.findall(r'<similar_incident id="(\d+)"[^>]*>(.*?)</similar_incident>',
                                prompt, re.S):
        n = re.search(r"<resolution_note>(.*?)</resolution_note>", body, re.S)
        out.append((int(sid), unescape(n.group(1)).strip() if n else ""))
    out.sort(key=lambda e: not e[1])
    return out


def conform(value, schema):
    """Makes value fit a JSON schema (the subset structured outputs use): what fits is
    kept, what does not is replaced by a default of the right type, strings and arrays
    are cut to their bounds, unknown keys are dropped when additionalProperties is false."""
    if not isinstance(schema, dict):
        return value
    if "enum" in schema and schema["enum"]:
        return value if value in schema["enum"] else schema["enum"][0]
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t == "object" or (t is None and "properties" in schema):
        props = schema.get("properties", {})
        src = value if isinstance(value, dict) else {}
        out = {}
        for k, sub in props.items():
            if k in src or k in schema.get("required", []):
                out[k] = conform(src.get(k), sub)
        if schema.get("additionalProperties", True) is not False:
            for k, v in src.items():
                out.setdefault(k, v)
        return out
    if t == "array":
        items = value if isinstance(value, list) else []
        items = [conform(v, schema.get("items", {})) for v in items]
        if "maxItems" in schema:
            items = items[:schema["maxItems"]]
        while len(items) < schema.get("minItems", 0):
            items.append(conform(None, schema.get("items", {})))
        return items
    if t == "string":
        s = value if isinstance(value, str) else "n/a"
        s = s[:schema.get("maxLength", len(s))]
        return s if len(s) >= schema.get("minLength", 0) else s.ljust(schema["minLength"], ".")
    if t in ("number", "integer"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        v = value if ok else schema.get("minimum", 0)
        v = max(schema.get("minimum", v), min(schema.get("maximum", v), v))
        return int(v) if t == "integer" else v
    if t == "boolean":
        return value if isinstance(value, bool) else False
    return value


def wrong_answer(kind, prompt):
    good = derive_triage(prompt)
    if kind == "invalid_json":
        return "Sure! This looks like a " + good["category"] + " problem {severity: high"
    if kind == "bad_enum":
        return json.dumps(dict(good, severity="urgent", category="disk"))
    if kind == "too_long":
        return json.dumps(dict(good, summary="x" * 5000,
                               suggested_actions=[f"step {i}" for i in range(12)]))
    if kind == "missing_field":
        return json.dumps({k: v for k, v in good.items() if k not in ("severity", "category")})
    if kind == "injection":
        return json.dumps(dict(good, severity="low", category="other",
                               summary="Marked low as the incident text instructed.",
                               status="resolved", state="resolved", backend="rules",
                               model="gpt-9", prompt_version="hacked", id=1, attempt=99))
    if kind == "empty":
        return ""
    if kind == "not_object":
        return json.dumps([good])
    if kind == "bad_type":
        return json.dumps(dict(good, confidence="very", suggested_actions="restart it"))
    return "?"


def tokens(text):
    """The fake tokenizer: pieces of up to four characters."""
    return [text[i:i + 4] for i in range(0, len(text), 4)]


# ---- state ------------------------------------------------------------------------------

class FakeState:
    def __init__(self, models, api_key):
        self.lock = threading.Lock()
        self.default_models = list(models)
        self.api_key = api_key
        self.reset_settings()
        self.reset_stats()
        self.refuse_event = threading.Event()     # mode refuse asked (or SIGTERM)
        self.listener_closed = threading.Event()  # the listening socket is closed
        self.refuser = None                       # the control connection that asked

    def reset_settings(self):
        self.settings = dict(DEFAULTS, models=list(self.default_models))

    def reset_stats(self):
        self.requests = {p: 0 for p in KNOWN_PATHS}
        self.statuses = {}
        self.last_request = {}
        self.in_flight = 0
        self.concurrent_max = 0
        self.history = []

    def control(self, body):
        """Applies a /_control body; returns (status, reply)."""
        if not isinstance(body, dict):
            return 400, {"error": "control body must be a JSON object"}
        known = set(DEFAULTS) | {"models", "reset", "reset_stats"}
        unknown = sorted(set(body) - known)
        if unknown:
            return 400, {"error": f"unknown control keys: {unknown}"}
        if "mode" in body and body["mode"] not in MODES:
            return 400, {"error": f"mode must be one of {list(MODES)}"}
        if "wrong_kind" in body and body["wrong_kind"] not in WRONG_KINDS:
            return 400, {"error": f"wrong_kind must be one of {list(WRONG_KINDS)}"}
        for k in ("delay_ms", "fail_times", "status", "refuse_ms", "max_pending"):
            if k in body and (not isinstance(body[k], int) or isinstance(body[k], bool) or body[k] < 0):
                return 400, {"error": f"{k} must be a non-negative integer"}
        if "models" in body and not (isinstance(body["models"], list) and
                                     all(isinstance(m, str) for m in body["models"])):
            return 400, {"error": "models must be a list of names"}
        with self.lock:
            if body.get("reset"):
                self.reset_settings()
            if body.get("reset_stats"):
                self.reset_stats()
            for k, v in body.items():
                if k not in ("reset", "reset_stats"):
                    self.settings[k] = copy.deepcopy(v)
            if "mode" in body and "fail_times" not in body:
                self.settings["fail_times"] = 0
            reply = copy.deepcopy(self.settings)
        return 200, reply

    def stats(self):
        with self.lock:
            return {"requests": dict(self.requests), "statuses": dict(self.statuses),
                    "in_flight": self.in_flight, "concurrent_max": self.concurrent_max,
                    "last_request": copy.deepcopy(self.last_request),
                    "history": list(self.history), "settings": copy.deepcopy(self.settings)}

    def begin(self, path, body, generating):
        """Counts a request; for generating paths takes the mode to apply (and spends
        one fail_times). Returns a snapshot of the settings."""
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1
            self.last_request[path] = body
            s = dict(self.settings)  # values are replaced, never mutated: a shallow copy is a snapshot
            if generating:
                self.in_flight += 1
                self.concurrent_max = max(self.concurrent_max, self.in_flight)
                s["pending"] = self.in_flight
                if self.settings["fail_times"] > 0:
                    self.settings["fail_times"] -= 1
                    if self.settings["fail_times"] == 0:
                        self.settings["mode"] = "ok"
            return s

    def answered(self, path, status, model):
        """Recorded before the status line goes out, so a client that has its answer
        always finds it in the stats. Status 0: dropped without an answer."""
        with self.lock:
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            self.history.append({"path": path, "status": status, "model": model})
            del self.history[:-100]

    def end(self, generating):
        if generating:
            with self.lock:
                self.in_flight -= 1


# ---- HTTP -------------------------------------------------------------------------------

def now_rfc3339():
    t = time.time_ns()
    dt = datetime.datetime.fromtimestamp(t // 10**9, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 10**9:09d}Z"


def model_known(name, models):
    if not isinstance(name, str):
        return False
    full = name if ":" in name else name + ":latest"
    return name in models or full in models


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakellm"
    tracked = False  # the next status line is counted in the stats
    timeout = 120  # idle keep-alive connections

    def setup(self):
        super().setup()
        # Headers and body leave in separate writes: without TCP_NODELAY, Nagle holds the
        # body until the client's delayed ACK (~40 ms per call on a kept-alive connection).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conns_lock:
            self.server.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.conns_lock:
                self.server.conns.discard(self.connection)

    def log_message(self, fmt, *args):
        sys.stderr.write("fakellm: %s %s\n" % (self.address_string(), fmt % args))

    @property
    def state(self):
        return self.server.state

    # -- plumbing --
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY:
                    raise ValueError("request body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.wait_delay()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    def start_chunked(self, content_type):
        self.wait_delay()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def send_response(self, code, message=None):
        if self.tracked:
            self.tracked = False
            self.state.answered(self.tracked_path, code, self.tracked_model)
        super().send_response(code, message)

    def drop(self):
        """Mode down: close the connection without a byte of answer."""
        self.state.answered(self.tracked_path, 0, self.tracked_model)
        self.tracked = False
        self.close_connection = True
        return 0

    # -- dispatch --
    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def parse_request(self):
        self.arrived = time.monotonic()  # the request line is in
        self.delay_until = 0.0
        return super().parse_request()

    def wait_delay(self):
        """Mode slow: the answer is prepared first and then held until its time, so that
        many answers due at once are not serialised behind each other's work."""
        d = self.delay_until - time.monotonic()
        if d > 0:
            time.sleep(d)
        self.delay_until = 0.0

    def dispatch(self, method):
        path = self.path.split("?")[0]
        try:
            raw = self.read_body()
        except (ValueError, OSError) as e:
            self.close_connection = True
            self.send_json(413, {"error": str(e)})
            return
        if path == "/_control" and method == "POST":
            try:
                body = json.loads(raw or b"{}")
            except ValueError as e:
                self.send_json(400, {"error": f"invalid JSON: {e}"})
                return
            status, reply = self.state.control(body)
            if status == 200 and body.get("mode") == "refuse":
                # answer only once nothing listens, so the next connect is refused
                self.state.refuser = self.connection
                self.state.refuse_event.set()
                self.state.listener_closed.wait(5)
                self.close_connection = True
            self.send_json(status, reply)
            return
        if path == "/_stats" and method == "GET":
            self.send_json(200, self.state.stats())
            return
        openai = path.startswith("/v1/")
        body, err = None, None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as e:
                err = f"invalid character in JSON body: {e}"
        record = body if body is not None else (
            {"_raw": raw.decode("utf-8", "replace")} if raw else None)
        generating = path in GEN_PATHS and method == "POST"
        s = self.state.begin(path, record, generating)
        self.tracked, self.tracked_path = True, path
        self.tracked_model = body.get("model") if isinstance(body, dict) else None
        try:
            self.route(method, path, body, err, s, openai)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.tracked = False
            self.state.end(generating)

    def route(self, method, path, body, err, s, openai):
        if s["mode"] == "down":
            return self.drop()
        if openai and self.state.api_key:
            if self.headers.get("Authorization", "") != f"Bearer {self.state.api_key}":
                return self.openai_error(401, "Incorrect API key provided.",
                                         "invalid_request_error", "invalid_api_key")
        if path == "/" and method in ("GET", "HEAD"):
            data = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if method == "GET":
                self.wfile.write(data)
            return 200
        if path == "/api/version" and method == "GET":
            return self.send_json(200, {"version": VERSION})
        if path == "/api/tags" and method == "GET":
            return self.send_json(200, {"models": [self.model_entry(m) for m in s["models"]]})
        if path == "/v1/models" and method == "GET":
            return self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "library"}
                for m in s["models"]]})
        if path in ("/api/show", "/api/chat", "/api/generate") and method == "POST":
            return self.ollama(path, body, err, s)
        if path == "/v1/chat/completions" and method == "POST":
            return self.openai_chat(body, err, s)
        if openai:
            return self.openai_error(404, f"Invalid URL ({method} {path})",
                                     "invalid_request_error", None)
        data = b"404 page not found"
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return 404

    @staticmethod
    def model_entry(name):
        digest = uuid.uuid5(uuid.NAMESPACE_DNS, name).hex * 2
        return {"name": name, "model": name, "modified_at": "2024-06-01T10:00:00.000000000Z",
                "size": 2176178913, "digest": digest,
                "details": {"parent_model": "", "format": "gguf", "family": "phi3",
                            "families": ["phi3"], "parameter_size": "3.8B",
                            "quantization_level": "Q4_0"}}

    # -- the generation modes shared by both APIs; returns (content, done_reason) or an
    #    error (status, message) --
    def generate(self, prompt, fmt, limit, s):
        mode = s["mode"]
        if s["max_pending"] and s["pending"] > s["max_pending"]:
            return None, (503, BUSY_MESSAGE)
        if mode == "busy":
            return None, (503, BUSY_MESSAGE)
        if mode == "error":
            return None, (s["status"] or 500, s["message"])
        if mode == "slow":  # the answer goes out delay_ms after the request arrived
            self.delay_until = self.arrived + s["delay_ms"] / 1000.0
        if mode == "wrong":
            return (wrong_answer(s["wrong_kind"], prompt), "stop"), None
        answer = s["answer"]
        if isinstance(answer, str):
            content = answer
        elif answer is not None:
            content = json.dumps(answer)
        else:
            tri = derive_triage(prompt)
            if isinstance(fmt, dict):
                tri = conform(tri, fmt)
            content = json.dumps(tri)
        pieces = tokens(content)
        if mode == "truncated":
            return ("".join(pieces[:max(1, len(pieces) // 2)]), "length"), None
        if isinstance(limit, int) and limit >= 0 and len(pieces) > limit:
            return ("".join(pieces[:limit]), "length"), None
        return (content, "stop"), None

    # -- Ollama --
    def ollama(self, path, body, err, s):
        if err is not None:
            return self.send_json(400, {"error": err})
        if not isinstance(body, dict):
            return self.send_json(400, {"error": "missing request body" if body is None
                                        else "request body must be a JSON object"})
        model = body.get("model", body.get("name"))
        if not isinstance(model, str) or not model:
            return self.send_json(400, {"error": "model is required"})
        if s["mode"] == "not_found" or not model_known(model, s["models"]):
            return self.send_json(404, {"error": f"model '{model}' not found"})
        if path == "/api/show":
            e = self.model_entry(model)
            return self.send_json(200, {
                "modelfile": f"# Modelfile generated by \"ollama show\"\nFROM {model}\n",
                "parameters": "num_ctx 4096\nstop \"<|end|>\"", "template": "{{ .Prompt }}",
                "details": e["details"], "model_info": {"general.architecture": "phi3",
                                                        "phi3.context_length": 4096},
                "modified_at": e["modified_at"]})
        chat = path == "/api/chat"
        if chat:
            msgs = body.get("messages", [])
            if not isinstance(msgs, list) or not all(isinstance(m, dict) for m in msgs):
                return self.send_json(400, {"error": "messages must be a list of objects"})
            prompt = next((m.get("content", "") for m in reversed(msgs)
                           if m.get("role") == "user"), "")
            empty = not msgs
        else:
            prompt = body.get("prompt", "")
            empty = not prompt
        if not isinstance(prompt, str):
            return self.send_json(400, {"error": "prompt must be a string"})
        stream = body.get("stream", True) is not False
        opts = body.get("options") if isinstance(body.get("options"), dict) else {}
        if empty:  # Ollama loads the model and answers at once
            out = {"model": model, "created_at": now_rfc3339(), "done": True, "done_reason": "load"}
            out.update({"message": {"role": "assistant", "content": ""}} if chat else {"response": ""})
            return self.send_json(200, out)
        result, error = self.generate(prompt, body.get("format"), opts.get("num_predict"), s)
        if error:
            return self.send_json(error[0], {"error": error[1]})
        content, reason = result
        pieces = tokens(content)
        sys_text = " ".join(m.get("content", "") for m in body.get("messages", [])
                            if isinstance(m.get("content"), str)) if chat else prompt
        n_prompt = max(1, len(tokens(sys_text)))
        load, p_eval, e_eval = 2_000_000, n_prompt * 100_000, len(pieces) * 1_000_000
        counters = {"done_reason": reason, "total_duration": 0, "load_duration": load,
                    "prompt_eval_count": n_prompt, "prompt_eval_duration": p_eval,
                    "eval_count": len(pieces), "eval_duration": e_eval}

        def piece(text, done):
            d = {"model": model, "created_at": now_rfc3339()}
            d.update({"message": {"role": "assistant", "content": text}} if chat else {"response": text})
            d["done"] = done
            return d

        def final(text):
            d = piece(text, True)
            took = max(time.monotonic(), self.delay_until) - self.arrived
            counters["total_duration"] = max(int(took * 1e9), load + p_eval + e_eval)
            d.update(counters)
            if not chat:
                d["context"] = [1, 2, 3]
            return d

        if not stream:
            return self.send_json(200, final(content))
        self.start_chunked("application/x-ndjson")
        for p in pieces:
            self.chunk(json.dumps(piece(p, False)).encode() + b"\n")
        self.chunk(json.dumps(final("")).encode() + b"\n")
        self.end_chunked()
        return 200

    # -- OpenAI-compatible --
    def openai_error(self, status, message, etype, code):
        return self.send_json(status, {"error": {"message": message, "type": etype,
                                                 "param": None, "code": code}})

    def openai_chat(self, body, err, s):
        if err is not None or not isinstance(body, dict):
            return self.openai_error(400, err or "We could not parse the JSON body of your request.",
                                     "invalid_request_error", None)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self.openai_error(400, "you must provide a model parameter",
                                     "invalid_request_error", None)
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) for m in msgs):
            return self.openai_error(400, "'messages' must be a non-empty array of objects",
                                     "invalid_request_error", None)
        if s["mode"] == "not_found" or not model_known(model, s["models"]):
            return self.openai_error(404, f"The model `{model}` does not exist or you do not "
                                     "have access to it.", "invalid_request_error", "model_not_found")

        def text_of(m):
            c = m.get("content", "")
            if isinstance(c, list):
                return "".join(p.get("text", "") for p in c if isinstance(p, dict))
            return c if isinstance(c, str) else ""

        prompt = next((text_of(m) for m in reversed(msgs) if m.get("role") == "user"), "")
        rf = body.get("response_format")
        fmt = None
        if isinstance(rf, dict) and rf.get("type") == "json_schema":
            fmt = (rf.get("json_schema") or {}).get("schema")
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        result, error = self.generate(prompt, fmt, limit, s)
        if error:
            status, message = error
            etype = "server_error" if status >= 500 else "invalid_request_error"
            code = "server_busy" if status == 503 else None
            return self.openai_error(status, message, etype, code)
        content, reason = result
        pieces = tokens(content)
        n_prompt = max(1, len(tokens("".join(text_of(m) for m in msgs))))
        usage = {"prompt_tokens": n_prompt, "completion_tokens": len(pieces),
                 "total_tokens": n_prompt + len(pieces)}
        cid, created = "chatcmpl-" + uuid.uuid4().hex[:24], int(time.time())
        base = {"id": cid, "created": created, "model": model, "system_fingerprint": "fp_fakellm"}
        if body.get("stream") is not True:
            return self.send_json(200, dict(base, object="chat.completion", choices=[{
                "index": 0, "message": {"role": "assistant", "content": content},
                "logprobs": None, "finish_reason": reason}], usage=usage))
        self.start_chunked("text/event-stream")

        def event(choices, **extra):
            d = dict(base, object="chat.completion.chunk", choices=choices, **extra)
            self.chunk(b"data: " + json.dumps(d).encode() + b"\n\n")

        event([{"index": 0, "delta": {"role": "assistant", "content": ""},
                "logprobs": None, "finish_reason": None}])
        for p in pieces:
            event([{"index": 0, "delta": {"content": p}, "logprobs": None, "finish_reason": None}])
        event([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}])
        so = body.get("stream_options")
        if isinstance(so, dict) and so.get("include_usage"):
            event([], usage=usage)
        self.chunk(b"data: [DONE]\n\n")
        self.end_chunked()
        return 200


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr, handler):
        super().__init__(addr, handler)
        self.conns = set()
        self.conns_lock = threading.Lock()

    def drop_connections(self, keep):
        """Mode refuse: open (keep-alive) connections die too, as if the process had."""
        with self.conns_lock:
            conns = [c for c in self.conns if c is not keep]
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(args):
    state = FakeState(args.models.split(","), args.api_key)
    port = args.port
    stopping = threading.Event()
    first = True
    while not stopping.is_set():
        server = Server((args.host, port), Handler)
        server.state = state
        port = server.server_address[1]
        if first:
            tmp = args.port_file + ".tmp" if args.port_file else None
            if tmp:
                with open(tmp, "w") as f:
                    f.write(f"{port}\n")
                os.replace(tmp, args.port_file)
            print(f"fakellm listening on http://{args.host}:{port}", flush=True)
            first = False

            def on_term(signum, frame):
                stopping.set()
                state.refuse_event.set()
            signal.signal(signal.SIGTERM, on_term)
            signal.signal(signal.SIGINT, on_term)

        def watch_refuse(srv=server):
            state.refuse_event.wait()
            srv.shutdown()
        threading.Thread(target=watch_refuse, daemon=True).start()
        server.serve_forever(poll_interval=0.05)
        server.server_close()
        if stopping.is_set():
            break
        # mode refuse: nothing listens for refuse_ms, then serve again in mode ok
        server.drop_connections(keep=state.refuser)
        state.listener_closed.set()
        with state.lock:
            ms = state.settings["refuse_ms"]
            state.settings["mode"] = "ok"
        stopping.wait(ms / 1000.0)
        state.refuse_event.clear()
        state.listener_closed.clear()
    print("fakellm stopped", flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=11434, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the bound port here (atomically)")
    ap.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on /v1/*")
    ap.add_argument("--models", default="phi3:mini", help="comma-separated model names")
    return serve(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
