"""TRIAGE_LOG_FORMAT=json: every line each service writes is one JSON object with time,
level, service and msg (and the incident id where there is one), and no key is logged."""

import json
import unittest

from harness import PipelineTest


class JsonLogsTest(PipelineTest):
    def test_every_line_is_a_json_object(self):
        s = self.stack
        s.env["TRIAGE_LOG_FORMAT"] = "json"
        s.start_store()
        s.start_gateway()
        s.wait_ready()
        s.start_enricher("enricher1", llm="rules")
        inc = s.submit(title="Disk Full", description="Production disk at 100%")
        s.wait_status(inc["id"], "triaged")
        wrong = "wrong-key-never-logged-0123456789"
        r = s.request("GET", "/incidents", headers={"X-API-KEY": wrong}, key=False)
        self.assertEqual(r.status, 401, r)
        for name in ("enricher1", "gateway", "store"):
            self.assertEqual(s.stop(name), 0, name)

        services = {"store": "store", "gateway": "gateway", "enricher1": "enricher"}
        incident_lines = 0
        for name, service in services.items():
            text = s.procs[name].text()
            self.assertNotIn(s.key, text, f"{name} logged the API key")
            self.assertNotIn(wrong, text, f"{name} logged a presented key")
            lines = [line for line in text.split("\n") if line]
            self.assertGreater(len(lines), 2, name)
            for line in lines:
                try:
                    o = json.loads(line)
                except ValueError as e:
                    self.fail(f"{name}: not a JSON line ({e}): {line[:200]}")
                self.assertIsInstance(o, dict, line)
                self.assertEqual(o["service"], service, line)
                self.assertIn(o["level"], ("debug", "info", "warn", "error"), line)
                self.assertRegex(o["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                self.assertIsInstance(o["msg"], str, line)
                if "incident" in o:
                    self.assertIsInstance(o["incident"], int, line)
                    incident_lines += o["incident"] == inc["id"]
        self.assertGreater(incident_lines, 0, "no line names the incident")

    def test_unknown_format_is_refused(self):
        p = self.stack.start_store(env={"TRIAGE_LOG_FORMAT": "xml"})
        self.assertEqual(p.popen.wait(30), 2)
        self.assertIn("TRIAGE_LOG_FORMAT", p.text())


if __name__ == "__main__":
    unittest.main()
