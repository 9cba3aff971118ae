-- 009: outbound notifications. Channels (webhook, Slack-compatible) with their rules, and
-- the outbox the notifier delivers from. Rows are written by a trigger on incidents, so
-- they commit in the same transaction as the change that causes them, whichever store
-- code path (results, responder actions, alert ingestion) made it. notifier/README.md.

CREATE TABLE notification_channels (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
    kind          text NOT NULL CHECK (kind IN ('webhook', 'slack')),
    url           text NOT NULL CHECK (url ~ '^https?://[^[:space:]]+$' AND octet_length(url) <= 1000),
    secret        text CHECK (octet_length(secret) BETWEEN 1 AND 255), -- HMAC key; never returned
    min_severity  text CHECK (min_severity IN ('critical', 'high', 'medium', 'low')),
    categories    text[] NOT NULL DEFAULT '{}',   -- empty: every category
    services      text[] NOT NULL DEFAULT '{}',   -- empty: every service
    events        text[] NOT NULL DEFAULT '{triaged,severity_raised,resolved}'
                  CHECK (cardinality(events) > 0
                         AND events <@ ARRAY['triaged', 'severity_raised', 'resolved']),
    hold_down_s   integer NOT NULL DEFAULT 0 CHECK (hold_down_s BETWEEN 0 AND 86400),
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'webhook' OR secret IS NOT NULL),  -- a webhook always signs
    CHECK (categories <@ ARRAY['compute', 'storage', 'database', 'network', 'application',
                               'deployment', 'security', 'dependency', 'other'])
);

-- One change (an event) fans out to one outbox row per matching channel; event_id is
-- shared by those rows, the row id is the delivery id.
CREATE SEQUENCE notification_event_ids;

CREATE TABLE notification_outbox (
    id           bigserial PRIMARY KEY,           -- the delivery id (X-Triage-Delivery)
    event_id     bigint NOT NULL,
    channel_id   bigint NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    incident_id  bigint REFERENCES incidents (id) ON DELETE CASCADE, -- NULL: a test
    event        text NOT NULL CHECK (event IN ('triaged', 'severity_raised', 'resolved', 'test')),
    payload      jsonb NOT NULL,                  -- the incident as it was at the change
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    due_at       timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    lease_until  timestamptz,                     -- sending: the notifier's lease
    claimed_by   text,
    last_status  integer,                         -- the receiver's last HTTP status
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz                      -- sent, failed or cancelled
);
-- The claim walks this index in order (ORDER BY due_at, id LIMIT 1): never a sort.
CREATE INDEX notification_outbox_due ON notification_outbox (due_at, id) WHERE state = 'pending';
CREATE INDEX notification_outbox_leases ON notification_outbox (lease_until) WHERE state = 'sending';
CREATE INDEX notification_outbox_failed ON notification_outbox (finished_at) WHERE state = 'failed';
CREATE INDEX notification_outbox_incident ON notification_outbox (incident_id, id);
CREATE INDEX notification_outbox_channel ON notification_outbox (channel_id, id);

CREATE FUNCTION triage_severity_rank(s text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE s WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
                  WHEN 'low' THEN 1 ELSE 0 END
$$;

-- Write-time fan-out: the rules in force when the change commits decide who hears of
-- it (a rule edited later does not rewrite history); hold-down sets due_at.
CREATE FUNCTION triage_outbox_enqueue() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ev   text;
    sev  text := coalesce(NEW.severity_override, NEW.severity);
    cat  text := coalesce(NEW.category_override, NEW.category);
BEGIN
    IF NEW.state = 'resolved' AND OLD.state <> 'resolved' THEN
        ev := 'resolved';
    ELSIF NEW.state = 'resolved' THEN
        RETURN NULL;
    ELSIF NEW.status = 'triaged' AND OLD.status <> 'triaged' THEN
        ev := 'triaged';
    ELSIF NEW.severity_override IS DISTINCT FROM OLD.severity_override
          AND NEW.status IN ('triaged', 'failed')
          AND triage_severity_rank(sev)
              > triage_severity_rank(coalesce(OLD.severity_override, OLD.severity)) THEN
        ev := 'severity_raised';
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO notification_outbox (event_id, channel_id, incident_id, event, payload, due_at)
    SELECT e.id, c.id, NEW.id, ev, triage_incident_json(NEW)::jsonb,
           now() + make_interval(secs => c.hold_down_s)
    FROM notification_channels c, (SELECT nextval('notification_event_ids') AS id) e
    WHERE c.enabled AND ev = ANY (c.events)
      AND (c.min_severity IS NULL
           OR triage_severity_rank(sev) >= triage_severity_rank(c.min_severity))
      AND (cardinality(c.categories) = 0 OR cat = ANY (c.categories))
      AND (cardinality(c.services) = 0 OR NEW.service = ANY (c.services));
    RETURN NULL;
END
$$;

-- The WHEN clause is evaluated without calling the function, so the frequent updates
-- (dispatch, leases) cost one comparison each.
CREATE TRIGGER incidents_outbox AFTER UPDATE ON incidents FOR EACH ROW
    WHEN ((NEW.state = 'resolved' AND OLD.state <> 'resolved')
          OR (NEW.status = 'triaged' AND OLD.status <> 'triaged')
          OR (NEW.severity_override IS DISTINCT FROM OLD.severity_override))
    EXECUTE FUNCTION triage_outbox_enqueue();

-- A channel as the API shows it: never the secret; a Slack-style URL (itself a
-- credential) only as its origin. health: the delivery figures of the last 24 hours.
CREATE FUNCTION triage_channel_json(c notification_channels) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', c.id, 'name', c.name, 'kind', c.kind,
        'url', CASE WHEN c.kind = 'slack'
                    THEN substring(c.url from '^[a-z]+://[^/?#]+') || '/…' ELSE c.url END,
        'has_secret', c.secret IS NOT NULL, 'min_severity', c.min_severity,
        'categories', to_json(c.categories), 'services', to_json(c.services),
        'events', to_json(c.events), 'hold_down_s', c.hold_down_s, 'enabled', c.enabled,
        'created_at', triage_ts(c.created_at), 'updated_at', triage_ts(c.updated_at),
        'health', (SELECT json_build_object(
            'pending', count(*) FILTER (WHERE o.state IN ('pending', 'sending')),
            'retrying', count(*) FILTER (WHERE o.state = 'pending' AND o.attempts > 0),
            'sent_24h', count(*) FILTER (WHERE o.state = 'sent'
                                          AND o.finished_at > now() - interval '1 day'),
            'failed_24h', count(*) FILTER (WHERE o.state = 'failed'
                                            AND o.finished_at > now() - interval '1 day'),
            'last_sent_at', triage_ts(max(o.finished_at) FILTER (WHERE o.state = 'sent')),
            'last_error', (SELECT l.last_error FROM notification_outbox l
                           WHERE l.channel_id = c.id AND l.last_error IS NOT NULL
                             AND l.state <> 'cancelled'
                           ORDER BY l.id DESC LIMIT 1))
            FROM notification_outbox o WHERE o.channel_id = c.id
              AND (o.state IN ('pending', 'sending') OR o.finished_at > now() - interval '1 day')))
$$;

-- One delivery as the API shows it (GET /incidents/{id}/notifications).
CREATE FUNCTION triage_delivery_json(o notification_outbox, c notification_channels) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'delivery_id', o.id, 'event_id', o.event_id, 'event', o.event,
        'channel', json_build_object('id', c.id, 'name', c.name, 'kind', c.kind),
        'state', o.state, 'attempts', o.attempts, 'last_status', o.last_status,
        'last_error', o.last_error, 'created_at', triage_ts(o.created_at),
        'due_at', triage_ts(o.due_at), 'finished_at', triage_ts(o.finished_at))
$$;
