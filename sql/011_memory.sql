-- 011: memory. Responders' resolution notes and triage feedback, and the indexes that
-- find similar past incidents and answer the list's text search (q=) without a scan.
--
-- Upgrade cost on a populated table: adding the stored search_tsv column rewrites the
-- table (ACCESS EXCLUSIVE lock for the whole migration), then the three GIN indexes are
-- built; the store applies this at start, so the pipeline is down meanwhile: 222-262 s
-- for 1,000,000 incidents on the 2-core development machine under load (README.md,
-- Benchmark).

-- What fixed it (at most 4 KiB), and the responder's verdict on the triage.
ALTER TABLE incidents
    ADD COLUMN resolution_note text CHECK (octet_length(resolution_note) <= 4096),
    ADD COLUMN triage_feedback text CHECK (triage_feedback IN ('right', 'wrong')),
    -- The similar past incidents the current triage used (ids), as its backend said.
    ADD COLUMN similar_used bigint[],
    -- The words of an incident for similarity: title (weight A), service, source and
    -- label values (B), the first 4 KiB of the description (D). 'english' stems, so
    -- "disks" finds "disk".
    ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A') ||
        setweight(to_tsvector('english'::regconfig,
                              coalesce(service, '') || ' ' || coalesce(source, '')), 'B') ||
        setweight(jsonb_to_tsvector('english'::regconfig, labels, '["string"]'), 'B') ||
        setweight(to_tsvector('english'::regconfig, left(description, 4096)), 'D')) STORED;

CREATE INDEX incidents_search ON incidents USING gin (search_tsv);

-- q= is a case-insensitive substring search (ILIKE '%q%'): trigram indexes answer it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX incidents_title_trgm ON incidents USING gin (title gin_trgm_ops);
CREATE INDEX incidents_description_trgm ON incidents USING gin (description gin_trgm_ops);

-- The incident JSON gains resolution_note and triage_feedback (last, as the store's
-- reply to a submit writes them too), and its triage the ids of the similar incidents it
-- used (similar_used, after triaged_at). The function as earlier migrations left it is
-- kept under another name and extended as text, so whatever they added stays and the
-- key order does not change.
ALTER FUNCTION triage_incident_json(incidents) RENAME TO triage_incident_json_pre011;
CREATE FUNCTION triage_incident_json(i incidents) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (left(CASE WHEN i.triaged_at IS NULL THEN j
                      ELSE regexp_replace(j, '("triaged_at" : "[0-9T:.Z-]+")}',
                                          '\1, "similar_used" : '
                                          || to_json(coalesce(i.similar_used, '{}'))::text
                                          || '}') END, -1)
            || ', "resolution_note" : ' || coalesce(to_json(i.resolution_note)::text, 'null')
            || ', "triage_feedback" : ' || coalesce(to_json(i.triage_feedback)::text, 'null')
            || '}')::json
    FROM (SELECT triage_incident_json_pre011(i)::text AS j) x
$$;
