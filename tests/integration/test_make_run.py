"""scripts/run.sh (`make run`) as a user meets it: it upgrades a private PostgreSQL made
with trust by an older version to password authentication, brings the stack up,
restarts a service that dies (with a log line), and Ctrl-C (SIGINT) stops everything in
order. Its folder is a temporary TRIAGE_RUN_VAR, never the checkout's var/."""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import free_port, http_request, wait_for
from harness.pg import PG_BIN
from harness.stack import BIN_DIR, SOURCE_DIR


def children(pid, name):
    """Pids of the direct children of pid whose command name is name (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and comm == name[:15]:
            found.append(int(entry))
    return found


class MakeRunTest(unittest.TestCase):
    def setUp(self):
        self.var = tempfile.mkdtemp(prefix="triage-run-")
        os.chmod(self.var, 0o755)  # PostgreSQL may run as another user
        self.addCleanup(shutil.rmtree, self.var, True)
        self.sock = tempfile.mkdtemp(prefix="trr-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.sock, True)
        self.pg_port = free_port()
        self.http_port = free_port()
        self.pg_user = None
        if os.geteuid() == 0:
            self.pg_user = pwd.getpwnam("postgres") if _has_user("postgres") else \
                pwd.getpwnam("nobody")

    def as_pg(self, argv):
        if self.pg_user:
            argv = ["runuser", "-u", self.pg_user.pw_name, "--"] + argv
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    def old_trust_cluster(self):
        """What `make run` made before: initdb -A trust in var/pg/data."""
        pg = os.path.join(self.var, "pg")
        os.makedirs(pg)
        if self.pg_user:
            os.chown(pg, self.pg_user.pw_uid, self.pg_user.pw_gid)
        self.as_pg([os.path.join(PG_BIN, "initdb"), "-D", os.path.join(pg, "data"), "-A",
                    "trust", "-U", "triage", "-E", "UTF8", "--locale=C", "--no-sync"])
        return os.path.join(pg, "data")

    def start_run(self):
        env = dict(os.environ)
        for k in ("TRIAGE_DATABASE_URL", "PGPASSFILE", "PGPASSWORD"):
            env.pop(k, None)
        env.update({
            "TRIAGE_RUN_VAR": self.var, "TRIAGE_PG_PORT": str(self.pg_port),
            "TRIAGE_HTTP_PORT": str(self.http_port), "TRIAGE_ENRICHERS": "1",
            "TRIAGE_LLM_BACKEND": "rules",
            "TRIAGE_STORE_URL": f"ipc://{self.sock}/store.ipc",
            "TRIAGE_EVENTS_URL": f"ipc://{self.sock}/events.ipc",
            "TRIAGE_JOBS_URL": f"ipc://{self.sock}/jobs.ipc",
            "TRIAGE_RESULTS_URL": f"ipc://{self.sock}/results.ipc",
        })
        p = subprocess.Popen(["bash", os.path.join(SOURCE_DIR, "scripts", "run.sh"), BIN_DIR],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, stdin=subprocess.DEVNULL)
        self.out = []
        threading.Thread(target=lambda: [self.out.append(l.rstrip("\n")) for l in p.stdout],
                         daemon=True).start()

        def cleanup():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.addCleanup(cleanup)
        return p

    def ready(self):
        try:
            return http_request(self.http_port, "GET", "/readyz", timeout=5).status == 200
        except (OSError, ValueError):
            return False

    def said(self, text):
        return any(text in line for line in list(self.out))

    def test_upgrade_supervise_and_stop_in_order(self):
        data = self.old_trust_cluster()
        run = self.start_run()
        wait_for(lambda: self.said("Dashboard:") or run.poll() is not None, 120,
                 "make run to bring the stack up")
        self.assertIsNone(run.poll(), "\n".join(self.out))
        self.assertTrue(self.said("switching it to scram-sha-256"), "\n".join(self.out))

        # The private PostgreSQL now wants the password: none given, refused.
        with open(os.path.join(data, "pg_hba.conf")) as f:
            hba = [l for l in f.read().splitlines() if l.strip() and not l.startswith("#")]
        self.assertFalse([l for l in hba if "trust" in l.split()], hba)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        r = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U",
                            "triage", "-d", "triage", "-w", "-c", "SELECT 1"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"password")
        self.assertEqual(os.stat(os.path.join(self.var, "pg", "pgpass")).st_mode & 0o777, 0o600)
        wait_for(self.ready, 30, "the gateway to be ready")

        # A service that dies comes back, with a line saying so.
        gateway = children(run.pid, "triage-gateway")
        self.assertEqual(len(gateway), 1, gateway)
        os.kill(gateway[0], signal.SIGKILL)
        wait_for(lambda: self.said("run: gateway exited"), 30, "the exit to be noticed")
        wait_for(lambda: self.said("run: gateway restarted"), 30, "the gateway to restart")
        wait_for(self.ready, 30, "the restarted gateway to be ready")
        again = children(run.pid, "triage-gateway")
        self.assertEqual(len(again), 1, again)
        self.assertNotEqual(again, gateway)

        # Ctrl-C: everything stops, in order, and nothing is left running.
        services = [c for n in ("triage-store", "triage-gateway", "triage-enricher",
                                "triage-notifier")
                    for c in children(run.pid, n)]
        run.send_signal(signal.SIGINT)
        self.assertEqual(run.wait(60), 0, "\n".join(self.out))
        wait_for(lambda: len(self.out) and self.said("PostgreSQL stopped"), 10, "the last line")
        order = [l for l in self.out if l.endswith(" stopped")]
        self.assertEqual(order, ["run: notifier stopped", "run: enricher1 stopped", "run: gateway stopped",
                                 "run: store stopped", "run: PostgreSQL stopped"], self.out)
        for pid in services:
            self.assertFalse(os.path.exists(f"/proc/{pid}") and _alive(pid), pid)


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
