-- `enrollments.next_at`, as SQLite's migration m011_next_at adds it (schema.py): the earliest
-- instant a live enrollment's next step can go out, as far as the state knows (a lower
-- bound, never later than the truth), indexed by campaign so a tick reads only what can go
-- out now, oldest first (store/due.py). NULL: unknown, read when due by its wait. The rows
-- already kept get their wait (next_due_at): a lower bound.

ALTER TABLE enrollments ADD COLUMN next_at ctext;
UPDATE enrollments SET next_at = next_due_at;
CREATE INDEX enrollments_next ON enrollments (campaign, status, next_at, id);
