/* rules_tables: the weighted terms and canned actions behind the rules engine.
 * Weights: 5 = nearly decisive, 3-4 = strong, 1-2 = supporting evidence. */
#include "rules_tables.h"

#define SET(a) { a, sizeof a / sizeof a[0] }

/* ---- categories (DESIGN.md's meanings) ---- */

static const rules_term compute_terms[] = {
	{"cpu", 3}, {"cpuutilization", 2}, {"load average", 3}, {"high load", 3},
	{"memory", 2}, {"out of memory", 4}, {"oom", 4}, {"oomkilled", 5}, {"oom killer", 4},
	{"swap", 2}, {"crash*", 2}, {"crashloop*", 5}, {"crashloopbackoff", 5},
	{"kernel panic", 5}, {"kernel", 2}, {"segfault*", 3}, {"core dump*", 3},
	{"node", 1}, {"nodes", 1}, {"notready", 4}, {"not ready", 3}, {"kubelet", 4},
	{"pod", 2}, {"pods", 2}, {"container", 1}, {"evicted", 2}, {"restart*", 1},
	{"host", 2}, {"hosts", 2}, {"hypervisor", 4}, {"vm", 2}, {"vms", 2},
	{"virtual machine*", 3}, {"bare-metal", 2}, {"server", 1}, {"instance", 1},
	{"heap", 1}, {"throttl*", 2}, {"build agent*", 2}, {"autoscal*", 1}, {"worker", 1},
};

static const rules_term storage_terms[] = {
	{"disk", 4}, {"disks", 4}, {"disk full", 5}, {"disk space", 5}, {"disk usage", 5},
	{"filesystem*", 4}, {"file system*", 4}, {"volume", 3}, {"volumes", 3},
	{"persistentvolume*", 5}, {"persistent volume*", 5}, {"pvc", 4}, {"nfs", 4},
	{"raid*", 4}, {"backup*", 3}, {"snapshot*", 2}, {"inode*", 4}, {"read-only", 3},
	{"mount*", 2}, {"i/o error*", 3}, {"iops", 3}, {"bucket", 3}, {"s3", 2},
	{"object storage", 4}, {"storage", 3}, {"ssd", 3}, {"hard drive*", 3},
	{"space left", 3}, {"free space", 3}, {"available space", 3}, {"no space left", 5},
	{"fill up", 2}, {"filling up", 2}, {"hot spare", 3}, {"logrotat*", 2},
	{"festplatte", 5}, {"speicherplatz", 5}, {"disco", 4}, {"ディスク", 5}, {"バックアップ", 3},
};

static const rules_term database_terms[] = {
	{"database*", 5}, {"db", 3}, {"postgres*", 5}, {"mysql*", 5}, {"mariadb", 5},
	{"mongo*", 4}, {"redis", 2}, {"cassandra", 4}, {"sql", 1}, {"rds", 4},
	{"query", 2}, {"queries", 2}, {"slow query", 4}, {"replication*", 4}, {"replica", 3},
	{"deadlock*", 5}, {"connection pool", 4}, {"too many connections", 5},
	{"drop table", 5}, {"table", 1}, {"transaction*", 2}, {"primary", 1},
	{"vacuum*", 3}, {"wal", 2}, {"elasticsearch", 2},
	{"base de datos", 6}, {"datenbank*", 6}, {"データベース", 6},
};

static const rules_term network_terms[] = {
	{"network*", 4}, {"dns", 5}, {"servfail", 5}, {"nxdomain", 5}, {"tls", 4}, {"ssl", 4},
	{"certificate*", 4}, {"cert", 3}, {"certs", 3}, {"load balancer*", 5}, {"lb", 2},
	{"packet loss", 5}, {"latency", 1}, {"connectivity", 4}, {"connection refused", 2},
	{"connection reset", 2}, {"vpn", 5}, {"firewall*", 3}, {"router*", 3}, {"bgp", 5},
	{"cdn", 3}, {"ingress", 2}, {"unreachable", 2}, {"bandwidth", 3}, {"proxy", 2},
	{"haproxy", 3}, {"health check*", 2}, {"subnet*", 3}, {"vpc", 3}, {"peering", 3},
	{"datacenter*", 1}, {"expir*", 1}, {"gateway", 1}, {"ping", 1}, {"netzwerk*", 5},
	{"ネットワーク", 5},
};

static const rules_term application_terms[] = {
	{"5xx", 4}, {"500", 2}, {"http 500", 3}, {"internal server error", 5},
	{"exception*", 4}, {"nullpointer*", 4}, {"stack trace*", 3}, {"traceback", 3},
	{"bug", 3}, {"bugs", 3}, {"error rate", 3}, {"error*", 1}, {"latency", 2},
	{"p99", 2}, {"response time*", 3}, {"endpoint*", 2}, {"api", 1}, {"login", 2},
	{"sign in", 2}, {"feature", 2}, {"page", 2}, {"website", 1}, {"frontend", 2},
	{"ui", 2}, {"button", 3}, {"typo", 4}, {"regression*", 2}, {"request*", 1},
	{"search", 1}, {"checkout", 1}, {"sentry", 3}, {"memory leak", 2}, {"app", 2},
	{"application", 3}, {"service", 1},
	{"mobile", 3}, {"android", 3}, {"ios", 3}, {"crash report*", 4}, {"cron*", 2},
	{"p95", 2}, {"p50", 2},
};

static const rules_term deployment_terms[] = {
	{"deploy*", 5}, {"release*", 4}, {"rollout*", 5}, {"roll out", 4}, {"rollback*", 5},
	{"roll back", 5}, {"rolling back", 5}, {"rolled back", 5}, {"canary", 5},
	{"feature flag*", 5}, {"config change*", 5}, {"configuration change*", 5},
	{"config", 2}, {"helm", 5}, {"argocd", 4}, {"argo", 2}, {"spinnaker", 4},
	{"jenkins", 2}, {"pipeline*", 2}, {"ci/cd", 3}, {"upgrade*", 3},
	{"imagepullbackoff", 5}, {"image tag", 3}, {"version", 2}, {"promoted", 2},
	{"migration*", 1}, {"hotfix", 4}, {"despliegue", 5},
};

static const rules_term security_terms[] = {
	{"security", 4}, {"breach*", 6}, {"attack*", 4}, {"brute force", 6}, {"ransomware", 7},
	{"malware", 6}, {"virus", 4}, {"phishing", 6}, {"exfiltrat*", 7}, {"intrusion*", 6},
	{"unauthori*", 4}, {"leaked", 4}, {"credential*", 4}, {"access key*", 4},
	{"api key*", 3}, {"password*", 2}, {"cve*", 5}, {"vulnerab*", 5}, {"exploit*", 5},
	{"waf", 4}, {"sql injection", 7}, {"xss", 6}, {"ddos", 5}, {"mfa", 2}, {"2fa", 1},
	{"suspicious", 4}, {"unusual", 2}, {"login attempts", 4}, {"failed login*", 4},
	{"privilege*", 3}, {"encrypted", 2}, {"edr", 3}, {"compromis*", 6}, {"audit*", 2},
	{"secret*", 2}, {"iam", 2}, {"cloudtrail", 2}, {"unknown ip*", 3},
	{"admin account*", 2}, {"locked out", 1}, {"sicherheit*", 4}, {"seguridad", 4},
};

static const rules_term dependency_terms[] = {
	{"third party", 6}, {"third-party", 6}, {"vendor*", 3}, {"provider*", 3},
	{"upstream", 2}, {"external api", 4}, {"status page", 4}, {"statuspage", 4},
	{"health dashboard", 4}, {"stripe*", 6}, {"twilio", 6}, {"sendgrid", 6},
	{"paypal", 6}, {"mailgun", 6}, {"aws", 3}, {"amazon web services", 4}, {"gcp", 3},
	{"google cloud", 4}, {"azure", 4}, {"cloudflare", 4}, {"github", 3}, {"saas", 3},
	{"deprecat*", 2}, {"slack", 2}, {"datadog", 2}, {"us-east-1", 2}, {"cloud provider", 5},
	{"quota*", 3}, {"rate limit*", 2}, {"over_query_limit", 4}, {"google", 2},
};

static const rules_term other_terms[] = {
	{"printer", 5}, {"toner", 5}, {"office", 2}, {"reminder", 3}, {"handover", 3},
	{"drill", 3}, {"test alert", 5}, {"testalert", 5}, {"please ignore", 3}, {"on-call", 2},
	{"rotation", 1}, {"meeting", 3}, {"helpdesk", 2}, {"coffee", 4},
	{"new hire", 4}, {"access request", 4}, {"onboarding", 3}, {"jira", 3}, {"gdpr", 5},
	{"legal", 3}, {"compliance", 2},
};

const rules_category rules_categories[RULES_NCATEGORIES] = {
	{"compute", SET(compute_terms), {
		"Check the affected hosts or pods: status, recent restarts, events and kernel or OOM messages.",
		"Compare CPU and memory usage with limits and recent trends; look for a runaway process or leak.",
		"Move load away: cordon or drain the failing node, reschedule pods or add capacity.",
		"Restart the failing workload once evidence (logs, core dumps) is saved.",
	}},
	{"storage", SET(storage_terms), {
		"Check usage and health of the affected disks or volumes (df, inodes, SMART, RAID status).",
		"Free space safely: rotate or compress logs, remove old artifacts, or expand the volume.",
		"Verify the latest backups and snapshots are complete and restorable.",
		"Find what is growing or failing and set an alert before the volume is full.",
	}},
	{"database", SET(database_terms), {
		"Check the database is up and accepting connections; look at its error log.",
		"Inspect active sessions, locks and slow queries; cancel runaway queries.",
		"Check replication state and lag; fail over to a healthy replica if the primary is lost.",
		"Confirm recent backups and point-in-time recovery before any destructive fix.",
	}},
	{"network", SET(network_terms), {
		"Test connectivity and DNS resolution from an affected client and from inside the network.",
		"Check load balancer, firewall and route changes, and backend health checks.",
		"Inspect TLS certificates: validity dates, chain and hostnames.",
		"Look at packet loss and latency between the affected sites; open a ticket with the carrier if external.",
	}},
	{"application", SET(application_terms), {
		"Look at the application's error logs and traces for the first failing request.",
		"Correlate the start time with recent deploys, config or traffic changes.",
		"Check the error rate and latency by endpoint to size the impact.",
		"Mitigate: roll back the suspect change, disable the feature, or scale out; then fix and add a test.",
	}},
	{"deployment", SET(deployment_terms), {
		"Identify the release or config change and when it reached each environment.",
		"Roll back to the last known good version or configuration if users are affected.",
		"Check the rollout status: failing pods, image pulls, health checks and migrations.",
		"Pause further deploys until the cause is understood; add a check to the pipeline.",
	}},
	{"security", SET(security_terms), {
		"Engage the security on-call; preserve logs and evidence before changing anything.",
		"Contain: isolate affected hosts, block offending IPs, disable compromised accounts.",
		"Rotate exposed credentials and keys, and review access logs for their use.",
		"Assess data exposure and follow the disclosure process if customer data is involved.",
	}},
	{"dependency", SET(dependency_terms), {
		"Check the provider's status page and open a support ticket with them.",
		"Confirm the failure from our side: error codes, timeouts and which calls are affected.",
		"Enable fallbacks: retries with backoff, queueing, a secondary provider or degraded mode.",
		"Tell affected users and stakeholders; track the provider's updates until resolved.",
	}},
	{"other", SET(other_terms), {
		"Read the report and decide which team owns it.",
		"Ask the reporter for details: what is affected, since when, and the impact.",
		"Record the outcome and close it if no action is needed.",
		"Re-triage with a category once the cause is known.",
	}},
};

/* ---- severity evidence (DESIGN.md's definitions) ---- */

static const rules_term critical_terms[] = {
	{"all users", 5}, {"all customers", 5}, {"every user", 5}, {"every customer", 5},
	{"every visitor", 5}, {"most users", 5}, {"most customers", 5}, {"everyone", 2},
	{"nobody can", 5}, {"no one can", 5}, {"every request", 3}, {"all requests", 4},
	{"all api", 4}, {"all writes", 5}, {"all traffic", 4}, {"complete outage", 6},
	{"total outage", 6}, {"full outage", 6}, {"outage", 2}, {"data loss", 6},
	{"data corruption", 5}, {"breach in progress", 6}, {"breach", 3}, {"ransomware", 6},
	{"exfiltrat*", 6}, {"spreading", 3}, {"production down", 6}, {"down in production", 5},
	{"site is down", 5}, {"unusable", 4}, {"stopped accepting", 4}, {"sev1", 6},
	{"sev 1", 6}, {"leaked", 2}, {"unknown ip*", 2}, {"cannot take orders", 5},
	{"todos los usuarios", 5}, {"alle benutzer", 5}, {"全ユーザー", 5},
	{"all visitors", 5}, {"entire site", 5}, {"site down", 5}, {"every page", 4},
};

static const rules_term high_terms[] = {
	{"many users", 5}, {"many customers", 5}, {"major", 2}, {"significant*", 2},
	{"unavailable", 2}, {"is down", 2}, {"are down", 2}, {"stopped responding", 2},
	{"not responding", 2}, {"no responde", 2}, {"failing", 1}, {"key feature", 4},
	{"% of users", 3}, {"% of requests", 3}, {"% of checkout", 3}, {"packet loss", 2},
	{"locked out", 2}, {"brute force", 3}, {"cannot connect", 3}, {"cannot complete", 3},
	{"imminent", 4}, {"sev2", 6}, {"sev 2", 6}, {"stale", 2}, {"support tickets", 2},
	{"time out", 1}, {"timing out", 2}, {"for everyone", 2}, {"for any", 2},
	{"half of", 4}, {"compromis*", 3}, {"suspicious", 2}, {"corrupt*", 3}, {"unreachable", 2},
	/* a resource already exhausted: the outage is imminent */
	{"at 100%", 3}, {"100% full", 3}, {"no space left", 4}, {"out of memory", 2},
};

static const rules_term medium_terms[] = {
	{"some users", 5}, {"some customers", 5}, {"few users", 5}, {"a few", 3},
	{"intermittent*", 3}, {"partial*", 3}, {"redundancy", 4}, {"degraded", 2},
	{"delayed", 2}, {"lag", 2}, {"retries succeed", 3}, {"rebuilding", 3},
	{"hot spare", 3}, {"still serving", 4}, {"serving traffic normally", 4},
	{"blocked", 2}, {"cannot merge", 3}, {"expires in", 3}, {"behind the primary", 2},
	{"slightly", 3}, {"please verify", 2}, {"warning", 1}, {"second night", 2},
	{"backup failed", 2}, {"backup job failed", 2},
};

static const rules_term low_terms[] = {
	{"cosmetic", 6}, {"typo", 5}, {"minor", 3}, {"informational", 6}, {"fyi", 5},
	{"no action needed", 6}, {"no action required", 6}, {"reminder", 5}, {"scheduled", 2},
	{"deprecat*", 3}, {"test alert", 6}, {"please ignore", 6}, {"this is a test", 5},
	{"not urgent", 5}, {"low priority", 5}, {"low-risk", 4}, {"low risk", 4},
	{"completed successfully", 5}, {"successfully", 2}, {"no user impact", 6},
	{"no impact", 5}, {"no customer impact", 6}, {"back to normal", 5}, {"in six months", 3},
	{"next quarter", 3}, {"drill", 3},
	{"please add", 4}, {"access request", 4}, {"new hire", 3},
};

const rules_termset rules_severity_terms[PROTO_NSEVERITIES] = {
	SET(critical_terms), SET(high_terms), SET(medium_terms), SET(low_terms),
};

/* ---- modifiers ---- */

static const rules_term nonprod[] = {
	{"staging", 1}, {"non-production", 1}, {"nonprod", 1}, {"non-prod", 1},
	{"test environment", 1}, {"dev environment", 1}, {"development environment", 1},
	{"qa environment", 1}, {"sandbox", 1}, {"dev", 1}, {"production unaffected", 1},
	{"no production impact", 1}, {"preprod", 1}, {"pre-production", 1},
	{"ci", 1}, {"builds", 1}, {"build server", 1}, {"build agent*", 1},
};
const rules_termset rules_nonprod_terms = SET(nonprod);

static const rules_term prod[] = {
	{"production", 1}, {"prod", 1}, {"producción", 1}, {"produktion*", 1},
};
const rules_termset rules_prod_terms = SET(prod);

static const rules_term prod_negations[] = {
	{"non-production", 1}, {"production unaffected", 1}, {"no production", 1},
	{"not in production", 1}, {"pre-production", 1}, {"non-prod", 1},
};
const rules_termset rules_prod_negations = SET(prod_negations);

static const rules_term resolved[] = {
	{"resolved", 1}, {"back to normal", 1}, {"recovered", 1}, {"has cleared", 1},
};
const rules_termset rules_resolved_terms = SET(resolved);

static const rules_term imminent[] = {
	{"expected to fill", 1}, {"will fill", 1}, {"fill up within", 1}, {"imminent", 1},
	{"will run out", 1}, {"about to", 1}, {"expires in", 1}, {"will expire", 1},
	{"will hit", 1}, {"expire in", 1},
};
const rules_termset rules_imminent_terms = SET(imminent);

static const rules_term injection[] = {
	{"ignore previous", 1}, {"ignore all previous", 1}, {"ignore the above", 1},
	{"disregard previous", 1}, {"you are now", 1}, {"system:", 1}, {"mark this", 1},
	{"set severity", 1}, {"as an ai", 1}, {"instructions", 1}, {"to the ai", 1},
	{"assistant:", 1}, {"classify this", 1}, {"respond with", 1}, {"set status", 1},
};
const rules_termset rules_injection_terms = SET(injection);

const char *const rules_escalation_action =
	"Page the owning team's on-call, open an incident channel and post a first status update.";
