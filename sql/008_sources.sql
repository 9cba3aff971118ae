-- 008: alerts from Alertmanager, Grafana and PagerDuty-style clients: what each source
-- said (severity hint, links, details), recurrences of a fingerprint, retried deliveries,
-- and the last event per source. triage_alerts_apply() applies one batch of events.

ALTER TABLE incidents
    ADD COLUMN source_severity text,                          -- the source's own severity: a hint
    ADD COLUMN source_links    jsonb NOT NULL DEFAULT '[]',   -- [{"rel","href","text"}]
    ADD COLUMN source_details  jsonb NOT NULL DEFAULT '{}',   -- annotations, values, custom_details...
    ADD COLUMN recurrence_of   bigint REFERENCES incidents (id) ON DELETE SET NULL,
    ADD COLUMN recurrences_7d  integer NOT NULL DEFAULT 0;    -- earlier incidents, same dedup_key, 7 days

-- Earlier incidents of a fingerprint, newest first.
CREATE INDEX incidents_dedup_history ON incidents (dedup_key, id DESC) WHERE dedup_key IS NOT NULL;

-- A new incident whose dedup_key was seen before links to the latest earlier one and
-- counts them (the same for POST /incidents and the integrations).
CREATE FUNCTION triage_recurrence() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT max(id), count(*) INTO NEW.recurrence_of, NEW.recurrences_7d
      FROM incidents WHERE dedup_key = NEW.dedup_key AND created_at > now() - interval '7 days';
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_recurrence BEFORE INSERT ON incidents
    FOR EACH ROW WHEN (NEW.dedup_key IS NOT NULL) EXECUTE FUNCTION triage_recurrence();

-- Deliveries seen recently (a key over the source and the exact body): a retried
-- delivery is answered with the first answer and counted once.
CREATE TABLE integration_deliveries (
    delivery_key  text PRIMARY KEY,
    reply         text NOT NULL DEFAULT '',
    expires_at    timestamptz NOT NULL
);
CREATE INDEX integration_deliveries_expiry ON integration_deliveries (expires_at);

-- The last event per source, for the Integrations page.
CREATE TABLE integration_sources (
    source         text PRIMARY KEY,
    last_at        timestamptz NOT NULL,
    last_events    integer NOT NULL,        -- events in the last delivery
    last_summary   jsonb NOT NULL,          -- created/occurrence/acknowledged/resolved/ignored counts
    deliveries     bigint NOT NULL DEFAULT 0,
    events         bigint NOT NULL DEFAULT 0
);

-- The incident with what its source said: 002's fields in their order, then these
-- (spliced as text: json keeps key order, jsonb would not).
ALTER FUNCTION triage_incident_json(incidents) RENAME TO triage_incident_json_base;
CREATE FUNCTION triage_incident_json(i incidents) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (left(triage_incident_json_base(i)::text, -1) || ', ' || substr(json_build_object(
        'source_severity', i.source_severity, 'source_links', i.source_links,
        'source_details', i.source_details, 'recurrence_of', i.recurrence_of,
        'recurrences_7d', i.recurrences_7d)::text, 2))::json
$$;

-- Applies a batch of coalesced events in order, in the caller's transaction. Each
-- element: {"a": "trigger"|"acknowledge"|"resolve", "fp", "n" (events coalesced),
-- "src", "rid" (request id of the new row), and for a trigger "title", "description",
-- "service", "labels", "sev", "links", "details"}. Returns one element per input:
-- {"id", "r": created|occurrence|acknowledged|resolved|ignored, "v", "status",
-- "state", "sev", "cat"}. Occurrences are coalesced in the timeline: one 'occurrence'
-- entry per burst (updated while the incident's latest entry is an occurrence less
-- than a minute old), so a storm does not grow the timeline.
CREATE FUNCTION triage_alerts_apply(ops jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    op jsonb;
    inc incidents;
    ev incident_events;
    res text;
    found_open boolean;
    n integer;
    result jsonb := '[]'::jsonb;
BEGIN
    FOR op IN SELECT value FROM jsonb_array_elements(ops) LOOP
        SELECT * INTO inc FROM incidents
         WHERE dedup_key = op->>'fp' AND state <> 'resolved' FOR UPDATE;
        found_open := FOUND;
        n := coalesce((op->>'n')::integer, 1);
        res := NULL;
        IF op->>'a' = 'trigger' THEN
            IF NOT found_open THEN
                -- ON CONFLICT: a submit with this dedup_key may be opening one right now
                INSERT INTO incidents (request_id, title, description, source, service, labels,
                       dedup_key, fingerprint, occurrence_count, source_severity,
                       source_links, source_details)
                VALUES (op->>'rid', op->>'title', op->>'description', op->>'src',
                        op->>'service', coalesce(op->'labels', '{}'::jsonb), op->>'fp',
                        md5('d:' || (op->>'fp')), n, op->>'sev',
                        coalesce(op->'links', '[]'::jsonb), coalesce(op->'details', '{}'::jsonb))
                ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL AND state <> 'resolved'
                DO NOTHING
                RETURNING * INTO inc;
                IF FOUND THEN
                    INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)
                    VALUES (inc.id, 'created', 'submitted', 0, op->>'src',
                            CASE WHEN inc.recurrence_of IS NULL THEN jsonb_build_object('count', n)
                            ELSE jsonb_build_object('count', n, 'recurrence_of', inc.recurrence_of,
                                                    'recurrences_7d', inc.recurrences_7d) END);
                    res := 'created';
                ELSE
                    SELECT * INTO inc FROM incidents
                     WHERE dedup_key = op->>'fp' AND state <> 'resolved' FOR UPDATE;
                    found_open := FOUND;
                END IF;
            END IF;
            IF res IS NULL AND found_open THEN
                UPDATE incidents SET occurrence_count = occurrence_count + n,
                       last_seen_at = now(), updated_at = now(), version = version + 1
                 WHERE id = inc.id RETURNING * INTO inc;
                SELECT * INTO ev FROM incident_events WHERE incident_id = inc.id
                 ORDER BY id DESC LIMIT 1;
                IF FOUND AND ev.kind = 'occurrence' AND ev.at > now() - interval '1 minute' THEN
                    UPDATE incident_events SET detail = jsonb_build_object(
                           'count', coalesce((ev.detail->>'count')::integer, 0) + n,
                           'source', op->>'src', 'last_at', triage_ts(now()))
                     WHERE id = ev.id;
                ELSE
                    INSERT INTO incident_events (incident_id, kind, status, attempt, actor, detail)
                    VALUES (inc.id, 'occurrence', inc.status, inc.attempt, op->>'src',
                            jsonb_build_object('count', n, 'source', op->>'src',
                                               'last_at', triage_ts(now())));
                END IF;
                res := 'occurrence';
            ELSIF res IS NULL THEN
                res := 'ignored'; -- opened and resolved by someone else meanwhile
            END IF;
        ELSIF op->>'a' = 'acknowledge' AND found_open AND inc.state = 'open' THEN
            UPDATE incidents SET state = 'acknowledged', acknowledged_at = now(),
                   updated_at = now(), version = version + 1
             WHERE id = inc.id RETURNING * INTO inc;
            INSERT INTO incident_events (incident_id, kind, status, attempt, actor)
            VALUES (inc.id, 'acknowledged', inc.status, inc.attempt, op->>'src');
            res := 'acknowledged';
        ELSIF op->>'a' = 'resolve' AND found_open THEN
            UPDATE incidents SET state = 'resolved', resolved_at = now(),
                   updated_at = now(), version = version + 1
             WHERE id = inc.id RETURNING * INTO inc;
            INSERT INTO incident_events (incident_id, kind, status, attempt, actor)
            VALUES (inc.id, 'resolved', inc.status, inc.attempt, op->>'src');
            res := 'resolved';
        ELSIF res IS NULL THEN
            res := 'ignored';
        END IF;
        IF res = 'ignored' THEN
            result := result || jsonb_build_array(jsonb_build_object(
                'id', CASE WHEN found_open THEN inc.id END, 'r', res));
        ELSE
            result := result || jsonb_build_array(jsonb_build_object(
                'id', inc.id, 'r', res, 'v', inc.version, 'status', inc.status,
                'state', inc.state,
                'sev', coalesce(inc.severity_override, inc.severity, ''),
                'cat', coalesce(inc.category_override, inc.category, '')));
        END IF;
    END LOOP;
    RETURN result;
END $$;
