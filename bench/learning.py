"""The built-in model's figures (make bench, part 0). Not a test.

1. Quality on the corpus's test split (triage-learn-eval): category and severity accuracy,
   confusion matrices, calibration (expected calibration error).
2. Learning curve through the real API: a deployment whose rubric differs from the
   corpus's. Its team labels every security incident critical, and every dependency
   (third-party) incident low because they cannot act on it. The stream is the test split
   in a fixed order (by SHA-256 of the title). Its second half is submitted and triaged
   with the corpus-only model (no corrections); then the first half is submitted and
   responders override each with the team's labels (PATCH /incidents/{id}); once the
   trainer has stored a version that includes them, the second half is re-triaged
   (POST /incidents/{id}/retriage) and measured again against the team's labels.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

from harness import Postgres, Stack, wait_for

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.environ["TRIAGE_BIN_DIR"]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def team_label(inc):
    if inc["category"] == "security":
        return "critical", "security"
    if inc["category"] == "dependency":
        return "low", "dependency"
    return inc["severity"], inc["category"]


def load_test_split():
    d = os.path.join(ROOT, "data", "corpus", "test")
    out = []
    for name in sorted(n for n in os.listdir(d) if n.endswith(".jsonl")):
        with open(os.path.join(d, name), encoding="utf-8") as f:
            out += [json.loads(line) for line in f if line.strip()]
    out.sort(key=lambda i: hashlib.sha256(i["title"].encode()).hexdigest())
    return out


def submit_all(stack, incs):
    ids = []
    for inc in incs:
        body = {k: inc[k] for k in ("title", "description", "source", "service", "labels") if k in inc}
        r = stack.request("POST", "/incidents", body)
        assert r.status == 202, r
        ids.append(r.json["id"])
    return ids


def wait_triaged(stack, ids, since_version=None):
    def done():
        out = []
        for i in ids:
            inc = stack.incident(i)
            if inc["status"] != "triaged":
                return None
            if since_version and inc["triage"]["model"] != since_version:
                return None
            out.append(inc)
        return out
    return wait_for(done, 600, "the stream to be triaged", interval=0.2)


def accuracy(triaged, truth):
    sev = sum(t["triage"]["severity"] == s for t, (s, _) in zip(triaged, truth))
    cat = sum(t["triage"]["category"] == c for t, (_, c) in zip(triaged, truth))
    return 100.0 * sev / len(truth), 100.0 * cat / len(truth)


def learning_curve():
    stream = load_test_split()
    half = len(stream) // 2
    first, second = stream[:half], stream[half:]
    truth2 = [team_label(i) for i in second]
    pg = Postgres().start()
    stack = Stack("learning", pg, env={"TRIAGE_LOG_LEVEL": "warn"})
    try:
        stack.start_store(env={"TRIAGE_TRAIN_INTERVAL_MS": "500",
                               "TRIAGE_CORPUS_DIR": os.path.join(ROOT, "data", "corpus", "train")})
        stack.start_gateway()
        stack.wait_ready()
        stack.start_enricher("e1", env={"TRIAGE_LLM_BACKEND": "model"})
        v1 = wait_for(lambda: stack.request("GET", "/settings").json["learned_model"], 120,
                      "the first model version")
        ids2 = submit_all(stack, second)
        before = wait_triaged(stack, ids2)
        sev0, cat0 = accuracy(before, truth2)
        ids1 = submit_all(stack, first)
        wait_triaged(stack, ids1)
        for i, inc in zip(ids1, first):
            sev, cat = team_label(inc)
            r = stack.request("PATCH", f"/incidents/{i}", {"severity": sev, "category": cat})
            assert r.status == 200, r
        t0 = time.monotonic()
        v2 = wait_for(lambda: (m := stack.request("GET", "/settings").json["learned_model"])
                      and m["history_examples"] == len(first) and m, 300,
                      "a version trained on the corrections", interval=0.2)
        retrain_s = time.monotonic() - t0
        for i in ids2:
            r = stack.request("POST", f"/incidents/{i}/retriage")
            assert r.status == 202, r
        after = wait_triaged(stack, ids2, since_version=f"linear-v{v2['version']}")
        sev1, cat1 = accuracy(after, truth2)
        n_sec = sum(1 for i in second if i["category"] in ("security", "dependency"))
        print(f"learning curve (team rubric: security -> critical, dependency -> low; stream = "
              f"test split, {len(first)} corrected then {len(second)} measured, {n_sec} of "
              f"them security or dependency):")
        print(f"  model v{v1['version']} (corpus only, no corrections): severity {sev0:.1f}%, "
              f"category {cat0:.1f}%")
        print(f"  model v{v2['version']} ({v2['history_examples']} responder corrections, "
              f"trained in {v2['train_ms']} ms, stored {retrain_s:.1f} s after the last "
              f"override): severity {sev1:.1f}%, category {cat1:.1f}%")
        print(f"  severity accuracy change: {sev1 - sev0:+.1f} points (target >= +10)")
    finally:
        stack.close()
        pg.destroy()


def main():
    print(f"load average: {loadavg()}")
    r = subprocess.run([os.path.join(BIN, "triage-learn-eval"),
                        "--train", os.path.join(ROOT, "data", "corpus", "train"),
                        "--test", os.path.join(ROOT, "data", "corpus", "test")],
                       capture_output=True, text=True, timeout=600)
    print(r.stdout, end="")
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
        sys.exit(1)
    learning_curve()
    print(f"load average: {loadavg()}")


if __name__ == "__main__":
    main()
