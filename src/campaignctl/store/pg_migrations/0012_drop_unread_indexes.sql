-- Indexes nothing reads any more, dropped so that no write keeps them: the status page and
-- `status` count from the summary rows (0009), and a campaign's enrollments by status are
-- read through enrollments_next, which begins with the same columns. As SQLite's
-- m014_drop_unread_indexes.
-- depends: 0011_synced_rows

DROP INDEX enrollments_funnel;
DROP INDEX attempts_funnel;
DROP INDEX attempts_sent_at;
DROP INDEX ledger_at;
DROP INDEX enrollments_campaign;
