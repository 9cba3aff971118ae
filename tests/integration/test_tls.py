"""Several hosts over mutual TLS (tls+tcp://): certificates from scripts/make-certs.sh;
a peer whose certificate another CA signed is refused (an enricher gets no incident, a
gateway no answer). First on loopback, then across three test hosts built with network
namespaces: the store (and its PostgreSQL, over the Unix socket) on one, two gateways on
another, three enrichers on a third."""

import json
import os
import subprocess
import unittest

from harness import PipelineTest, SOURCE_DIR, free_port, wait_for
from harness.netns import TestHosts

MAKE_CERTS = os.path.join(SOURCE_DIR, "scripts", "make-certs.sh")


def make_certs(d, *names):
    subprocess.run([MAKE_CERTS, d, *names], check=True, capture_output=True, timeout=120)
    return d


def tls_env(d, name):
    return {"TRIAGE_TLS_CA": f"{d}/ca.crt", "TRIAGE_TLS_CERT": f"{d}/{name}.crt",
            "TRIAGE_TLS_KEY": f"{d}/{name}.key"}


class TlsTest(PipelineTest):
    def setUp(self):
        super().setUp()
        s = self.stack
        self.certs = make_certs(os.path.join(s.dir, "certs"), "triage-store", "gateway",
                                "enricher1", "enricher2")
        # a CA of somebody else's, with a certificate for the store's name even
        self.rogue = make_certs(os.path.join(s.dir, "rogue"), "triage-store", "enricher")

    def urls(self, host):
        base = free_port()
        ports = [base] + [free_port() for _ in range(3)]
        names = ("TRIAGE_STORE_URL", "TRIAGE_EVENTS_URL", "TRIAGE_JOBS_URL", "TRIAGE_RESULTS_URL")
        return {n: f"tls+tcp://{host}:{p}" for n, p in zip(names, ports)}

    def test_mutual_tls_on_loopback(self):
        s = self.stack
        s.env.update(self.urls("127.0.0.1"))
        s.start_store(env=tls_env(self.certs, "triage-store"))
        s.start_gateway(env=tls_env(self.certs, "gateway"))
        s.wait_ready()
        # an enricher with a certificate from another CA: connected first, given nothing
        s.start_enricher("rogue", llm="rules", env=tls_env(self.rogue, "enricher"))
        inc = s.submit(title="Disk Full", description="Production disk at 100%")
        s.start_enricher("enricher1", llm="rules", env=tls_env(self.certs, "enricher1"))
        s.wait_status(inc["id"], "triaged")
        actors = {e["actor"] for e in s.incident(inc["id"])["timeline"]}
        self.assertIn("enricher:enricher1", actors)
        self.assertNotIn("enricher:rogue", actors)
        stats = s.request("GET", "/stats").json
        self.assertNotIn("rogue", json.dumps(stats))

        # a gateway with the other CA's certificate never reaches the store
        other = free_port()
        s.start_gateway(name="gateway2", env={**tls_env(self.rogue, "enricher"),
                                              "TRIAGE_HTTP_PORT": str(other)})
        r = s.request("GET", "/readyz", port=other, key=False)
        self.assertEqual(r.status, 503, r)
        # and one that expects another name for the store is refused by its own check
        s.start_gateway(name="gateway3", env={**tls_env(self.certs, "gateway"),
                                              "TRIAGE_HTTP_PORT": str(free_port()),
                                              "TRIAGE_TLS_SERVER_NAME": "not-the-store"})
        port3 = int(s.procs["gateway3"].env["TRIAGE_HTTP_PORT"])
        self.assertEqual(s.request("GET", "/readyz", port=port3, key=False).status, 503)
        # the good gateway stays (or is soon again) ready: the refused handshakes may make
        # the store's guard reopen its listeners (nng #1518), and its peers redial
        wait_for(lambda: s.request("GET", "/readyz", key=False).status == 200, 20,
                 "the good gateway ready after the refused ones")

    def test_incomplete_tls_configuration_is_refused(self):
        s = self.stack
        p = s.start_store(env={"TRIAGE_TLS_CA": f"{self.certs}/ca.crt"})
        self.assertEqual(p.expect_exit(30), 2)
        self.assertIn("TRIAGE_TLS_CERT", p.text())
        s.env.update(self.urls("127.0.0.1"))
        p = s.start_store()  # tls+tcp:// without certificates
        self.assertNotEqual(p.expect_exit(30), 0)
        self.assertIn("TRIAGE_TLS_CA, TRIAGE_TLS_CERT and TRIAGE_TLS_KEY", p.text())

    @unittest.skipUnless(os.geteuid() == 0, "network namespaces need root (CI runs as root)")
    def test_three_hosts(self):
        s = self.stack
        hosts = TestHosts({"db": "198.18.0.1", "gw": "198.18.0.2", "enr": "198.18.0.3"})
        self.addCleanup(hosts.close)
        s.env.update(self.urls("198.18.0.1"))
        # the store reaches its PostgreSQL over the Unix socket, on its own host
        s.env["TRIAGE_DATABASE_URL"] = self.pg.socket_url(s.database)
        s.start("store", "triage-store", env=tls_env(self.certs, "triage-store"),
                netns=hosts.ns("db"))
        for g in ("1", "2"):
            s.start(f"gateway{g}", "triage-gateway", netns=hosts.ns("gw"),
                    env={**tls_env(self.certs, "gateway"), "TRIAGE_HTTP_ADDR": "198.18.0.2",
                         "TRIAGE_HTTP_PORT": f"400{g}", "TRIAGE_API_KEYS": "k" * 32,
                         "TRIAGE_GATEWAY_ID": f"gw{g}"})
        for e in ("1", "2"):
            s.start(f"enricher{e}", "triage-enricher", netns=hosts.ns("enr"),
                    env={**tls_env(self.certs, f"enricher{e}"), "TRIAGE_LLM_BACKEND": "rules",
                         "TRIAGE_ENRICHER_ID": f"enricher{e}"})
        s.start("enricher3", "triage-enricher", netns=hosts.ns("enr"),
                env={**tls_env(self.certs, "enricher1"), "TRIAGE_LLM_BACKEND": "rules",
                     "TRIAGE_ENRICHER_ID": "enricher3"})
        s.start("rogue", "triage-enricher", netns=hosts.ns("enr"),
                env={**tls_env(self.rogue, "enricher"), "TRIAGE_LLM_BACKEND": "rules",
                     "TRIAGE_ENRICHER_ID": "rogue"})

        def curl(port, method, path, body=None):
            argv = ["curl", "-sS", "-X", method, "-H", "X-API-KEY: " + "k" * 32,
                    "-w", "\n%{http_code}", f"http://198.18.0.2:{port}{path}"]
            if body is not None:
                argv += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
            r = hosts.run("gw", argv, timeout=30)
            text, _, code = r.stdout.rpartition("\n")
            return int(code or 0), text

        for port in (4001, 4002):
            wait_for(lambda: curl(port, "GET", "/readyz")[0] == 200, 60,
                     f"the gateway on 198.18.0.2:{port} to reach the store over TLS")
        ids = []
        for i in range(6):
            code, text = curl(4001 + i % 2, "POST", "/incidents",
                              {"title": f"Disk Full {i}", "description": "disk at 100%"})
            self.assertEqual(code, 202, text)
            ids.append(json.loads(text)["id"])

        def triaged_by():
            actors = set()
            for i in ids:
                code, text = curl(4001, "GET", f"/incidents/{i}")
                inc = json.loads(text)
                if inc["status"] != "triaged":
                    return None
                actors |= {e["actor"] for e in inc["timeline"] if e["actor"].startswith("enricher:")}
            return actors
        actors = wait_for(triaged_by, 60, "every incident triaged across the hosts")
        self.assertNotIn("enricher:rogue", actors)
        self.assertTrue(actors <= {"enricher:enricher1", "enricher:enricher2", "enricher:enricher3"})
        code, text = curl(4002, "GET", "/stats")
        self.assertEqual(code, 200)
        self.assertNotIn("rogue", text)
        # no route leaves the test hosts: the gateways' host reaches only the others
        r = hosts.run("gw", ["ip", "route"], timeout=10)
        self.assertNotIn("default", r.stdout)


if __name__ == "__main__":
    unittest.main()
