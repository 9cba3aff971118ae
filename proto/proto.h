/* proto: the contract between the processes. Every message that crosses an nng socket
 * is defined, encoded and checked here, nowhere else.
 *
 * Encoding: a msgpack array of three elements, [PROTO_VERSION, type, body], where body
 * is a map with string keys. Decoding is strict: wrong version, unknown type, wrong
 * types, missing required keys, strings with NUL bytes or over their bound, and any
 * message over PROTO_MAX_MSG are rejected with TR_ERR_PROTO and a message saying
 * why. Unknown keys in a body are ignored (a newer peer may add optional fields).
 *
 * Ownership: decoded messages own copies of every string (NUL-terminated, malloc'd);
 * free them with proto_msg_free(). Encoding never takes ownership of its input. */
#ifndef PROTO_H
#define PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1

/* Bounds, in bytes unless stated. The gateway enforces the user-facing limits (title in
 * characters, body size); the decoder enforces these byte bounds on every message. */
#define PROTO_MAX_MSG (1024 * 1024)     /* NNG_OPT_RECVMAXSZ on every socket */
#define PROTO_TITLE_MAX_CHARS 200
#define PROTO_TITLE_MAX (PROTO_TITLE_MAX_CHARS * 4)
#define PROTO_DESC_MAX (16 * 1024)
#define PROTO_SHORT_MAX 255             /* source, service, dedup_key, keys, ids, names */
#define PROTO_LABELS_MAX 32             /* labels per incident */
#define PROTO_LABEL_KEY_MAX 64
#define PROTO_LABEL_VALUE_MAX 256
#define PROTO_PARAMS_MAX 16             /* query parameters */
#define PROTO_PARAM_VALUE_MAX 4096     /* a resolution note (PROTO_NOTE_MAX) travels as one */
#define PROTO_SUMMARY_MAX 600           /* triage summary: one or two sentences */
#define PROTO_ACTIONS_MAX 5             /* suggested actions */
#define PROTO_ACTION_MAX 200            /* one suggested action */
#define PROTO_DETAIL_MAX 1024           /* failure detail */
#define PROTO_JSON_MAX (200 * 1024)     /* a reply's JSON body */
#define PROTO_ALERTS_MAX (PROTO_MAX_MSG - 8192) /* an ALERTS message's events (JSON) */
#define PROTO_CONFIRMS_MAX 64           /* confirmations carried by one submit */
#define PROTO_HELD_MAX 512              /* jobs listed in one heartbeat */
#define PROTO_HELD_ITEM_MAX 48          /* "incident_id:attempt" */
#define PROTO_COMMIT_MARGIN_MS 250      /* time a COMMIT needs left before a deadline */
#define PROTO_NOTE_MAX 4096             /* a resolution note ("what fixed it") */
#define PROTO_SIMILAR_MAX 5             /* similar past incidents in a job, ids in a result */
#define PROTO_SIMILAR_NOTE_MAX 1024     /* a note as a job carries it (the store trims it) */
#define PROTO_SIMILAR_BYTES (6 * 1024)  /* titles and notes of all of a job's similar entries */
#define PROTO_BATCH_MAX 32              /* submits in one SUBMIT_BATCH */
#define PROTO_BATCH_BYTES (128 * 1024)  /* packed submits in one SUBMIT_BATCH (see below) */

/* Default socket addresses (one host). Each is overridable by configuration; tcp://
 * URLs work for several hosts. The store listens on all four; gateways and enrichers
 * dial. */
#define PROTO_DEFAULT_STORE_URL "ipc:///tmp/triage/store.ipc"     /* REQ/REP  */
#define PROTO_DEFAULT_EVENTS_URL "ipc:///tmp/triage/events.ipc"   /* PUB/SUB  */
#define PROTO_DEFAULT_JOBS_URL "ipc:///tmp/triage/jobs.ipc"       /* PUSH/PULL store -> enricher */
#define PROTO_DEFAULT_RESULTS_URL "ipc:///tmp/triage/results.ipc" /* PUSH/PULL enricher -> store */

typedef enum {
	PROTO_SUBMIT = 1,    /* gateway -> store, REQ: store one incident */
	PROTO_QUERY = 2,     /* gateway -> store, REQ: read or act (see proto_op) */
	PROTO_REPLY = 3,     /* store -> gateway, REP: the answer to SUBMIT or QUERY */
	PROTO_JOB = 4,       /* store -> enricher, PUSH: triage this incident */
	PROTO_RESULT = 5,    /* enricher -> store, PUSH: the outcome of a job */
	PROTO_HEARTBEAT = 6, /* enricher -> store, PUSH: alive, with free slots */
	PROTO_EVENT = 7,     /* store -> gateways, PUB: an incident changed */
	PROTO_EVENTS_SYNC = 10, /* store -> gateways, PUB: the last event sent (proto_events_sync) */
	PROTO_ALERTS = 12,   /* gateway -> store, REQ: one delivery of alert events */
	PROTO_SUBMIT_BATCH = 13, /* gateway -> store, REQ: several submits, each answered */
	PROTO_BATCH_REPLY = 14,  /* store -> gateway, REP: the answers to a SUBMIT_BATCH */
} proto_type;

/* Message types are below this (each helper's reserved range lies under it). */
#define PROTO_TYPE_LIMIT 32

typedef struct {
	char *key;
	char *value;
} proto_kv;

/* PROTO_SUBMIT. request_id is unique per HTTP request (the gateway makes it); a
 * re-sent request with the same request_id must not create a second incident.
 * idempotency_key, when present, is already namespaced by the gateway; a submit whose
 * key was seen before returns the original incident. */
typedef struct {
	char *request_id;      /* required, 1..PROTO_SHORT_MAX */
	char *idempotency_key; /* optional (NULL) */
	char *title;           /* required */
	char *description;     /* required (may be "") */
	char *source;          /* optional */
	char *service;         /* optional */
	char *dedup_key;       /* optional */
	proto_kv *labels;      /* nlabels entries, keys unique */
	size_t nlabels;
	/* Optional (faults): what makes a 503 mean "nothing stored".
	 * deadline_ms: wall-clock ms after which the gateway has given up (answered 503);
	 *   the store drops the call if it is past before BEGIN and never sends COMMIT
	 *   without PROTO_COMMIT_MARGIN_MS left. 0 = no deadline.
	 * retry_key: made by the gateway from the tenant and the body when the client sent
	 *   no Idempotency-Key; a later submit with the same retry_key matches an incident
	 *   whose 2xx was never confirmed (see confirms), so a client's retry of a 503 whose
	 *   outcome was unknown lands on the same incident.
	 * confirms: request ids of earlier submits whose 2xx this gateway has delivered:
	 *   their incidents no longer match a retry_key. */
	int64_t deadline_ms;
	char *retry_key;       /* optional (NULL), 1..PROTO_SHORT_MAX */
	char **confirms;       /* nconfirms request ids, at most PROTO_CONFIRMS_MAX */
	size_t nconfirms;
} proto_submit;

/* PROTO_QUERY operations; params are the validated, still-textual arguments. */
typedef enum {
	PROTO_OP_READY = 1,       /* store answers and the database commits */
	PROTO_OP_LIST = 2,        /* params: status, severity, category, state, q, limit, cursor */
	PROTO_OP_GET = 3,         /* incident_id: the incident with its timeline */
	PROTO_OP_RETRIAGE = 4,    /* incident_id */
	PROTO_OP_ACKNOWLEDGE = 5, /* incident_id */
	PROTO_OP_RESOLVE = 6,     /* incident_id */
	PROTO_OP_OVERRIDE = 7,    /* incident_id; params: severity, category ("" clears) */
	PROTO_OP_STATS = 8,       /* pipeline panel figures */
	PROTO_OP_SETTINGS_GET = 9,
	PROTO_OP_SETTINGS_PUT = 10, /* params: model */
	/* API keys (sql/005): a key is known by the hex SHA-256 of its text only. */
	PROTO_OP_KEY_LOOKUP = 20, /* params: digest -> {"id","name","role"}; NOT_FOUND if
				   * unknown or revoked */
	PROTO_OP_KEY_CREATE = 21, /* params: name, role, digest -> the key's record */
	PROTO_OP_KEY_LIST = 22,   /* -> {"items": [records, newest first]} */
	PROTO_OP_KEY_REVOKE = 23, /* params: id -> the key's record (revoked_at set) */
	PROTO_OP_INTEGRATIONS = 51, /* the last event received per integration source */
	/* notification channels (notifier/README.md); channel_id is a param */
	PROTO_OP_CHANNEL_LIST = 60,
	PROTO_OP_CHANNEL_CREATE = 61, /* params: name, kind, url, secret, min_severity,
				       * categories, services, events (comma lists),
				       * hold_down_s, enabled */
	PROTO_OP_CHANNEL_UPDATE = 62, /* params: channel_id and any of the above */
	PROTO_OP_CHANNEL_DELETE = 63, /* params: channel_id */
	PROTO_OP_CHANNEL_TEST = 64,   /* params: channel_id: queue a test delivery */
	PROTO_OP_NOTIFICATIONS = 65,  /* incident_id: the incident's deliveries */
	PROTO_OP_MODEL_GET = 70,    /* enricher -> store: params version (0: newest), offset:
				     * a part of the built-in model (store_model.c) */
	/* 80-89: memory (similar incidents, resolution notes, triage feedback) */
	PROTO_OP_SIMILAR = 80,    /* incident_id: its most similar earlier incidents */
	PROTO_OP_FEEDBACK = 81,   /* incident_id; params: feedback (right|wrong) */
	PROTO_OP_METRICS = 90,      /* the store's figures, Prometheus text in {"text": ...} */
} proto_op;

/* The highest op number the decoder accepts (ranges are reserved per feature below
 * it); the store answers an op it does not know with TR_ERR_INVALID. */
#define PROTO_OP_MAX 99

typedef struct {
	char *request_id; /* required */
	int op;           /* proto_op */
	int64_t incident_id;
	proto_kv *params;
	size_t nparams;
	int64_t deadline_ms; /* optional (faults): as in proto_submit; 0 = none */
} proto_query;

/* PROTO_REPLY: code is a tr_err; json is the body (the resource on success, or
 * {"error":..., "detail":...} on failure). created is set for a SUBMIT that inserted a
 * row (false: an idempotent replay or a deduplicated occurrence). batch_max (optional):
 * the most submits the store takes in one SUBMIT_BATCH; 0 (absent) from a store that
 * takes none, which a gateway then sends submits one by one. */
typedef struct {
	char *request_id;
	int code;
	bool created;
	int64_t incident_id;
	char *json;
	int batch_max;
} proto_reply;

/* PROTO_SUBMIT_BATCH: submits that waited in one gateway at the same moment, sent as one
 * request. Each is the SUBMIT it would have been (its own request_id, deadline_ms,
 * retry_key; its confirms are not sent: the batch carries them once) and gets its own
 * answer, as if sent alone: the store treats the batch's submits exactly as separate
 * SUBMITs that happened to arrive together. request_id names the batch (the reply
 * carries it). A store older than this message drops it as an unknown type, so a
 * gateway sends batches only to stores whose replies carry batch_max.
 * Bounds: 1..PROTO_BATCH_MAX submits of at most PROTO_BATCH_BYTES packed in all (one
 * submit of any size may travel alone), so the reply fits PROTO_MAX_MSG: a submit's
 * reply JSON is at most six times its packed size (\u00XX escapes) plus its fixed
 * fields. */
typedef struct {
	char *request_id;      /* required: the batch's id */
	proto_submit *submits; /* nsubmits, 1..PROTO_BATCH_MAX */
	size_t nsubmits;
	char **confirms;       /* as in proto_submit, for the whole batch */
	size_t nconfirms;
} proto_submit_batch;

/* PROTO_BATCH_REPLY: one reply per submit, in the batch's order (each names its
 * submit's request_id). */
typedef struct {
	char *request_id;      /* the batch's id */
	proto_reply *replies;  /* nreplies, as many as the batch had submits */
	size_t nreplies;
} proto_batch_reply;

/* One similar past incident, as a job carries it: a resolved one, an example for the
 * backend, or an open one a responder labelled, whose labels the built-in model weighs
 * (unresolved; a store before it sent resolved ones only). Its text is data, never
 * instructions. */
typedef struct {
	int64_t incident_id;
	double score;          /* 0..1, higher is more similar */
	char *title;           /* required */
	char *severity;        /* effective (human override, else AI); "" if none */
	char *category;        /* effective; "" if none */
	bool human_labelled;   /* a responder set or confirmed (feedback right) the labels */
	char *resolution_note; /* what fixed it, trimmed to PROTO_SIMILAR_NOTE_MAX; "" none */
	bool unresolved;       /* not resolved: labels only, never an example in a prompt */
} proto_similar;

/* PROTO_JOB: one attempt at triaging one incident. The enricher must report back
 * before lease_deadline_ms (wall clock) or the store re-dispatches the row. */
/* PROTO_ALERTS: one HTTP delivery from an alerting tool, already validated and
 * normalised by the gateway; the store commits all its events or none. events holds
 * one compact JSON object per line (see gateway/gw_integrations.h for their shape). delivery_key, when
 * present, identifies the delivery (source and exact body): a repeat within
 * delivery_ttl_ms is answered with the first answer and changes nothing. */
typedef struct {
	char *request_id;        /* required */
	char *source;            /* required: alertmanager|grafana|pagerduty */
	char *delivery_key;      /* optional */
	int64_t delivery_ttl_ms; /* 0: no replay window */
	char *events;            /* required, 2..PROTO_ALERTS_MAX bytes, newline-separated */
} proto_alerts;

typedef struct {
	int64_t incident_id;
	int32_t attempt;
	int64_t lease_deadline_ms;
	char *model; /* the model configured when the job was dispatched; "" = backend default */
	char *title;
	char *description;
	char *source;
	char *service;
	proto_kv *labels;
	size_t nlabels;
	/* Optional (faults). lease_token: a random number the result must echo, so only
	 * the enricher that received the job can answer it (0 = none). pickup_deadline_ms:
	 * wall clock; a job taken off the socket after it was not reported received in
	 * time, so the store has dispatched it again: release it unattempted. */
	int64_t lease_token;
	int64_t pickup_deadline_ms;
	int64_t learned_version; /* optional: the newest built-in model's version (0: none) */
	/* optional: the most similar resolved incidents, best first (old stores send none;
	 * the titles and notes of all entries together are at most PROTO_SIMILAR_BYTES) */
	proto_similar *similar;
	size_t nsimilar;
} proto_job;

typedef enum {
	PROTO_OUTCOME_TRIAGED = 1,  /* fields below are a validated triage */
	PROTO_OUTCOME_FAILED = 2,   /* final: reason says why; the row becomes failed */
	PROTO_OUTCOME_RETRY = 3,    /* transient (busy): re-dispatch after a backoff */
	PROTO_OUTCOME_RELEASED = 4, /* not attempted (enricher stopping): re-dispatch now */
} proto_outcome;

typedef struct {
	int64_t incident_id;
	int32_t attempt;
	char *enricher_id;
	int outcome;    /* proto_outcome */
	char *reason;   /* FAILED/RETRY: llm_unavailable, model_not_found, timeout, ... */
	char *detail;   /* FAILED/RETRY: the backend's message, bounded */
	char *summary;  /* TRIAGED ... */
	char *severity; /* critical|high|medium|low */
	char *category; /* compute|storage|database|network|application|deployment|security|dependency|other */
	char **actions;
	size_t nactions;
	double confidence; /* 0..1 */
	char *backend;     /* ollama|openai|rules */
	char *model;
	char *prompt_version;
	int64_t latency_ms;
	int64_t prompt_tokens;     /* -1 when the backend does not say */
	int64_t completion_tokens; /* -1 when the backend does not say */
	int64_t lease_token;       /* the job's lease_token (faults); 0 = none */
	/* optional, TRIAGED: ids of the job's similar incidents the triage used */
	int64_t *similar_used;
	size_t nsimilar_used;
} proto_result;

/* PROTO_HEARTBEAT, the enricher's "ready" message: sent at start, every
 * TRIAGE_HEARTBEAT_MS, whenever it takes a job off its socket and whenever a slot frees.
 * Optional fields (faults), which make dispatch credits exact:
 *   epoch: this enricher process (a restart with the same id has a new epoch: the jobs
 *     the old one held are lost at once);
 *   received: jobs taken off the job socket by this process so far (cumulative; the
 *     store's jobs in transit are those sent minus those received);
 *   held: every job it holds as "incident_id:attempt": taken and not finished, or
 *     finished with a result the store may not have applied yet. A job the store
 *     believes in flight that no live enricher holds is dispatched again at once. */
typedef struct {
	char *enricher_id;
	char *backend;
	int32_t slots; /* calls it can have in flight */
	int32_t busy;  /* calls in flight now */
	int64_t epoch;
	int64_t received;
	char **held;
	size_t nheld;
} proto_heartbeat;

/* PROTO_EVENT: seq increases by one per event published by one store process
 * (epoch identifies the process), so a subscriber sees gaps. */
typedef struct {
	int64_t epoch;
	int64_t seq;
	int64_t incident_id;
	int64_t version;  /* the incident's version after the change */
	char *kind;       /* created, dispatched, triaged, failed, retriage, acknowledged, ... */
	char *status;     /* submitted|processing|triaged|failed */
	char *state;      /* open|acknowledged|resolved */
	char *severity;   /* effective severity (override, else AI), "" if none */
	char *category;   /* effective category, "" if none */
	int64_t at_ms;
} proto_event;

/* PROTO_EVENTS_SYNC: published by the store every PROTO_EVENTS_SYNC_MS (and at once
 * when it starts), carrying the epoch and seq of the last PROTO_EVENT it published (seq
 * 0: none yet). A subscriber knows it is subscribed once one arrives, and sees events it
 * missed (the last ones too, which no later event would reveal) when seq differs from
 * the last event it received. */
typedef struct {
	int64_t epoch;
	int64_t seq;
} proto_events_sync;
#define PROTO_EVENTS_SYNC_MS 500

typedef struct {
	proto_type type;
	union {
		proto_submit submit;
		proto_query query;
		proto_reply reply;
		proto_job job;
		proto_result result;
		proto_heartbeat heartbeat;
		proto_event event;
		proto_events_sync events_sync;
		proto_alerts alerts;
		proto_submit_batch submit_batch;
		proto_batch_reply batch_reply;
	} u;
} proto_msg;

/* Encodes m into a malloc'd buffer (*out, *outlen); the caller frees *out with free().
 * Returns TR_OK, TR_ERR_INVALID (a required field missing or a bound exceeded: the
 * encoder never produces what the decoder would reject) or TR_ERR_NOMEM. */
int proto_encode(const proto_msg *m, void **out, size_t *outlen);

/* Decodes len bytes at data into *out. On success the caller owns *out and frees it
 * with proto_msg_free(). On failure *out is zeroed, nothing is allocated, and err (if
 * not NULL) holds a one-line reason. Returns TR_OK or TR_ERR_PROTO. */
int proto_decode(const void *data, size_t len, proto_msg *out, char *err, size_t errlen);

/* A submit packed on its own (malloc'd bytes), to travel later in a SUBMIT_BATCH. */
typedef struct {
	void *data;
	size_t len;
} proto_packed;

/* Checks s as a batch's submit and packs it into *out (free out->data with free()).
 * TR_OK, TR_ERR_INVALID or TR_ERR_NOMEM, as proto_encode. */
int proto_submit_pack(const proto_submit *s, proto_packed *out);

/* Encodes a SUBMIT_BATCH of n (1..PROTO_BATCH_MAX) packed submits, with the batch's
 * request_id and confirms, into a malloc'd buffer, as proto_encode. Takes nothing. */
int proto_batch_encode(const char *request_id, char *const *confirms, size_t nconfirms,
		       const proto_packed *submits, size_t n, void **out, size_t *outlen);

/* Frees everything a decoded message owns and zeroes it. Safe on a zeroed message. */
void proto_msg_free(proto_msg *m);

/* Names for logs: "submit", "query", ...; "unknown" otherwise. */
const char *proto_type_name(int type);
const char *proto_op_name(int op);
const char *proto_outcome_name(int outcome);

/* Looks up a query/submit parameter by key; NULL if absent. */
const char *proto_kv_get(const proto_kv *kv, size_t n, const char *key);

#endif
