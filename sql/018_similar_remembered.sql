-- 018: the words of the incidents a deployment remembers in an index of their own: the
-- resolved ones (examples for a prompt) and those a responder labelled (their labels
-- weigh in the built-in model's vote), for the most similar of them a job carries.
-- Without it the planner found resolved ones through an index on state (reading every
-- resolved incident and matching its words: 5,000 of them cost 2.3 ms a job, most of a
-- backlog's triage cost) or through the text index of every state. An expression, not a
-- partial index: a partial one's predicate also matched the indexes on state, which the
-- planner preferred. store_similar.c's STORE_SQL_REMEMBERED_WORDS is this expression.
CREATE INDEX incidents_search_remembered ON incidents
    USING gin ((CASE WHEN state = 'resolved' OR severity_override IS NOT NULL
                     OR category_override IS NOT NULL OR triage_feedback = 'right'
                THEN search_tsv END));

-- Every search reads a GIN index's whole pending list (fastupdate: new entries wait
-- there, unsorted, until it outgrows gin_pending_list_limit, 4 MB by default, or a
-- vacuum). Under steady ingest that list is always full: with 20,000 new incidents the
-- similar lookup of 32 jobs took 71 ms, and 2.6 ms once a VACUUM had emptied it. The
-- text indexes keep theirs at 64 kB: an insert merges it into the index a little at a
-- time (sorted, in bulk), and a search reads a few hundred entries, not tens of thousands.
ALTER INDEX incidents_search SET (gin_pending_list_limit = 64);
ALTER INDEX incidents_search_remembered SET (gin_pending_list_limit = 64);
