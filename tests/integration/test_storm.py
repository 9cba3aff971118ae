"""Storm control through the real gateway and store: 10,000 Alertmanager events over 10
fingerprints give 10 incidents, 10 triage jobs and a timeline that does not grow per event;
a group of hundreds of new alerts is committed at once and answered with counts."""

import threading
import unittest

import test_integrations as ti  # the payload builders (as a module: its tests stay there)
from harness import PipelineTest, wait_for


class StormTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.env["TRIAGE_API_KEYS"] = ti.KEY
        self.stack.key = ti.KEY
        self.stack.start_store()
        self.stack.start_gateway()
        self.stack.wait_ready()

    def post(self, path, body):
        return self.stack.request("POST", path, body,
                                  headers={"Authorization": f"Bearer {ti.KEY}"}, key=False)

    def test_large_group_is_answered_with_counts(self):
        alerts = [ti.am_alert(f"big{i:013d}", annotations={}) for i in range(520)]
        r = self.post("/integrations/alertmanager", ti.am_body(alerts))
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["events"], 520)
        self.assertEqual(r.json["summary"]["created"], 520)
        self.assertNotIn("results", r.json)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM incidents"), "520")

    def test_storm_10000_events_10_incidents(self):
        """10,000 events over 10 fingerprints: 10 incidents, one triage job each."""
        fps = [f"storm{i:011d}" for i in range(10)]
        per_post, posts, threads = 50, 200, 8
        sent, lock, errors = [0], threading.Lock(), []

        def worker(w):
            for p in range(w, posts, threads):
                alerts = [ti.am_alert(fps[(p * per_post + k) % 10],
                                   annotations={"summary": "storm", "description": f"{p}-{k}"})
                          for k in range(per_post)]
                r = self.post("/integrations/alertmanager", ti.am_body(alerts))
                with lock:
                    if r.status != 202:
                        errors.append(r)
                    sent[0] += per_post

        ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
        [t.start() for t in ts]
        [t.join(120) for t in ts]
        self.assertEqual(errors, [])
        self.assertEqual(sent[0], 10000)
        rows = self.stack.sql("SELECT count(*), sum(occurrence_count) FROM incidents")
        self.assertEqual(rows, [["10", "10000"]])
        # an enricher now sees exactly 10 jobs
        self.stack.start_enricher(llm="rules")
        wait_for(lambda: self.stack.scalar(
            "SELECT count(*) FROM incidents WHERE status = 'triaged'") == "10", 60,
            "the 10 incidents to be triaged")
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM incident_events WHERE kind = 'dispatched'"), "10")
        # the timeline did not grow per event: bursts are coalesced
        self.assertLessEqual(int(self.stack.scalar(
            "SELECT count(*) FROM incident_events WHERE kind = 'occurrence'")), 200)


if __name__ == "__main__":
    unittest.main()
