"""The built-in model learns from responders, through the real pipeline: the store trains
a version from the corpus, enrichers fetch it over the store's socket and say which version
triaged what; overrides make the trainer build a new version, which the running enrichers
pick up without a restart, and a later similar incident gets the corrected label."""

import os
import re
import unittest

from harness import SOURCE_DIR, PipelineTest, wait_for

STORE_ENV = {"TRIAGE_TRAIN_INTERVAL_MS": "200", "TRIAGE_SWEEP_INTERVAL_MS": "100",
             "TRIAGE_CORPUS_DIR": os.path.join(SOURCE_DIR, "data", "corpus", "train")}

# The features version this build's model is trained on (learn/learn_features.h).
with open(os.path.join(SOURCE_DIR, "learn", "learn_features.h"), encoding="utf-8") as _f:
    FEATURES = re.search(r'#define LEARN_FEATURES_VERSION "([^"]+)"', _f.read()).group(1)

# A team whose rubric differs from the corpus: every security incident is critical.
TEAM_HISTORY = [
    ("Unknown OAuth app granted mail access by a user",
     "A user in sales authorised an unfamiliar OAuth app with read access to mail. We revoked "
     "the grant within minutes."),
    ("Suspicious OAuth consent from the marketing team",
     "Two marketing accounts consented to an unknown app asking for calendar and contacts "
     "scopes; grants revoked."),
    ("Failed SSH logins on the bastion from unknown IPs",
     "fail2ban blocked 300 addresses trying to log into bastion-1 overnight; no successful login."),
    ("Phishing mail reported by two employees",
     "Two people forwarded a fake invoice mail with a link to a login page. Nobody entered a password."),
    ("Blocked SQL injection attempts on the search page",
     "The WAF blocked about 2,000 SQL injection payloads against /search today. Nothing got through."),
    ("Unknown device tried to join the corporate wifi",
     "NAC rejected an unknown device repeatedly trying to authenticate on the staff network."),
]
PROBE = ("Port scan from a single IP blocked",
         "The firewall blocked a port scan from one address; nothing got through.")
PROBE_LATER = ("Firewall stopped a scan of our public addresses",
               "A scan of our public IP range from one host was blocked at the firewall; "
               "nothing got through.")


class LearningTest(PipelineTest):
    def setUp(self):
        super().setUp()
        self.stack.start_store(env=STORE_ENV)
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.enricher = self.stack.start_enricher("e1", env={"TRIAGE_LLM_BACKEND": "model"})

    def learned(self):
        return self.stack.request("GET", "/settings").json["learned_model"]

    def triage(self, title, description):
        inc = self.stack.submit(title=title, description=description)
        return self.stack.wait_status(inc["id"], "triaged", timeout=60)

    def test_overrides_retrain_and_a_later_similar_incident_gets_the_corrected_label(self):
        v1 = wait_for(self.learned, 120, "the first model version")
        self.assertEqual((v1["history_examples"], v1["features"]), (0, FEATURES))
        self.assertGreaterEqual(v1["corpus_examples"], 400)
        pid = self.enricher.pid

        before = self.triage(*PROBE)
        t = before["triage"]
        self.assertEqual((t["backend"], t["model"], t["prompt_version"]),
                         ("model", f"linear-v{v1['version']}", FEATURES))
        self.assertEqual(t["category"], "security")
        self.assertNotEqual(t["severity"], "critical", "the corpus alone must not say critical, "
                            "or this test proves nothing")

        # Responders triage the team's history with their rubric, through the API.
        for title, description in TEAM_HISTORY:
            inc = self.triage(title, description)
            r = self.stack.request("PATCH", f"/incidents/{inc['id']}",
                                   {"severity": "critical", "category": "security"})
            self.assertEqual(r.status, 200, r)

        # Up to two trainings: one may have begun on the first override alone. Each took
        # 30 s under ASan on a loaded machine (four spinning processes beside the suite).
        v2 = wait_for(lambda: (m := self.learned())["version"] > v1["version"]
                      and m["history_examples"] == len(TEAM_HISTORY) and m, 180,
                      "a version trained on the overrides")
        later = self.triage(*PROBE_LATER)
        t = later["triage"]
        self.assertEqual(t["model"], f"linear-v{v2['version']}", "the running enricher "
                         "fetched the new version")
        self.assertEqual((t["severity"], t["category"]), ("critical", "security"))
        self.assertTrue(self.enricher.alive())
        self.assertEqual(self.enricher.pid, pid, "no restart")
        self.assertIn(f"built-in model v{v2['version']} loaded", self.enricher.text())

    def test_a_labelled_open_incident_votes_in_the_next_triage(self):
        """Feedback reaches the next look-alike before any retrain: the store attaches the
        incidents responders labelled, open or resolved, and the model's vote lists the
        ones it weighed; an open one is never an example in an LLM's prompt (test_memory)."""
        wait_for(self.learned, 120, "the first model version")
        first = self.triage("Disk full on db-orders-7: /var/lib/postgresql at 100%",
                            "The data volume of db-orders-7 is full; inserts fail with "
                            "no space left on device.")
        self.assertNotIn(first["id"], first["triage"]["similar_used"])
        r = self.stack.request("PATCH", f"/incidents/{first['id']}",
                               {"severity": "critical", "category": "database"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.stack.incident(first["id"])["state"], "open")
        later = self.triage("Disk full on db-orders-7: /var/lib/postgresql at 100% again",
                            "The data volume of db-orders-7 is full again; inserts fail "
                            "with no space left on device.")
        t = later["triage"]
        self.assertEqual(t["similar_used"], [first["id"]], t)
        self.assertEqual((t["severity"], t["category"]), ("critical", "database"), t)
        # and one nobody labelled does not vote
        third = self.triage("Disk full on db-orders-9: /var/lib/postgresql at 100%",
                            "The data volume of db-orders-9 is full; inserts fail with "
                            "no space left on device.")
        self.assertNotIn(later["id"], third["triage"]["similar_used"])

    def test_a_model_larger_than_one_reply_arrives_in_parts(self):
        """The store serves a version in parts of STORE_MODEL_PART bytes; the enricher
        reassembles and checks it."""
        wait_for(self.learned, 120, "the first model version")
        t = self.triage("Disk almost full on pg-main", "The data volume is at 97%.")["triage"]
        self.assertEqual(t["backend"], "model")
        size = int(self.stack.scalar("SELECT octet_length(model) FROM triage_models "
                                     "ORDER BY version DESC LIMIT 1"))
        self.assertGreater(size, 98304, "the model spans several parts")
        self.assertIn("loaded (%d bytes" % size, self.enricher.text())


if __name__ == "__main__":
    unittest.main()
