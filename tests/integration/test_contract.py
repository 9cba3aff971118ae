"""One contract: proto/ defines the severities, categories, statuses, states, feedbacks and bounds
(printed by `triage-contract`); the SQL CHECK constraints of a freshly migrated database,
web/constants.js and the fake LLM's tables must say the same."""

import importlib.util
import os
import re
import subprocess
import unittest

from harness import SOURCE_DIR, PipelineTest, contract, wait_for

# Which contract list a checked text column of incidents must match.
COLUMNS = {"status": "statuses", "severity": "severities", "severity_override": "severities",
           "category": "categories", "category_override": "categories", "state": "states",
           "triage_feedback": "feedbacks"}


class SqlContractTest(PipelineTest):
    def setUp(self):
        super().setUp()
        store = self.stack.start_store()
        wait_for(lambda: "ready" in store.text() or not store.alive(), 30, "the store to migrate")
        self.assertTrue(store.alive(), store.text()[-2000:])

    def checks(self, table):
        rows = self.stack.sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                              f"WHERE conrelid = '{table}'::regclass AND contype = 'c'")
        return [r[0] for r in rows]

    def test_enum_checks_are_the_contract(self):
        found = {}
        for d in self.checks("incidents"):
            m = re.match(r"CHECK \(\((\w+) = ANY \(ARRAY\[(.*)\]\)\)\)$", d)
            if m:
                found[m.group(1)] = re.findall(r"'([^']*)'::text", m.group(2))
        self.assertEqual(set(found), set(COLUMNS), found)
        for column, name in COLUMNS.items():
            self.assertEqual(found[column], contract()[name], column)

    def test_bound_checks_are_the_contract(self):
        b = contract()["bounds"]
        defs = self.checks("incidents")
        self.assertIn("CHECK (((char_length(title) >= 1) AND "
                      f"(char_length(title) <= {b['title_max_chars']})))", defs)
        self.assertIn(f"CHECK ((octet_length(description) <= {b['description_max_bytes']}))",
                      defs)
        self.assertIn("CHECK (((confidence >= (0)::double precision) AND "
                      "(confidence <= (1)::double precision)))", defs)

    def test_checks_refuse_what_the_contract_does_not_name(self):
        """The constraints really apply: each listed value goes in, an unlisted one not."""
        base = ("INSERT INTO incidents (request_id, title, description, fingerprint, {c}) "
                "VALUES ('r-{n}', 't', '', 'f', '{v}')")
        n = 0
        for column, name in COLUMNS.items():
            for v in contract()[name]:
                n += 1
                self.stack.sql(base.format(c=column, n=n, v=v))
            n += 1
            with self.assertRaises(subprocess.CalledProcessError, msg=column):
                self.stack.sql(base.format(c=column, n=n, v="not-in-the-contract"))


class WebContractTest(unittest.TestCase):
    def test_web_constants_are_the_contract(self):
        with open(os.path.join(SOURCE_DIR, "web", "constants.js")) as f:
            js = f.read()
        lists = {m.group(1): re.findall(r"'([^']*)'", m.group(2))
                 for m in re.finditer(r"export const (\w+) = \[(.*?)\];", js, re.S)}
        numbers = {m.group(1): int(m.group(2))
                   for m in re.finditer(r"export const (\w+) = (\d+);", js)}
        c = contract()
        self.assertEqual(lists, {"STATUSES": c["statuses"], "SEVERITIES": c["severities"],
                                 "CATEGORIES": c["categories"], "STATES": c["states"]})
        b = c["bounds"]
        self.assertEqual(numbers, {"TITLE_MAX_CHARS": b["title_max_chars"],
                                   "DESCRIPTION_MAX_BYTES": b["description_max_bytes"],
                                   "SHORT_MAX": b["short_max"], "LABELS_MAX": b["labels_max"],
                                   "LABEL_KEY_MAX": b["label_key_max"],
                                   "LABEL_VALUE_MAX": b["label_value_max"],
                                   "Q_MAX_CHARS": b["q_max_chars"],
                                   "LIST_LIMIT_MAX": b["list_limit_max"],
                                   "LIST_LIMIT_DEFAULT": b["list_limit_default"]})

    def test_web_uses_no_literal_vocabulary(self):
        """Outside constants.js the dashboard names no severity or category itself in a
        list (a copy); it imports them."""
        for name in os.listdir(os.path.join(SOURCE_DIR, "web")):
            if not name.endswith(".js") or name == "constants.js":
                continue
            with open(os.path.join(SOURCE_DIR, "web", name)) as f:
                js = f.read()
            self.assertNotRegex(js, r"\[\s*'compute',\s*'storage'", name)
            self.assertNotRegex(js, r"\[\s*'submitted',\s*'processing'", name)


class FakeLLMContractTest(unittest.TestCase):
    def test_fake_llm_answers_within_the_contract(self):
        path = os.path.join(SOURCE_DIR, "tests", "fakellm", "fakellm.py")
        spec = importlib.util.spec_from_file_location("fakellm_tables", path)
        fake = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fake)
        c = contract()
        self.assertLessEqual({k for k, _ in fake.CATEGORY_WORDS}, set(c["categories"]))
        self.assertLessEqual({k for k, _ in fake.SEVERITY_WORDS}, set(c["severities"]))
        self.assertEqual(set(fake.ACTIONS), set(c["categories"]))
        for actions in fake.ACTIONS.values():
            self.assertLessEqual(len(actions), c["bounds"]["actions_max"])
            for a in actions:
                self.assertLessEqual(len(a.encode()), c["bounds"]["action_max"])


if __name__ == "__main__":
    unittest.main()
