-- 001: incidents and their timeline.
-- The store applies each migration once, in a transaction, recording it in
-- schema_migrations (created by the store before the first migration).

CREATE TABLE incidents (
    id                 bigserial PRIMARY KEY,
    request_id         text NOT NULL UNIQUE,          -- one per HTTP request: REQ resends insert nothing
    idempotency_key    text UNIQUE,                   -- namespaced by the gateway
    title              text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description        text NOT NULL CHECK (octet_length(description) <= 16384),
    source             text,
    service            text,
    labels             jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedup_key          text,
    fingerprint        text NOT NULL,
    occurrence_count   integer NOT NULL DEFAULT 1,
    last_seen_at       timestamptz NOT NULL DEFAULT now(),

    -- triage lifecycle: submitted -> processing -> triaged | failed
    status             text NOT NULL DEFAULT 'submitted'
                       CHECK (status IN ('submitted', 'processing', 'triaged', 'failed')),
    attempt            integer NOT NULL DEFAULT 0,    -- dispatch attempts of the current triage
    lease_deadline     timestamptz,                   -- processing: the enricher's lease
    next_attempt_at    timestamptz NOT NULL DEFAULT now(), -- submitted: not dispatched before
    failure_reason     text,
    failure_detail     text,

    -- the AI's answer (kept when a human overrides it)
    summary            text,
    severity           text CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    category           text CHECK (category IN ('compute', 'storage', 'database', 'network',
                                    'application', 'deployment', 'security', 'dependency', 'other')),
    suggested_actions  jsonb,
    confidence         real CHECK (confidence BETWEEN 0 AND 1),
    backend            text,
    model              text,
    prompt_version     text,
    latency_ms         integer,
    prompt_tokens      integer,
    completion_tokens  integer,
    triaged_at         timestamptz,

    -- the responders' answer
    severity_override  text CHECK (severity_override IN ('critical', 'high', 'medium', 'low')),
    category_override  text CHECK (category_override IN ('compute', 'storage', 'database', 'network',
                                    'application', 'deployment', 'security', 'dependency', 'other')),
    state              text NOT NULL DEFAULT 'open'
                       CHECK (state IN ('open', 'acknowledged', 'resolved')),
    acknowledged_at    timestamptz,
    resolved_at        timestamptz,

    version            bigint NOT NULL DEFAULT 1,     -- bumped on every change
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- One unresolved incident per dedup_key: a repeat bumps occurrence_count instead.
CREATE UNIQUE INDEX incidents_dedup_open ON incidents (dedup_key)
    WHERE dedup_key IS NOT NULL AND state <> 'resolved';

-- The store's work queue: rows waiting for dispatch, and leases to watch.
CREATE INDEX incidents_due ON incidents (next_attempt_at) WHERE status = 'submitted';
CREATE INDEX incidents_leases ON incidents (lease_deadline) WHERE status = 'processing';

CREATE INDEX incidents_status ON incidents (status, id DESC);
CREATE INDEX incidents_created ON incidents (created_at);

-- The timeline: every change to an incident, in order.
CREATE TABLE incident_events (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    kind         text NOT NULL,      -- created, occurrence, dispatched, triaged, failed, retry,
                                     -- released, lease_expired, retriage, acknowledged,
                                     -- resolved, override
    status       text,               -- triage status after the change
    attempt      integer,
    actor        text NOT NULL,      -- api, store, enricher:<id>
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- Runtime settings changeable through the API (the model is read per job).
CREATE TABLE settings (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
