-- 003: attempt numbers never repeat for an incident, so a late result from before a
-- retriage or a release can never match the attempt now in flight.
--   attempt       counts every dispatch ever made (the number a result must match);
--   attempt_base  is where the current triage's count starts: a retriage moves it up to
--                 attempt, and each release (a job handed back unattempted) moves it up
--                 by one. attempt - attempt_base is what TRIAGE_MAX_ATTEMPTS and the
--                 backoff count.
ALTER TABLE incidents ADD COLUMN attempt_base integer NOT NULL DEFAULT 0;
