-- 017: an incident's search data is built off the ingest path (issue 8). Measured with
-- 64-row inserts on the 2-core machine: computing search_tsv (to_tsvector over the
-- title and 4 KiB of description) and the description's trigrams in their GIN index
-- were four fifths of PostgreSQL's work per ingested row.
--
-- search_tsv becomes a plain column, kept by triggers instead of a generated expression:
-- built when the row is inserted, except by a session that set triage.defer_search = on
-- (the store's ingest writers do: the row then waits with search_tsv NULL), at the
-- row's first update (its dispatch as a rule, which rewrites the row anyway) or by the
-- store's sweep (triage_search_fill) for a row nobody updated within a few seconds; and
-- again only when its text changes (the generated column was recomputed on every
-- update: dispatch, result, acknowledge, resolve). The description's trigram index
-- holds only rows with their search data; the list's q= reads the others through
-- incidents_unsearched, so a search finds every incident at every moment.
--
-- Upgrade cost on a populated table: dropping the expression keeps the values and
-- rewrites nothing; the description's trigram index is built again (as a partial index,
-- under the migration's lock while the store starts): 2.0 s at 100,000 incidents on the
-- 2-core machine (load 4), so roughly 20 s a million.
ALTER TABLE incidents ALTER COLUMN search_tsv DROP EXPRESSION;

-- The words of an incident for similarity, as 011 defined them: title (weight A),
-- service, source and label values (B), the first 4 KiB of the description (D).
CREATE FUNCTION triage_search_tsv(title text, service text, source text, labels jsonb,
                                  description text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, title), 'A') ||
           setweight(to_tsvector('english'::regconfig,
                                 coalesce(service, '') || ' ' || coalesce(source, '')), 'B') ||
           setweight(jsonb_to_tsvector('english'::regconfig, labels, '["string"]'), 'B') ||
           setweight(to_tsvector('english'::regconfig, left(description, 4096)), 'D')
$$;

CREATE FUNCTION triage_search_build() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_tsv := triage_search_tsv(NEW.title, NEW.service, NEW.source, NEW.labels,
                                        NEW.description);
    RETURN NEW;
END $$;

CREATE TRIGGER incidents_search_insert BEFORE INSERT ON incidents FOR EACH ROW
    WHEN (NEW.search_tsv IS NULL
          AND current_setting('triage.defer_search', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION triage_search_build();
CREATE TRIGGER incidents_search_update BEFORE UPDATE ON incidents FOR EACH ROW
    WHEN (NEW.search_tsv IS NULL OR NEW.title IS DISTINCT FROM OLD.title
          OR NEW.description IS DISTINCT FROM OLD.description
          OR NEW.service IS DISTINCT FROM OLD.service OR NEW.source IS DISTINCT FROM OLD.source
          OR NEW.labels IS DISTINCT FROM OLD.labels)
    EXECUTE FUNCTION triage_search_build();

-- Rows still without search data, oldest first (for the sweep and for q=).
CREATE INDEX incidents_unsearched ON incidents (id) WHERE search_tsv IS NULL;

-- The description's trigrams for rows with their search data only (same name as 011's).
CREATE INDEX incidents_description_trgm_017 ON incidents USING gin (description gin_trgm_ops)
    WHERE search_tsv IS NOT NULL;
DROP INDEX incidents_description_trgm;
ALTER INDEX incidents_description_trgm_017 RENAME TO incidents_description_trgm;

-- Builds the search data of up to lim rows inserted more than older_than ago and still
-- without it, oldest first; rows another transaction holds are left for the next call.
-- Returns how many it built.
CREATE FUNCTION triage_search_fill(lim integer, older_than interval) RETURNS integer
LANGUAGE sql AS $$
    WITH f AS (
        UPDATE incidents i
           SET search_tsv = triage_search_tsv(i.title, i.service, i.source, i.labels,
                                              i.description)
          FROM (SELECT id FROM incidents WHERE search_tsv IS NULL
                   AND created_at < now() - older_than
                 ORDER BY id LIMIT lim FOR UPDATE SKIP LOCKED) d
         WHERE i.id = d.id
        RETURNING 1)
    SELECT count(*)::integer FROM f
$$;
