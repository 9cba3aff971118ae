"""Realistic incident history for the memory benchmark and the query-plan test: rows in
PostgreSQL COPY text format on stdout (columns: COLUMNS below; with "pre011" as the third
argument COLUMNS_PRE011, the schema before migration 011). Deterministic per seed.

    python3 bench/incidents_gen.py 1000000 | psql -c "COPY incidents (...) FROM STDIN"
"""

import json
import random
import sys

COLUMNS = ("request_id, title, description, source, service, labels, fingerprint, status, "
           "summary, severity, category, backend, model, prompt_version, triaged_at, "
           "finished_at, state, resolved_at, resolution_note, triage_feedback, created_at, "
           "updated_at, last_seen_at")

COLUMNS_PRE011 = COLUMNS.replace("resolution_note, triage_feedback, ", "")

SERVICES = ["payments", "checkout", "search", "auth", "billing", "inventory", "orders",
            "notifications", "reporting", "gateway", "catalog", "shipping", "ledger", "profile"]
SOURCES = ["alertmanager", "grafana", "pagerduty", "api", "datadog", "nagios"]
REGIONS = ["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"]
TEAMS = ["sre", "platform", "data", "payments", "web", "mobile"]
# (title, description, severity, category, resolution)
TEMPLATES = [
    ("Disk full on {host}", "{mount} on {host} is at {pct}% and growing; writes are failing "
     "for {service}.", "high", "storage", "Rotated and compressed logs under {mount}; grew the "
     "volume by 50 GB."),
    ("High CPU on {host}", "CPU at {pct}% for 15 minutes on {host}; {service} latency p99 up "
     "to {ms} ms.", "medium", "compute", "A runaway cron job; killed it and moved it off-peak."),
    ("{service} 5xx errors above threshold", "Error rate {pct}% on {service} since the last "
     "deploy; NullPointerException in the request handler.", "high", "application",
     "Rolled back release {ver}; fixed the null check."),
    ("Database connection pool exhausted on {host}", "pgbouncer pool for {service} is full; "
     "clients wait {ms} ms for a connection.", "high", "database",
     "Restarted the pgbouncer pool and raised default_pool_size."),
    ("Replication lag on {host}", "Replica {host} is {ms} ms behind the primary; reads of "
     "{service} are stale.", "medium", "database", "A long vacuum on the primary; it finished."),
    ("TLS certificate expiring for {service}", "The certificate of {service}.example.com "
     "expires in {days} days.", "medium", "network", "Renewed with certbot and reloaded nginx."),
    ("DNS resolution failures in {region}", "Lookups of {service}.internal time out from "
     "{region}; {pct}% of requests fail.", "critical", "network",
     "The resolver pod crashed; restarted coredns and added a second replica."),
    ("OOMKilled pods in {service}", "Pods of {service} restart with OOMKilled every {days} "
     "minutes on {host}.", "high", "compute", "Raised the memory limit to 2 GiB; leak fixed in "
     "{ver}."),
    ("Backup job failed on {host}", "Nightly backup of {service} on {host} exited with "
     "status 1: no space left on device.", "medium", "storage",
     "Pruned old snapshots; the backup reran fine."),
    ("Deploy of {service} {ver} stuck", "The rollout of {service} {ver} is stuck at "
     "{pct}%; new pods fail readiness.", "medium", "deployment",
     "A missing config key; added it and resumed the rollout."),
    ("Payment provider timeouts", "Calls to the payment provider from {service} time out "
     "after {ms} ms; {pct}% of checkouts fail.", "critical", "dependency",
     "Provider incident; failed over to the secondary provider."),
    ("Suspicious logins on {service}", "{pct} failed logins per minute from a few IPs "
     "against {service}.", "high", "security", "Blocked the IP range at the WAF and "
     "rotated the exposed keys."),
    ("Typo on the {service} settings page", "A label on the {service} settings page "
     "reads 'Sumbit'.", "low", "application", "Fixed the label."),
    ("Load balancer health checks flapping in {region}", "Targets of {service} in "
     "{region} flap between healthy and unhealthy.", "medium", "network",
     "The health check timeout was too short; raised it to 5 s."),
    ("Slow queries on {host}", "Queries of {service} on {host} take {ms} ms; a sequential "
     "scan on the orders table.", "medium", "database", "Added the missing index."),
    ("Memory leak in {service}", "Resident memory of {service} grows {pct} MB an hour "
     "on {host}.", "medium", "application", "Fixed an unbounded cache in {ver}."),
]


def rows(n, seed=1):
    rnd = random.Random(seed)
    base = 1_700_000_000  # about 2023-11
    span = 2 * 365 * 86400
    for i in range(n):
        t = TEMPLATES[rnd.randrange(len(TEMPLATES))]
        service = rnd.choice(SERVICES)
        host = f"{rnd.choice(['db', 'web', 'api', 'cache', 'worker'])}-{service[:4]}-{rnd.randrange(1, 60):02d}"
        v = dict(host=host, service=service, region=rnd.choice(REGIONS), pct=rnd.randrange(5, 100),
                 ms=rnd.randrange(100, 9000), days=rnd.randrange(1, 30),
                 mount=rnd.choice(["/var", "/data", "/srv", "/tmp"]),
                 ver=f"v{rnd.randrange(1, 9)}.{rnd.randrange(0, 40)}.{rnd.randrange(0, 9)}")
        title = t[0].format(**v)
        desc = t[1].format(**v)
        if rnd.random() < 0.3:
            desc += " " + " ".join(rnd.choice(["Seen by on-call.", "Customers reported it.",
                                               "Started after maintenance.",
                                               "Graphs attached in the channel."])
                                   for _ in range(rnd.randrange(1, 4)))
        labels = {"env": rnd.choice(["prod", "prod", "prod", "staging"]),
                  "team": rnd.choice(TEAMS), "region": v["region"]}
        created = base + int(span * i / n)
        resolved = i < n - 2000 and rnd.random() < 0.9
        note = t[4].format(**v) if resolved and rnd.random() < 0.6 else None
        feedback = rnd.choice([None, None, "right", "wrong"]) if resolved else None
        fields = [
            f"bench-{seed}-{i}", title, desc, rnd.choice(SOURCES), service,
            json.dumps(labels), f"fp-{i}", "triaged", f"{title}.", t[2], t[3], "rules",
            "builtin", "rules-v1", None, None, "resolved" if resolved else "open", None,
            note, feedback, None, None, None]
        yield fields, created, resolved


def esc(v):
    if v is None:
        return "\\N"
    return (str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def iso(epoch):
    import time
    return time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(epoch))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    pre011 = len(sys.argv) > 3 and sys.argv[3] == "pre011"
    out = sys.stdout
    buf = []
    for fields, created, resolved in rows(n, seed):
        c = iso(created)
        fields[14] = fields[15] = c                          # triaged_at, finished_at
        fields[17] = iso(created + 3600) if resolved else None  # resolved_at
        fields[20] = fields[21] = fields[22] = c
        if pre011:
            del fields[18:20]  # resolution_note, triage_feedback
        buf.append("\t".join(esc(f) for f in fields))
        if len(buf) >= 5000:
            out.write("\n".join(buf) + "\n")
            buf = []
    if buf:
        out.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main()
