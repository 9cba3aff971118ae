-- 015: every filter of the incident list is served by an index in the order it pages
-- (newest first), so a filter matching few rows does not walk the whole table backwards
-- (status has one since 001: incidents_status). The expressions are the list query's.
CREATE INDEX incidents_severity ON incidents ((coalesce(severity_override, severity)), id DESC);
CREATE INDEX incidents_category ON incidents ((coalesce(category_override, category)), id DESC);
CREATE INDEX incidents_state ON incidents (state, id DESC);

-- Text search (q=) picks between walking newest first (a common word: the page fills
-- at once) and the trigram indexes (a rare one) by the estimated share of matches, which
-- PostgreSQL reads off the column's histogram: 100 entries (the default) could not tell
-- a word in one row of 4,000 from one in one of 200, and the choice flipped from one
-- ANALYZE to the next. 1,000 entries tell them apart.
ALTER TABLE incidents ALTER COLUMN title SET STATISTICS 1000,
                      ALTER COLUMN description SET STATISTICS 1000;
