"""The pipeline's real processes for one test: store, gateway(s), enrichers and the fake
LLM server, each on private ipc:// addresses and free ports, logging to files that are
checked for sanitizer reports when the stack closes."""

import json
import os
import re
import shutil
import sys
import signal
import subprocess
import tempfile
import threading

from .util import free_port, http_request, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("TRIAGE_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
BIN_DIR = os.environ.get("TRIAGE_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
TMP_ROOT = os.environ.get("TRIAGE_TEST_TMP", os.path.join(SOURCE_DIR, "build", "testrun"))
DEV_KEY = "secret123"

# What a sanitizer (or a crash) prints; any of these in a log fails the test.
SANITIZER_PATTERNS = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"WARNING: ThreadSanitizer|AddressSanitizer:DEADLYSIGNAL|SUMMARY: UndefinedBehaviorSanitizer")


# tests/lsan.supp names library leaks we cannot fix (nng 1.5.2 dropping a message when
# a pipe closes mid-send). A few per process are that bug; more would be a leak of ours
# hiding behind the entry, so a process whose suppressed leaks exceed the cap fails.
# (A test may give a process a suppression file of its own, e.g. nng #1518's listener
# leak in test_socket_abuse.py: its entries are that test's business, not capped here.)
SUPPRESSED_MAX = {"proto_bytes_to_nng": 16}
SUPPRESSED_LINE = re.compile(r"^\s+(\d+)\s+(\d+)\s+(\S+)\s*$", re.M)


def suppressed_leaks(text):
    """(objects, template) for each LeakSanitizer suppression the log says matched."""
    at = text.rfind("Suppressions used:")
    if at < 0:
        return []
    table = text[at:].split("-----", 1)[0]
    return [(int(m.group(1)), m.group(3)) for m in SUPPRESSED_LINE.finditer(table)]


def suppression_problems(text):
    """Sentences for each suppression that matched more leaks than the library makes."""
    return [f"leaked {count} objects under the suppression {template} "
            f"(at most {SUPPRESSED_MAX[template]} are the library's; tests/lsan.supp)"
            for count, template in suppressed_leaks(text)
            if count > SUPPRESSED_MAX.get(template, count)]


# Seconds a process gets to exit after SIGTERM before the harness kills it (and fails the
# test). Short on purpose: every service stops in well under a second when healthy.
GRACE = float(os.environ.get("TRIAGE_TEST_GRACE", "10"))

# Sanitizer options for every process the harness starts. halt_on_error makes a report
# also a non-zero exit; the report itself is found in the log whatever the exit code.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": f"suppressions={os.path.join(SOURCE_DIR, 'tests', 'lsan.supp')}",
    "TSAN_OPTIONS": "halt_on_error=0:second_deadlock_stack=1:"
                    f"suppressions={os.path.join(SOURCE_DIR, 'tests', 'tsan.supp')}",
}


class Proc:
    """One process the harness started, logging stdout and stderr to log_path. It keeps
    what the test did to it, so problems() can tell a failure from a deliberate kill:
    every exit is a failure unless it is 0, the signal the test sent through kill(), or
    an exit the test waited for and checked with expect_exit()."""

    def __init__(self, name, argv, env, log_path, stdin=None, grace=None):
        self.name = name
        self.grace = GRACE if grace is None else grace
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL if stdin is None else stdin)
        self.deliberate_signal = None   # the signal a kill() sent on purpose
        self.exit_expected = False      # the test checked the exit code itself
        self.forced = None              # why the harness had to SIGKILL it
        self.unkillable = False         # still alive after SIGKILL

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def send_signal(self, sig):
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Sends sig and waits up to timeout seconds (GRACE by default) for the exit. A
        process still running then is SIGKILLed and recorded as a failure. Returns the
        exit code (negative: the signal that ended it)."""
        timeout = self.grace if timeout is None else timeout
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.forced = f"still running {timeout:g}s after {signal.Signals(sig).name}"
                self.popen.kill()
                try:
                    self.popen.wait(10)
                except subprocess.TimeoutExpired:
                    self.unkillable = True
        if not self.log.closed and not self.alive():
            self.log.close()
        return self.popen.returncode

    def kill(self, sig=signal.SIGKILL):
        """A deliberate kill: the exit by sig is not a failure."""
        self.deliberate_signal = sig
        return self.stop(sig)

    def expect_exit(self, timeout=20.0):
        """Waits for the process to exit by itself and returns the code; the test asserts
        it, so a non-zero code is not reported again at close."""
        code = self.popen.wait(timeout)
        self.exit_expected = True
        if not self.log.closed:
            self.log.close()
        return code

    def problems(self):
        """What went wrong with this process, as sentences; [] when nothing did."""
        out = []
        code = self.popen.poll()
        if self.unkillable:
            out.append("still alive after SIGKILL")
        elif code is None:
            out.append("still running (never stopped)")
        if self.forced:
            out.append(f"needed a forced kill: {self.forced}")
        elif code not in (None, 0) and not self.exit_expected:
            if code < 0 and self.deliberate_signal is not None and -code == self.deliberate_signal:
                pass
            elif code < 0:
                out.append(f"killed by {signal.Signals(-code).name}")
            else:
                out.append(f"exited with status {code}")
        text = self.text()
        if SANITIZER_PATTERNS.search(text):
            out.append("printed a sanitizer report")
        out += suppression_problems(text)
        return out

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class FakeLLM:
    """tests/fakellm/fakellm.py in its own process, driven over HTTP (/_control, /_stats)."""

    def __init__(self, stack_dir, api_key=None):
        self.port_file = os.path.join(stack_dir, "fakellm.port")
        argv = ["python3", os.path.join(SOURCE_DIR, "tests", "fakellm", "fakellm.py"),
                "--port", "0", "--port-file", self.port_file]
        if api_key:
            argv += ["--api-key", api_key]
        self.proc = Proc("fakellm", argv, dict(os.environ), os.path.join(stack_dir, "fakellm.log"))
        self.port = int(wait_for(self._read_port, 15, "the fake LLM server to write its port"))
        self.url = f"http://127.0.0.1:{self.port}"

    def _read_port(self):
        if not os.path.exists(self.port_file):
            return None
        with open(self.port_file) as f:
            return f.read().strip()

    def control(self, **settings):
        r = http_request(self.port, "POST", "/_control", settings)
        assert r.status == 200, r
        return r.json

    def stats(self):
        r = http_request(self.port, "GET", "/_stats")
        assert r.status == 200, r
        return r.json

    def stop(self):
        return self.proc.stop()

    def kill(self):
        return self.proc.kill()

    def close(self):
        """Stops the server and fails like Stack.close() if it exited badly."""
        self.stop()
        what = self.proc.problems()
        if what:
            raise AssertionError(f"fakellm ({self.proc.log_path}): {'; '.join(what)}\n"
                                 f"{self.proc.text()[-6000:]}")


class Stack:
    """A private pipeline. pg is a harness.Postgres (started); each Stack gets its own
    database on it. Processes start when asked, so a test can kill and restart any."""

    def __init__(self, name, pg, env=None, database=None, grace=None):
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.name = name
        self.grace = GRACE if grace is None else grace
        self.pg = pg
        self.dir = tempfile.mkdtemp(prefix=f"{name}-", dir=TMP_ROOT)
        # ipc:// paths must stay short (sun_path is ~107 bytes): keep them under /tmp.
        self.sock_dir = tempfile.mkdtemp(prefix="trs-", dir="/tmp")
        self.database = database or re.sub(r"[^a-z0-9_]", "_", os.path.basename(self.dir).lower())
        self.db_url = pg.create_database(self.database) if pg else None
        self.http_port = free_port()
        self.procs = {}
        self.finished = []
        self.fakellm = None
        self.key = DEV_KEY
        self.env = {
            "TRIAGE_DATABASE_URL": self.db_url or "",
            "TRIAGE_STORE_URL": f"ipc://{self.sock_dir}/store.ipc",
            "TRIAGE_EVENTS_URL": f"ipc://{self.sock_dir}/events.ipc",
            "TRIAGE_JOBS_URL": f"ipc://{self.sock_dir}/jobs.ipc",
            "TRIAGE_RESULTS_URL": f"ipc://{self.sock_dir}/results.ipc",
            "TRIAGE_HTTP_ADDR": "127.0.0.1",
            "TRIAGE_HTTP_PORT": str(self.http_port),
            "TRIAGE_SQL_DIR": os.path.join(SOURCE_DIR, "sql"),
            "TRIAGE_WEB_DIR": os.path.join(SOURCE_DIR, "web"),
            "TRIAGE_LOG_LEVEL": "debug",
            # No corpus model unless a test asks for one (TRIAGE_CORPUS_DIR in its env):
            # the first training costs seconds of a core at every store start (tens under
            # ASan), which the rest of the suite should not pay.
            "TRIAGE_CORPUS_DIR": "",
            # An enricher lets calls in flight finish this long after SIGTERM; it must stay
            # well under the harness's GRACE, or a slow fake LLM makes a clean stop a kill.
            "TRIAGE_SHUTDOWN_GRACE_MS": str(int(min(3.0, self.grace / 3) * 1000)),
        }
        self.env.update(SANITIZER_ENV)
        self.env.update(env or {})

    # -- processes -------------------------------------------------------------

    def _env(self, extra):
        e = dict(os.environ)
        e.update(self.env)
        e.update({k: str(v) for k, v in (extra or {}).items()})
        return e

    def start(self, name, binary, env=None, args=(), netns=None):
        """Starts BIN_DIR/binary as process `name` (replacing a stopped one), inside the
        network namespace netns when given (`ip netns exec` execs it: same pid)."""
        old = self.procs.get(name)
        assert old is None or not old.alive(), f"{name} is already running"
        if old:
            self.finished.append(old)
        log = os.path.join(self.dir, f"{name}.log")
        prefix = ["ip", "netns", "exec", netns] if netns else []
        p = Proc(name, [*prefix, os.path.join(BIN_DIR, binary), *args], self._env(env), log,
                 grace=self.grace)
        self.procs[name] = p
        return p

    def start_store(self, env=None, name="store"):
        return self.start(name, "triage-store", env)

    def start_gateway(self, env=None, name="gateway", wait=True):
        p = self.start(name, "triage-gateway", env)
        if wait:
            port = int((env or {}).get("TRIAGE_HTTP_PORT", self.http_port))
            wait_for(lambda: self._healthy(port) or not p.alive(), 20, f"{name} to answer /healthz")
            assert p.alive(), f"{name} exited: {p.text()[-2000:]}"
        return p

    def start_enricher(self, name="enricher", env=None, llm=None):
        """llm: None (the enricher's own configuration), 'rules', or a FakeLLM: the
        enricher talks Ollama's API to it (env may switch it to the openai backend)."""
        extra = {}
        if llm == "rules":
            extra["TRIAGE_LLM_BACKEND"] = "rules"
        elif llm is not None:
            extra.update({"TRIAGE_LLM_BACKEND": "ollama", "TRIAGE_OLLAMA_URL": llm.url,
                          "TRIAGE_OPENAI_URL": llm.url})
        extra["TRIAGE_ENRICHER_ID"] = name
        extra.update(env or {})
        return self.start(name, "triage-enricher", extra)

    def start_notifier(self, name="notifier", env=None):
        """A triage-notifier on this stack's database (migrations are the store's job:
        start the store first)."""
        extra = {"TRIAGE_NOTIFIER_ID": name}
        extra.update(env or {})
        return self.start(name, "triage-notifier", extra)

    def start_fakellm(self, api_key=None):
        self.fakellm = FakeLLM(self.dir, api_key)
        return self.fakellm

    def start_all(self, enrichers=2, llm="fake", enricher_env=None):
        """Store, gateway (ready), and enrichers on the fake LLM server or rules."""
        if llm == "fake" and not self.fakellm:
            self.start_fakellm()
        self.start_store()
        self.start_gateway()
        self.wait_ready()
        for i in range(enrichers):
            self.start_enricher(f"enricher{i + 1}", env=enricher_env,
                                llm=self.fakellm if llm == "fake" else llm)
        return self

    def stop(self, name, sig=signal.SIGTERM, timeout=None):
        """Stops process name with sig (SIGTERM); fails the test at close unless it
        exits 0 within timeout (GRACE). Returns the exit code."""
        return self.procs[name].stop(sig, timeout)

    def kill(self, name, sig=signal.SIGKILL):
        """Kills process name on purpose: its death by sig is not a failure."""
        return self.procs[name].kill(sig)

    # -- HTTP ------------------------------------------------------------------

    def _healthy(self, port):
        try:
            return http_request(port, "GET", "/healthz", timeout=2).status == 200
        except OSError:
            return False

    def request(self, method, path, body=None, headers=None, key=True, port=None, timeout=30.0):
        h = {}
        if key is True:
            h["X-API-KEY"] = self.key
        elif key:
            h["X-API-KEY"] = key
        h.update(headers or {})
        return http_request(port or self.http_port, method, path, body, h, timeout)

    def submit(self, title="Disk Full", description="Production disk at 100%", **fields):
        body = {"title": title, "description": description}
        body.update(fields)
        r = self.request("POST", "/incidents", body)
        assert r.status == 202, r
        return r.json

    def incident(self, incident_id):
        r = self.request("GET", f"/incidents/{incident_id}")
        assert r.status == 200, r
        return r.json

    def wait_ready(self, timeout=30):
        wait_for(lambda: self.request("GET", "/readyz", key=False, timeout=5).status == 200,
                 timeout, "the gateway to be ready (store answers, database commits)")

    def wait_status(self, incident_id, statuses, timeout=30):
        """Waits until the incident's triage status is one of statuses; returns it."""
        if isinstance(statuses, str):
            statuses = (statuses,)

        def check():
            inc = self.incident(incident_id)
            return inc if inc["status"] in statuses else None
        return wait_for(check, timeout, f"incident {incident_id} to become {'/'.join(statuses)}")

    def sql(self, query):
        return self.pg.psql(query, db=self.database)

    def scalar(self, query):
        return self.pg.scalar(query, db=self.database)

    # -- teardown --------------------------------------------------------------

    def all_procs(self):
        procs = self.finished + list(self.procs.values())
        if self.fakellm:
            procs.append(self.fakellm.proc)
        return procs

    def problems(self):
        """Every process's problems, each named with its log's tail."""
        found = []
        for p in self.all_procs():
            what = p.problems()
            if what:
                found.append(f"--- {p.name} (pid {p.pid}, {p.log_path}): {'; '.join(what)} ---\n"
                             f"{p.text()[-6000:]}")
        return found

    def close(self, test_failed=False):
        """Stops every process (SIGTERM, in reverse start order, GRACE seconds each) and
        fails if any exited non-zero (other than by a deliberate kill), had to be killed,
        or printed a sanitizer report. Keeps logs only when something failed: a process,
        or the test itself (test_failed; their folder is then printed)."""
        for p in reversed(list(self.procs.values())):
            p.stop()
        if self.fakellm:
            self.fakellm.stop()
        found = self.problems()
        for p in self.all_procs():
            for count, template in suppressed_leaks(p.text()):
                print(f"note: {p.name} leaked {count} objects under the suppression "
                      f"{template} (tests/lsan.supp)", file=sys.stderr)
        shutil.rmtree(self.sock_dir, ignore_errors=True)
        if found:
            raise AssertionError(f"{len(found)} process(es) of stack {self.name} failed:\n"
                                 + "\n".join(found))
        if test_failed:
            print(f"note: the test failed; its processes' logs are kept in {self.dir}",
                  file=sys.stderr)
            return
        if os.environ.get("TRIAGE_TEST_KEEP_LOGS"):  # a passing run's logs, for study
            print(f"note: logs kept in {self.dir} (TRIAGE_TEST_KEEP_LOGS)", file=sys.stderr)
            return
        shutil.rmtree(self.dir, ignore_errors=True)


class SSEStream:
    """A reader of the gateway's /events in a thread: frames land in .frames as dicts
    {"event", "id", "data"} (data parsed as JSON when it is JSON), comment lines in
    .comments; .ended is set when the stream ends. A refused stream (status not 200)
    keeps its body in .body. key=None sends no X-API-KEY."""

    def __init__(self, port, key=DEV_KEY, last_event_id=None, headers=None):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        h = {"Accept": "text/event-stream"}
        if key:
            h["X-API-KEY"] = key
        if last_event_id:
            h["Last-Event-ID"] = last_event_id
        h.update(headers or {})
        conn.request("GET", "/events", headers=h)
        self._adopt(conn, conn.getresponse())

    @classmethod
    def from_response(cls, conn, resp):
        """Reads a stream the caller opened itself (e.g. on a socket it tuned)."""
        self = cls.__new__(cls)
        self._adopt(conn, resp)
        return self

    def _adopt(self, conn, resp):
        self.frames = []
        self.comments = []
        self.lock = threading.Lock()
        self.ended = threading.Event()
        self.conn, self.resp = conn, resp
        self.status = resp.status
        self.headers = resp.getheaders()
        self.header = resp.getheader
        self.body = None
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = resp.read()
            self.ended.set()

    def _read(self):
        import http.client
        frame = {}
        try:
            while True:
                line = self.resp.readline()  # de-chunked by http.client
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if frame:
                        if "data" in frame:
                            try:
                                frame["data"] = json.loads(frame["data"])
                            except ValueError:
                                pass
                        with self.lock:
                            self.frames.append(frame)
                        frame = {}
                    continue
                if line.startswith(":"):
                    with self.lock:
                        self.comments.append(line)
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data" and "data" in frame:
                    frame["data"] += "\n" + value
                else:
                    frame[field] = value
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass
        finally:
            self.ended.set()

    def events(self, kind=None):
        with self.lock:
            return [f for f in self.frames if kind is None or f.get("event") == kind]

    def close(self):
        try:
            if self.conn.sock:
                self.conn.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()
