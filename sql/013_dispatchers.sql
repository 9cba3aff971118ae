-- 013: two stores side by side. Each store's dispatcher says here, every sweep, that it
-- is alive and which jobs address it dispatches through (incidents.dispatched_via). A
-- store whose row has gone stale died: another store then returns the rows it had
-- dispatched that no live enricher holds, instead of leaving them to their lease.
CREATE TABLE store_dispatchers (
    jobs_url  text PRIMARY KEY,     -- incidents.dispatched_via of the rows it sends
    store_id  text NOT NULL,        -- the process now dispatching through it
    seen_at   timestamptz NOT NULL
);
