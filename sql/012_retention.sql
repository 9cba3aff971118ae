-- 012: retention. Resolved incidents older than TRIAGE_RETENTION_DAYS are deleted by the
-- store in small batches, or first copied here (TRIAGE_RETENTION_ARCHIVE=true) as the
-- JSON the API returned for them, timeline included. Off by default.
CREATE TABLE incidents_archive (
    id           bigint PRIMARY KEY,           -- the incident's id, never reused
    resolved_at  timestamptz,
    archived_at  timestamptz NOT NULL DEFAULT now(),
    doc          jsonb NOT NULL                -- {"incident": {...}, "timeline": [...]}
);

-- The retention sweep walks resolved incidents oldest first.
CREATE INDEX incidents_resolved_at ON incidents (resolved_at) WHERE state = 'resolved';
