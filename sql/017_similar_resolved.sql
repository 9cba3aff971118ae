-- 017: the words of resolved incidents in an index of their own, for the most similar
-- resolved incidents a job carries. Without it the planner found those through an index
-- on state (reading every resolved incident and matching its words: 5,000 of them cost
-- 2.3 ms a job, most of a backlog's triage cost) or through the text index of every
-- state. An expression, not a partial index: a partial one's predicate (state =
-- 'resolved') also matches the indexes on state, which the planner preferred.
CREATE INDEX incidents_search_resolved ON incidents
    USING gin ((CASE WHEN state = 'resolved' THEN search_tsv END));

-- Every search reads a GIN index's whole pending list (fastupdate: new entries wait
-- there, unsorted, until it outgrows gin_pending_list_limit, 4 MB by default, or a
-- vacuum). Under steady ingest that list is always full: with 20,000 new incidents the
-- similar lookup of 32 jobs took 71 ms, and 2.6 ms once a VACUUM had emptied it. The
-- text indexes keep theirs at 64 kB: an insert merges it into the index a little at a
-- time (sorted, in bulk), and a search reads a few hundred entries, not tens of thousands.
ALTER INDEX incidents_search SET (gin_pending_list_limit = 64);
ALTER INDEX incidents_search_resolved SET (gin_pending_list_limit = 64);
