-- 010: the built-in model's versions. The store's trainer writes a row when the labelled
-- history changed (store_train.c); enrichers fetch the newest version over the store's
-- socket (query op model_get) when a job names a version they do not have.
CREATE TABLE triage_models (
    version            bigserial PRIMARY KEY,
    created_at         timestamptz NOT NULL DEFAULT now(),
    features           text NOT NULL,               -- feature extractor version (learn-1)
    corpus_examples    integer NOT NULL CHECK (corpus_examples >= 0),
    history_examples   integer NOT NULL CHECK (history_examples >= 0),
    history_signature  text NOT NULL,               -- what the labelled history looked like
    train_ms           integer NOT NULL CHECK (train_ms >= 0),
    model              bytea NOT NULL CHECK (octet_length(model) <= 8388608)
);
-- The labelled history the trainer reads: rows a responder overrode, newest first.
CREATE INDEX incidents_labelled ON incidents (updated_at DESC)
    WHERE severity_override IS NOT NULL OR category_override IS NOT NULL;
