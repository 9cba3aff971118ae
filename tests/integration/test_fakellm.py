"""The fake LLM server (tests/fakellm/fakellm.py) against its contract: Ollama's and
OpenAI's response shapes, error codes, and the control modes tests rely on. Real HTTP
against a started process; waits are conditions with deadlines."""

import http.client
import json
import shutil
import socket
import tempfile
import threading
import time
import unittest

from harness import FakeLLM, contract, http_request, wait_for

BOUNDS = contract()["bounds"]
TRIAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": BOUNDS["summary_max"]},
        "severity": {"type": "string", "enum": contract()["severities"]},
        "category": {"type": "string", "enum": contract()["categories"]},
        "suggested_actions": {"type": "array", "maxItems": BOUNDS["actions_max"],
                              "items": {"type": "string", "minLength": 1,
                                        "maxLength": BOUNDS["action_max"]}},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["summary", "severity", "category", "suggested_actions", "confidence"],
    "additionalProperties": False,
}
INCIDENT = ("Triage the incident below.\n<incident>\n<title>Disk full on db-01</title>\n"
            "<description>The production database disk is 100% full; all users see errors."
            "</description>\n</incident>")
COUNTERS = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
            "eval_count", "eval_duration")


def chat_body(**kw):
    body = {"model": "phi3:mini", "stream": False, "format": TRIAGE_SCHEMA,
            "options": {"temperature": 0, "num_ctx": 4096, "num_predict": 512},
            "messages": [{"role": "system", "content": "You triage incidents."},
                         {"role": "user", "content": INCIDENT}]}
    body.update(kw)
    return body


def check_triage(tc, triage):
    tc.assertEqual(set(triage), set(TRIAGE_SCHEMA["required"]))
    tc.assertIn(triage["severity"], TRIAGE_SCHEMA["properties"]["severity"]["enum"])
    tc.assertIn(triage["category"], TRIAGE_SCHEMA["properties"]["category"]["enum"])
    tc.assertTrue(0 < len(triage["summary"]) <= 600)
    tc.assertLessEqual(len(triage["suggested_actions"]), 5)
    tc.assertTrue(0 <= triage["confidence"] <= 1)


class FakeLLMTest(unittest.TestCase):
    api_key = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fakellm-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.fake = FakeLLM(self.dir, api_key=self.api_key)
        self.addCleanup(self.fake.close)
        self.port = self.fake.port

    def req(self, method, path, body=None, headers=None):
        return http_request(self.port, method, path, body, headers)

    def stream(self, path, body, headers=None):
        """POST and return (response, list of raw lines), reading the chunked body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.addCleanup(conn.close)
        conn.request("POST", path, json.dumps(body),
                     dict({"Content-Type": "application/json"}, **(headers or {})))
        r = conn.getresponse()
        lines = r.read().decode().split("\n")
        return r, lines


class OllamaApiTest(FakeLLMTest):
    def test_version_tags_show(self):
        r = self.req("GET", "/api/version")
        self.assertEqual(r.status, 200)
        self.assertRegex(r.json["version"], r"^\d+\.\d+\.\d+$")
        tags = self.req("GET", "/api/tags").json["models"]
        self.assertIn("phi3:mini", [m["name"] for m in tags])
        for m in tags:
            for k in ("name", "model", "modified_at", "size", "digest", "details"):
                self.assertIn(k, m)
        r = self.req("POST", "/api/show", {"model": "phi3:mini"})
        self.assertEqual(r.status, 200)
        self.assertIn("details", r.json)
        self.assertIn("modelfile", r.json)
        r = self.req("POST", "/api/show", {"model": "nosuch:1b"})
        self.assertEqual((r.status, r.json), (404, {"error": "model 'nosuch:1b' not found"}))

    def test_chat_not_streaming_answers_a_schema_valid_triage(self):
        r = self.req("POST", "/api/chat", chat_body())
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        d = r.json
        self.assertEqual(d["model"], "phi3:mini")
        self.assertTrue(d["done"])
        self.assertEqual(d["done_reason"], "stop")
        self.assertEqual(d["message"]["role"], "assistant")
        self.assertRegex(d["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
        for k in COUNTERS:
            self.assertIsInstance(d[k], int, k)
            self.assertGreater(d[k], 0, k)
        triage = json.loads(d["message"]["content"])
        check_triage(self, triage)
        # derived from the incident text, deterministically
        self.assertEqual((triage["category"], triage["severity"]), ("database", "critical"))
        self.assertIn("Disk full on db-01", triage["summary"])
        again = json.loads(self.req("POST", "/api/chat", chat_body()).json["message"]["content"])
        self.assertEqual(again, triage)

    def test_chat_streaming_ndjson(self):
        whole = self.req("POST", "/api/chat", chat_body()).json["message"]["content"]
        r, lines = self.stream("/api/chat", chat_body(stream=True))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/x-ndjson")
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(lines[-1], "")  # every object ends with a newline
        chunks = [json.loads(line) for line in lines[:-1]]
        self.assertGreater(len(chunks), 2)
        for c in chunks[:-1]:
            self.assertEqual(set(c), {"model", "created_at", "message", "done"})
            self.assertFalse(c["done"])
            self.assertEqual(c["message"]["role"], "assistant")
        last = chunks[-1]
        self.assertTrue(last["done"])
        self.assertEqual(last["done_reason"], "stop")
        self.assertEqual(last["message"]["content"], "")
        for k in COUNTERS:
            self.assertIsInstance(last[k], int)
        self.assertEqual(last["eval_count"], len(chunks) - 1)
        self.assertEqual("".join(c["message"]["content"] for c in chunks), whole)

    def test_stream_defaults_to_true(self):
        body = chat_body()
        del body["stream"]
        r, lines = self.stream("/api/chat", body)
        self.assertEqual(r.getheader("Content-Type"), "application/x-ndjson")
        self.assertTrue(json.loads(lines[-2])["done"])

    def test_generate_both_ways(self):
        body = {"model": "phi3:mini", "prompt": INCIDENT, "format": "json", "stream": False}
        d = self.req("POST", "/api/generate", body).json
        self.assertTrue(d["done"])
        self.assertEqual(d["done_reason"], "stop")
        self.assertNotIn("message", d)
        check_triage(self, json.loads(d["response"]))
        r, lines = self.stream("/api/generate", dict(body, stream=True))
        chunks = [json.loads(line) for line in lines if line]
        self.assertTrue(all("response" in c for c in chunks))
        self.assertEqual("".join(c["response"] for c in chunks), d["response"])
        self.assertTrue(chunks[-1]["done"])
        # an empty prompt only loads the model
        d = self.req("POST", "/api/generate", {"model": "phi3:mini"}).json
        self.assertEqual((d["done"], d["done_reason"], d["response"]), (True, "load", ""))

    def test_num_predict_truncates_with_done_reason_length(self):
        for stream in (False, True):
            body = chat_body(stream=stream, options={"num_predict": 3})
            if stream:
                _, lines = self.stream("/api/chat", body)
                last = json.loads(lines[-2])
                content = "".join(json.loads(x)["message"]["content"] for x in lines if x)
            else:
                last = self.req("POST", "/api/chat", body).json
                content = last["message"]["content"]
            self.assertEqual(last["done_reason"], "length")
            self.assertEqual(last["eval_count"], 3)
            with self.assertRaises(ValueError):
                json.loads(content)

    def test_format_schema_is_honoured(self):
        schema = {"type": "object", "properties": {"age": {"type": "integer"},
                                                   "available": {"type": "boolean"}},
                  "required": ["age", "available"]}
        d = self.req("POST", "/api/chat", chat_body(format=schema)).json
        out = json.loads(d["message"]["content"])
        self.assertIsInstance(out["age"], int)
        self.assertIsInstance(out["available"], bool)

    def test_bad_requests(self):
        r = self.req("POST", "/api/chat", "{not json")
        self.assertEqual(r.status, 400)
        self.assertIsInstance(r.json["error"], str)
        r = self.req("POST", "/api/chat", {"messages": []})
        self.assertEqual((r.status, r.json), (400, {"error": "model is required"}))
        r = self.req("POST", "/api/chat", chat_body(model="llama9:70b"))
        self.assertEqual((r.status, r.json), (404, {"error": "model 'llama9:70b' not found"}))
        self.assertEqual(self.req("GET", "/api/nothing").status, 404)

    def test_model_names_and_latest_tag(self):
        self.fake.control(models=["llama3:latest", "phi3:mini"])
        self.assertEqual(self.req("POST", "/api/chat", chat_body(model="llama3")).status, 200)
        d = self.req("POST", "/api/chat", chat_body(model="llama3")).json
        self.assertEqual(d["model"], "llama3")
        self.fake.control(models=["llama3:latest"])
        self.assertEqual(self.req("POST", "/api/chat", chat_body()).status, 404)


class ControlTest(FakeLLMTest):
    def test_answer_is_returned_exactly(self):
        answer = {"summary": "S.", "severity": "low", "category": "other",
                  "suggested_actions": ["a"], "confidence": 0.5}
        self.fake.control(mode="ok", answer=answer)
        d = self.req("POST", "/api/chat", chat_body()).json
        self.assertEqual(json.loads(d["message"]["content"]), answer)
        self.fake.control(answer="raw text answer")
        d = self.req("POST", "/api/chat", chat_body()).json
        self.assertEqual(d["message"]["content"], "raw text answer")

    def test_busy_then_ok_after_fail_times(self):
        self.fake.control(mode="busy", fail_times=2)
        for _ in range(2):
            r = self.req("POST", "/api/chat", chat_body())
            self.assertEqual(r.status, 503)
            self.assertEqual(r.json, {"error": "server busy, please try again.  "
                                               "maximum pending requests exceeded"})
        self.assertEqual(self.req("POST", "/api/chat", chat_body()).status, 200)
        st = self.fake.stats()
        self.assertEqual(st["requests"]["/api/chat"], 3)
        self.assertEqual(st["settings"]["mode"], "ok")

    def test_error_and_not_found_modes(self):
        self.fake.control(mode="error", status=502, message="upstream exploded")
        r = self.req("POST", "/api/chat", chat_body())
        self.assertEqual((r.status, r.json), (502, {"error": "upstream exploded"}))
        self.fake.control(mode="not_found")
        r = self.req("POST", "/api/chat", chat_body())
        self.assertEqual((r.status, r.json), (404, {"error": "model 'phi3:mini' not found"}))
        # metadata endpoints still answer in error modes
        self.assertEqual(self.req("GET", "/api/version").status, 200)

    def test_truncated_mode(self):
        self.fake.control(mode="truncated")
        d = self.req("POST", "/api/chat", chat_body()).json
        self.assertEqual(d["done_reason"], "length")
        with self.assertRaises(ValueError):
            json.loads(d["message"]["content"])
        r = self.req("POST", "/v1/chat/completions", {"model": "phi3:mini", "messages": [
            {"role": "user", "content": INCIDENT}]})
        self.assertEqual(r.json["choices"][0]["finish_reason"], "length")

    def test_wrong_kinds(self):
        def content(kind):
            self.fake.control(mode="wrong", wrong_kind=kind)
            d = self.req("POST", "/api/chat", chat_body()).json
            self.assertEqual(d["done_reason"], "stop")
            return d["message"]["content"]

        with self.assertRaises(ValueError):
            json.loads(content("invalid_json"))
        self.assertNotIn(json.loads(content("bad_enum"))["severity"],
                         TRIAGE_SCHEMA["properties"]["severity"]["enum"])
        long = json.loads(content("too_long"))
        self.assertGreater(len(long["summary"]), 600)
        self.assertGreater(len(long["suggested_actions"]), 5)
        self.assertNotIn("severity", json.loads(content("missing_field")))
        inj = json.loads(content("injection"))
        self.assertEqual((inj["status"], inj["backend"]), ("resolved", "rules"))
        self.assertEqual(content("empty"), "")
        self.assertIsInstance(json.loads(content("not_object")), list)
        self.assertIsInstance(json.loads(content("bad_type"))["confidence"], str)

    def test_down_closes_the_connection_without_an_answer(self):
        self.fake.control(mode="down")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            http_request(self.port, "POST", "/api/chat", chat_body())
        # the control endpoint still works; the request was counted
        self.assertEqual(self.fake.stats()["requests"]["/api/chat"], 1)
        self.fake.control(mode="ok")
        self.assertEqual(self.req("POST", "/api/chat", chat_body()).status, 200)

    def test_refuse_stops_listening_then_serves_again(self):
        self.fake.control(mode="refuse", refuse_ms=1500)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        wait_for(lambda: self.req("GET", "/api/version").status == 200, 10,
                 "the server to listen again")
        self.assertEqual(self.fake.stats()["settings"]["mode"], "ok")

    def test_slow_answers_concurrently(self):
        n, delay = 64, 1000
        self.fake.control(mode="slow", delay_ms=delay)
        results = []
        lock = threading.Lock()

        def call():
            r = http_request(self.port, "POST", "/api/chat", chat_body(), timeout=60)
            with lock:
                results.append(r.status)

        threads = [threading.Thread(target=call) for _ in range(n)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - t0
        self.assertEqual(results, [200] * n)
        self.assertGreaterEqual(elapsed, delay / 1000)
        # serially this would take n seconds; concurrently about one delay
        self.assertLess(elapsed, 10)
        self.assertEqual(self.fake.stats()["concurrent_max"], n)

    def test_stats_show_what_was_sent_and_what_is_in_flight(self):
        self.req("POST", "/api/chat", chat_body())
        st = self.fake.stats()
        sent = st["last_request"]["/api/chat"]
        self.assertEqual(sent["options"]["temperature"], 0)
        self.assertEqual(sent["format"], TRIAGE_SCHEMA)
        self.assertIn("<incident>", sent["messages"][1]["content"])
        self.assertEqual(st["statuses"]["200"], 1)
        self.fake.control(mode="slow", delay_ms=3000)
        t = threading.Thread(target=lambda: http_request(self.port, "POST", "/api/chat",
                                                         chat_body()))
        t.start()
        self.addCleanup(t.join, 10)
        wait_for(lambda: self.fake.stats()["in_flight"] == 1, 10, "a call in flight")
        self.fake.control(reset_stats=True)
        self.assertEqual(self.fake.stats()["requests"]["/api/chat"], 0)

    def test_control_rejects_bad_settings(self):
        for body in ({"mode": "sideways"}, {"wrong_kind": "nope"}, {"delay_ms": -1},
                     {"models": "phi3"}, {"colour": "red"}, [1]):
            r = self.req("POST", "/_control", body)
            self.assertEqual(r.status, 400, body)
            self.assertIn("error", r.json)
        r = self.req("POST", "/_control", {"reset": True})
        self.assertEqual(r.json["mode"], "ok")
        self.assertEqual(r.json["models"], ["phi3:mini"])

    def test_max_pending_gives_busy(self):
        self.fake.control(mode="slow", delay_ms=2000, max_pending=1)
        t = threading.Thread(target=lambda: http_request(self.port, "POST", "/api/chat",
                                                         chat_body()))
        t.start()
        self.addCleanup(t.join, 10)
        wait_for(lambda: self.fake.stats()["in_flight"] == 1, 10, "a call in flight")
        self.assertEqual(self.req("POST", "/api/chat", chat_body()).status, 503)

    def test_sigterm_exits_cleanly(self):
        self.assertEqual(self.fake.stop(), 0)


class OpenAIApiTest(FakeLLMTest):
    def body(self, **kw):
        b = {"model": "phi3:mini", "temperature": 0, "max_tokens": 512,
             "response_format": {"type": "json_schema",
                                 "json_schema": {"name": "triage", "strict": True,
                                                 "schema": TRIAGE_SCHEMA}},
             "messages": [{"role": "system", "content": "You triage incidents."},
                          {"role": "user", "content": INCIDENT}]}
        b.update(kw)
        return b

    def test_completion_shape_and_usage(self):
        r = self.req("POST", "/v1/chat/completions", self.body())
        self.assertEqual(r.status, 200, r)
        d = r.json
        self.assertEqual(d["object"], "chat.completion")
        self.assertTrue(d["id"].startswith("chatcmpl-"))
        self.assertEqual(d["model"], "phi3:mini")
        choice = d["choices"][0]
        self.assertEqual((choice["index"], choice["finish_reason"]), (0, "stop"))
        self.assertEqual(choice["message"]["role"], "assistant")
        check_triage(self, json.loads(choice["message"]["content"]))
        u = d["usage"]
        self.assertEqual(u["total_tokens"], u["prompt_tokens"] + u["completion_tokens"])
        self.assertGreater(u["completion_tokens"], 0)

    def test_max_tokens_gives_length(self):
        d = self.req("POST", "/v1/chat/completions", self.body(max_tokens=2)).json
        self.assertEqual(d["choices"][0]["finish_reason"], "length")
        self.assertEqual(d["usage"]["completion_tokens"], 2)

    def test_streaming_sse(self):
        whole = self.req("POST", "/v1/chat/completions", self.body()).json
        r, lines = self.stream("/v1/chat/completions",
                               self.body(stream=True, stream_options={"include_usage": True}))
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        events = [x for x in lines if x]
        self.assertTrue(all(x.startswith("data: ") for x in events))
        self.assertEqual(events[-1], "data: [DONE]")
        chunks = [json.loads(x[6:]) for x in events[:-1]]
        self.assertTrue(all(c["object"] == "chat.completion.chunk" for c in chunks))
        self.assertEqual(chunks[0]["choices"][0]["delta"]["role"], "assistant")
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        self.assertEqual(text, whole["choices"][0]["message"]["content"])
        finals = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
        self.assertEqual(finals[-1], "stop")
        self.assertTrue(all(f is None for f in finals[:-1]))
        self.assertEqual(chunks[-1]["choices"], [])
        self.assertIn("usage", chunks[-1])

    def test_errors(self):
        r = self.req("POST", "/v1/chat/completions", self.body(model="gpt-9"))
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json["error"]["code"], "model_not_found")
        self.assertEqual(r.json["error"]["type"], "invalid_request_error")
        self.assertIn("gpt-9", r.json["error"]["message"])
        r = self.req("POST", "/v1/chat/completions", {"messages": []})
        self.assertEqual(r.status, 400)
        self.assertIn("message", r.json["error"])
        self.fake.control(mode="busy")
        r = self.req("POST", "/v1/chat/completions", self.body())
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json["error"]["type"], "server_error")
        self.fake.control(mode="error", status=500, message="boom")
        r = self.req("POST", "/v1/chat/completions", self.body())
        self.assertEqual((r.status, r.json["error"]["message"]), (500, "boom"))

    def test_answer_control_applies_here_too(self):
        answer = {"summary": "X.", "severity": "high", "category": "network",
                  "suggested_actions": [], "confidence": 0.9}
        self.fake.control(answer=answer)
        d = self.req("POST", "/v1/chat/completions", self.body()).json
        self.assertEqual(json.loads(d["choices"][0]["message"]["content"]), answer)
        sent = self.fake.stats()["last_request"]["/v1/chat/completions"]
        self.assertEqual(sent["response_format"]["type"], "json_schema")


class ApiKeyTest(FakeLLMTest):
    api_key = "k-123"

    def test_bearer_key_is_checked_on_v1(self):
        body = {"model": "phi3:mini", "messages": [{"role": "user", "content": "hi"}]}
        r = self.req("POST", "/v1/chat/completions", body)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json["error"]["code"], "invalid_api_key")
        r = self.req("POST", "/v1/chat/completions", body, {"Authorization": "Bearer wrong"})
        self.assertEqual(r.status, 401)
        r = self.req("POST", "/v1/chat/completions", body, {"Authorization": "Bearer k-123"})
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    unittest.main()
