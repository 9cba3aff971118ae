"""README stays true: every variable a program reads is documented there, and every
program answers --help."""

import os
import re
import subprocess
import unittest

from harness import BIN_DIR, SOURCE_DIR


class DocsTest(unittest.TestCase):
    def test_readme_documents_every_variable(self):
        with open(os.path.join(SOURCE_DIR, "README.md")) as f:
            readme = f.read()
        for prog in ("triage-store", "triage-gateway", "triage-enricher", "triage-notifier"):
            r = subprocess.run([os.path.join(BIN_DIR, prog), "--help"], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            names = set(re.findall(r"^\s+(TRIAGE_[A-Z0-9_]+)\s", r.stdout, re.M))
            self.assertGreater(len(names), 5, prog)
            missing = sorted(n for n in names if f"`{n}`" not in readme)
            self.assertEqual(missing, [], f"{prog}: variables missing from README.md")

    def test_readme_opens_with_the_two_commands(self):
        with open(os.path.join(SOURCE_DIR, "README.md")) as f:
            text = f.read()
        block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
        commands = [line.split("#")[0].strip() for line in block.strip().split("\n")]
        self.assertEqual(commands, ["make run", "make test"])

    def test_error_names_are_the_documented_ones(self):
        """common/tr_err.c holds the one error -> HTTP mapping; every name it can answer
        with is one docs/API.md lists."""
        with open(os.path.join(SOURCE_DIR, "docs", "API.md")) as f:
            api = f.read()
        listed = re.search(r"The machine names are\s+(.*?)\.\n", api, re.S).group(1)
        documented = set(re.findall(r"`([a-z_]+)`", listed))
        self.assertIn("internal", documented)
        with open(os.path.join(SOURCE_DIR, "common", "tr_err.c")) as f:
            table = f.read()
        rows = re.findall(r'\[TR_\w+\] = \{"[a-z_]+", "[^"]*", (\d+), "([a-z_]+)"\}', table)
        self.assertGreater(len(rows), 10)
        for status, name in rows:
            if status != "200":
                self.assertIn(name, documented, f"tr_err.c answers {status} {name}")


if __name__ == "__main__":
    unittest.main()
