-- 005: API keys with roles. A key is stored only as the SHA-256 of its text (keys are
-- 32 random bytes, so a fast unsalted hash is enough: nobody can guess one to match a
-- digest, and a lookup by digest is an index scan). Revoking sets revoked_at; the row
-- stays for the audit trail. Keys from TRIAGE_API_KEYS are not here (configuration).
CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    role        text NOT NULL CHECK (role IN ('viewer', 'reporter', 'responder', 'admin')),
    digest      bytea NOT NULL UNIQUE CHECK (length(digest) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
