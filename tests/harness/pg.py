"""A private PostgreSQL cluster for one test run: initdb in a temp folder, a free port,
readiness polling. Never a shared cluster. initdb refuses to run as root, so as root the
cluster runs as an unprivileged user (postgres if it exists, else nobody). Password
authentication (scram-sha-256) on TCP and the Unix socket, never trust: the password is
random per cluster and travels in the URLs url() and socket_url() return."""

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile

from .util import free_port, wait_for

PG_BIN = os.environ.get("TRIAGE_PG_BIN", "/usr/lib/postgresql/15/bin")


def _run_as():
    """The user that owns and runs the cluster: None means 'ourselves'."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user to run PostgreSQL as")


class Postgres:
    """One cluster. Data lives under /tmp so an unprivileged user can reach it whatever
    the checkout's permissions are."""

    def __init__(self, fsync=False):
        self.user = _run_as()
        self.dir = tempfile.mkdtemp(prefix="triage-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.fsync = fsync
        self.password = secrets.token_hex(16)
        if self.user:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._initdb()

    def _cmd(self, argv, **kw):
        if self.user:
            argv = ["runuser", "-u", self.user.pw_name, "--"] + argv
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, **kw)

    def _initdb(self):
        pwfile = os.path.join(self.dir, "initdb.pw")
        with open(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(self.password + "\n")
        if self.user:
            os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        try:
            self._cmd([os.path.join(PG_BIN, "initdb"), "-D", self.data,
                       "--auth=scram-sha-256", "--pwfile", pwfile,
                       "-U", "triage", "-E", "UTF8", "--locale=C", "--no-sync"])
        finally:
            os.unlink(pwfile)
        conf = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.dir}'",
            "max_connections = 200",
            f"fsync = {'on' if self.fsync else 'off'}",
            "synchronous_commit = on",
            f"full_page_writes = {'on' if self.fsync else 'off'}",
            "shared_buffers = 128MB",
            "log_min_messages = warning",
        ]
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n".join(conf) + "\n")
        if self.user:
            subprocess.run(["chown", "-R", f"{self.user.pw_uid}:{self.user.pw_gid}", self.dir],
                           check=True)

    def start(self):
        self._cmd([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log,
                   "-w", "-t", "60", "start"])
        wait_for(lambda: self._ready(), 30, "PostgreSQL to accept connections")
        return self

    def _ready(self):
        r = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", "triage"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def stop(self, mode="fast"):
        self._cmd([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode,
                   "-w", "-t", "60", "stop"])

    def destroy(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db="postgres"):
        return f"postgresql://triage:{self.password}@127.0.0.1:{self.port}/{db}"

    def socket_url(self, db="postgres"):
        """The same database over the Unix socket (cheaper than TCP loopback)."""
        return (f"postgresql://triage:{self.password}@/{db}"
                f"?host={self.dir}&port={self.port}")

    def create_database(self, name):
        self.psql(f'CREATE DATABASE "{name}"', db="postgres")
        return self.url(name)

    def psql(self, sql, db="postgres"):
        """Runs sql and returns the rows as lists of strings (NULL as None)."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\x1f", "-P", "null=\x1e",
                            "-v", "ON_ERROR_STOP=1", "-d", self.url(db), "-c", sql],
                           check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        rows = []
        for line in r.stdout.split("\n"):
            if line == "":
                continue
            rows.append([None if v == "\x1e" else v for v in line.split("\x1f")])
        return rows

    def scalar(self, sql, db="postgres"):
        rows = self.psql(sql, db)
        return rows[0][0] if rows else None
