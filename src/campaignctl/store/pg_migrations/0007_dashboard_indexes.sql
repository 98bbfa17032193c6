-- The indexes of SQLite's migration m010 (schema.py): everything the status page counts
-- (store/dashboard.py) is held by an index, so a large state is counted without its rows.

CREATE INDEX enrollments_funnel ON enrollments (campaign, status, end_reason, steps_sent);
CREATE INDEX attempts_funnel ON attempts (campaign, step, status, delivery_status, credits);
CREATE INDEX attempts_sent_at ON attempts (campaign, created_at, status) WHERE status = 'sent';
CREATE INDEX ledger_at ON ledger (at, amount);
