-- `enrollments.next_at`, as SQLite's migration m012_next_at adds it (schema.py): the earliest
-- instant a live enrollment's next step can go out, as far as the state knows (a lower
-- bound, never later than the truth), indexed by campaign so a tick reads only what can go
-- out now, oldest first (store/due.py). NULL: unknown, read when due by its wait. The rows
-- already kept get their wait (next_due_at): a lower bound. `next_why`: the rule that holds
-- one whose next moment is later than its wait (quiet_hours, recent_outreach), so a plan
-- counts those waiting without reading them (`enrollments_later` holds only those).

ALTER TABLE enrollments ADD COLUMN next_at ctext;
ALTER TABLE enrollments ADD COLUMN next_why ctext;
UPDATE enrollments SET next_at = next_due_at;
CREATE INDEX enrollments_next ON enrollments (campaign, status, next_at, id);
CREATE INDEX enrollments_later
    ON enrollments (next_at, campaign, next_why, next_due_at, status, id)
    WHERE status = 'live' AND next_at > next_due_at;
