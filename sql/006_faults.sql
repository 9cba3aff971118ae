-- 006: what makes a 503 mean "nothing stored" and recovery take seconds.
-- A submit sent without an Idempotency-Key carries a retry_key (the gateway's hash of the
-- tenant and the body). Until the gateway confirms that the submit's 2xx reached it in
-- time, the key is kept here, and a later submit with the same key arriving after the
-- first one's deadline (reply_by: by then the gateway has answered 503 or died; before
-- it, an identical submit is a distinct report, not a retry) is answered with the same
-- incident. Confirmed keys are deleted; unconfirmed ones expire after
-- TRIAGE_RETRY_WINDOW_MS.
CREATE TABLE incident_retry_keys (
    request_id   text PRIMARY KEY,
    retry_key    text NOT NULL,
    incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    reply_by     timestamptz,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_retry_keys_key ON incident_retry_keys (retry_key, at);

-- The lease of the current attempt: a random token the job carries and its result must
-- echo (so only the enricher that received the job can answer it), and the jobs URL it
-- was dispatched on (a store reconciles only the rows it dispatched).
ALTER TABLE incidents ADD COLUMN lease_token bigint;
ALTER TABLE incidents ADD COLUMN dispatched_via text;
ALTER TABLE incidents ADD COLUMN dispatched_at timestamptz;
