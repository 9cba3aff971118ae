-- 002: what the store needs beyond the tables of 001: the one JSON representation of
-- an incident and of a timeline event (built here so every reply has the same shape),
-- a finished_at column for the pipeline figures, the request ids of deduplicated
-- submits, and the store's readiness heartbeat.

-- When the current triage ended (triaged or failed); NULL while submitted/processing.
ALTER TABLE incidents ADD COLUMN finished_at timestamptz;
CREATE INDEX incidents_finished ON incidents (finished_at) WHERE finished_at IS NOT NULL;

-- A submit counted as an occurrence of an existing incident creates no row of its own;
-- its request id and idempotency key are kept here so that a resent or retried submit
-- is answered with the same incident and not counted twice.
CREATE TABLE incident_occurrences (
    request_id       text PRIMARY KEY,
    idempotency_key  text UNIQUE,
    incident_id      bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL DEFAULT now()
);

-- READY writes here: proof that the database commits.
CREATE TABLE store_heartbeats (
    store_id  text PRIMARY KEY,
    at        timestamptz NOT NULL
);

-- Timestamps as the API shows them: UTC, milliseconds, "Z".
CREATE FUNCTION triage_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- The incident as every route returns it (docs/API.md).
CREATE FUNCTION triage_incident_json(i incidents) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', i.id, 'title', i.title, 'description', i.description,
        'source', i.source, 'service', i.service, 'labels', i.labels,
        'dedup_key', i.dedup_key, 'occurrence_count', i.occurrence_count,
        'status', i.status, 'attempt', i.attempt,
        'failure_reason', i.failure_reason, 'failure_detail', i.failure_detail,
        'triage', CASE WHEN i.triaged_at IS NULL THEN NULL ELSE json_build_object(
            'summary', i.summary, 'severity', i.severity, 'category', i.category,
            'suggested_actions', coalesce(i.suggested_actions, '[]'::jsonb),
            'confidence', i.confidence, 'backend', i.backend, 'model', i.model,
            'prompt_version', i.prompt_version, 'latency_ms', i.latency_ms,
            'prompt_tokens', i.prompt_tokens, 'completion_tokens', i.completion_tokens,
            'triaged_at', triage_ts(i.triaged_at)) END,
        'override', json_build_object('severity', i.severity_override,
                                      'category', i.category_override),
        'severity', coalesce(i.severity_override, i.severity),
        'category', coalesce(i.category_override, i.category),
        'state', i.state, 'version', i.version,
        'created_at', triage_ts(i.created_at), 'updated_at', triage_ts(i.updated_at),
        'last_seen_at', triage_ts(i.last_seen_at),
        'acknowledged_at', triage_ts(i.acknowledged_at),
        'resolved_at', triage_ts(i.resolved_at))
$$;

-- One timeline entry (docs/API.md, GET /incidents/{id}).
CREATE FUNCTION triage_event_json(e incident_events) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id, 'at', triage_ts(e.at), 'kind', e.kind,
                             'status', e.status, 'attempt', e.attempt, 'actor', e.actor,
                             'detail', e.detail)
$$;
