"""The deployment files that CI cannot run (no Docker engine, no systemd as PID 1) are
still checked: compose.yaml's service graph, published ports, health checks and
variables; the Dockerfile's base and packages; the systemd units with systemd-analyze."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

from harness import BIN_DIR, SOURCE_DIR

PROGRAMS = ("triage-store", "triage-gateway", "triage-enricher", "triage-notifier")
STORES = ("store-1", "store-2")


def known_variables(program):
    r = subprocess.run([os.path.join(BIN_DIR, program), "--help"], capture_output=True,
                       text=True, timeout=30, check=True)
    return set(re.findall(r"^\s+(TRIAGE_[A-Z0-9_]+)\s", r.stdout, re.M))


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SOURCE_DIR, "compose.yaml")) as f:
            cls.compose = yaml.safe_load(f)
        cls.services = cls.compose["services"]
        with open(os.path.join(SOURCE_DIR, "Dockerfile")) as f:
            cls.dockerfile = f.read()

    def depends(self, name):
        d = self.services[name].get("depends_on", [])
        return dict(d) if isinstance(d, dict) else {n: {"condition": "service_started"} for n in d}

    def test_service_graph(self):
        for name in ("postgres", "store-1", "store-2", "gateway", "enricher", "ollama",
                     "ollama-pull"):
            self.assertIn(name, self.services)
        # every dependency exists, the graph has no cycle, and a dependency waited on as
        # healthy has a health check
        for name in self.services:
            for dep, how in self.depends(name).items():
                self.assertIn(dep, self.services, f"{name} depends on unknown {dep}")
                if how.get("condition") == "service_healthy":
                    self.assertIn("healthcheck", self.services[dep], f"{dep} has no health check")
        seen, done = set(), set()

        def visit(n, path):
            self.assertNotIn(n, seen - done, f"dependency cycle: {path + [n]}")
            if n in done:
                return
            seen.add(n)
            for dep in self.depends(n):
                visit(dep, path + [n])
            done.add(n)
        for n in self.services:
            visit(n, [])
        for store in STORES:
            self.assertEqual(self.depends(store)["postgres"]["condition"], "service_healthy")
            self.assertIn(store, self.depends("gateway"))
            self.assertIn(store, self.depends("enricher"))
        self.assertEqual(self.depends("enricher")["ollama-pull"]["condition"],
                         "service_completed_successfully")

    def test_only_the_gateway_is_published(self):
        published = sorted(n for n, s in self.services.items() if s.get("ports"))
        self.assertEqual(published, ["gateway"])
        self.assertEqual(self.services["gateway"]["ports"], ["4000:4000"])
        self.assertIn("${TRIAGE_API_KEYS:?", self.services["gateway"]["environment"]["TRIAGE_API_KEYS"])

    def test_health_checks(self):
        for name in ("postgres", "gateway", "ollama"):
            hc = self.services[name].get("healthcheck")
            self.assertIsNotNone(hc, name)
            self.assertEqual(hc["test"][0], "CMD", name)
        self.assertIn("/readyz", " ".join(self.services["gateway"]["healthcheck"]["test"]))
        self.assertGreaterEqual(self.services["enricher"]["deploy"]["replicas"], 2)
        self.assertEqual(self.services["ollama-pull"]["entrypoint"][:2], ["ollama", "pull"])

    def test_programs_and_variables_exist(self):
        copied = re.search(r"^COPY --from=build (.*) /usr/local/bin/$", self.dockerfile, re.M)
        self.assertIsNotNone(copied)
        in_image = {os.path.basename(p) for p in copied.group(1).split()}
        for name, s in self.services.items():
            if "build" not in s:
                continue
            program = s["command"].split()[0]
            self.assertIn(program, in_image, f"{name} runs {program}, which the image lacks")
            known = known_variables(program)
            for var in s.get("environment", {}):
                self.assertIn(var, known, f"{name}: {program} does not read {var}")

    def test_socket_addresses_agree(self):
        # each store listens on its own name (its jobs address tells its rows apart);
        # the gateway and the enrichers dial every store, in the same order
        ids = set()
        for var in ("TRIAGE_STORE_URL", "TRIAGE_EVENTS_URL", "TRIAGE_JOBS_URL", "TRIAGE_RESULTS_URL"):
            want = []
            for store in STORES:
                listen = self.services[store]["environment"]
                ids.add(listen["TRIAGE_STORE_ID"])
                self.assertRegex(listen[var], rf"^tcp://{store}:\d+$", f"{store} {var}")
                want.append(listen[var])
            for name in ("gateway", "enricher"):
                env = self.services[name]["environment"]
                if var in env:
                    self.assertEqual(env[var], ",".join(want), f"{name} {var}")
        self.assertEqual(len(ids), len(STORES))

    def test_dockerfile_uses_debian_12_and_the_build_packages(self):
        self.assertEqual(re.findall(r"^FROM (\S+)", self.dockerfile, re.M), ["debian:12", "debian:12"])
        with open(os.path.join(SOURCE_DIR, "scripts", "deps.sh")) as f:
            deps = f.read()
        wanted = re.search(r"want=\((.*?)\)", deps, re.S).group(1).split()
        libs = [p for p in wanted if p.startswith("lib") and p.endswith("-dev") and p != "libcmocka-dev"]
        self.assertGreater(len(libs), 4)
        build_stage = self.dockerfile.split("FROM debian:12", 2)[1]
        for p in libs:
            self.assertIn(p, build_stage, f"the image is built without {p}")


class SystemdTest(unittest.TestCase):
    def test_units_verify(self):
        analyze = shutil.which("systemd-analyze")
        self.assertIsNotNone(analyze, "systemd-analyze is missing (scripts/deps.sh test)")
        src = os.path.join(SOURCE_DIR, "deploy", "systemd")
        tmp = tempfile.mkdtemp(prefix="units-")
        self.addCleanup(shutil.rmtree, tmp)
        env_file = os.path.join(src, "triage.env")
        units = []
        for name in sorted(os.listdir(src)):
            if not name.endswith(".service"):
                continue
            with open(os.path.join(src, name)) as f:
                text = f.read()
            # the installed paths, pointed at this build
            text = text.replace("/usr/local/bin/", BIN_DIR + "/").replace("/etc/triage/triage.env", env_file)
            out = name.replace("@.service", "@1.service")
            with open(os.path.join(tmp, out), "w") as f:
                f.write(text)
            units.append(os.path.join(tmp, out))
        self.assertEqual(len(units), 4)
        r = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # warnings (an unknown key, a bad value) do not change the exit code: none allowed
        self.assertEqual(r.stdout + r.stderr, "")

    def test_environment_file_names_only_known_variables(self):
        known = set().union(*(known_variables(p) for p in PROGRAMS))
        with open(os.path.join(SOURCE_DIR, "deploy", "systemd", "triage.env")) as f:
            names = re.findall(r"^(TRIAGE_[A-Z0-9_]+)=", f.read(), re.M)
        self.assertGreater(len(names), 5)
        for n in names:
            self.assertIn(n, known)


if __name__ == "__main__":
    unittest.main()
