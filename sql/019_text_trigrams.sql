-- 019: the list's q= (a case-insensitive substring of the title or the description)
-- reads one trigram index over both, built when an incident's search data is (sql/017),
-- instead of two: the title's, which every insert paid for on the ingest path, and the
-- description's; a rare word's trigrams were looked up in both and the bitmaps joined.
-- The text indexed is the title, a newline, the description: a pattern without a newline
-- matches it exactly when it matches the title or the description (the list query adds
-- the two separate matches only for a pattern with a newline in it). Rows still without
-- search data are read through incidents_unsearched, as before.
--
-- The planner chooses between walking newest first (a common word fills the page at
-- once) and this index (a rare one) by the estimated share of matches: it needs the
-- joined text's own statistics, with the histogram resolution 015 gave the columns.
--
-- Upgrade cost on a populated table: one GIN build over the rows with search data and
-- an ANALYZE, under the migration's lock while the store starts: 55 s at a million
-- incidents on the 2-core machine (load 2; README.md, "Memory at a million incidents").
CREATE INDEX incidents_text_trgm ON incidents
    USING gin ((title || E'\n' || description) gin_trgm_ops) WHERE search_tsv IS NOT NULL;
CREATE STATISTICS incidents_text_stats ON ((title || E'\n' || description)) FROM incidents;
ALTER STATISTICS incidents_text_stats SET STATISTICS 1000;
DROP INDEX incidents_title_trgm;
DROP INDEX incidents_description_trgm;
ANALYZE incidents;
