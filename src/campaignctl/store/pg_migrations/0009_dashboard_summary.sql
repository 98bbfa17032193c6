-- The status page's counts kept as summary rows (store/summary.py), as SQLite's migration
-- m011_dashboard_summary keeps them: the same tables and keys ('' where the column is NULL),
-- counted here from the rows the state holds. SQLite keeps them with row triggers; here
-- statement triggers read the statement's transition tables, so a statement that changes
-- thousands of rows (a group's enrollments ended) updates each summary row once. Inserted
-- enrollments are counted by enroll_many, a batch at a time (summary.add_enrolled). In a
-- transaction that sets campaignctl.summary_rebuild to 'on' (`state copy`, which rebuilds
-- the summary from the rows before it commits) the triggers do nothing.
-- depends: 0001_state

CREATE TABLE summary_enrollments (
    campaign ctext NOT NULL,
    status ctext NOT NULL,
    end_reason ctext NOT NULL,               -- '' for none
    steps_sent INTEGER NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (campaign, status, end_reason, steps_sent)
);
CREATE TABLE summary_attempts (
    campaign ctext NOT NULL,
    step INTEGER NOT NULL,
    status ctext NOT NULL,
    delivery_status ctext NOT NULL,          -- '' for none reported
    n BIGINT NOT NULL,
    credits BIGINT NOT NULL,
    PRIMARY KEY (campaign, step, status, delivery_status)
);
CREATE TABLE summary_sent_days (
    campaign ctext NOT NULL,
    day ctext NOT NULL,                      -- YYYY-MM-DD (UTC) the attempt was made
    n BIGINT NOT NULL,
    PRIMARY KEY (campaign, day)
);
CREATE TABLE summary_ledger_days (
    day ctext PRIMARY KEY,                   -- YYYY-MM-DD (UTC) of the entries
    amount BIGINT NOT NULL
);

CREATE FUNCTION summary_enrollments_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('campaignctl.summary_rebuild', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO summary_enrollments AS s (campaign, status, end_reason, steps_sent, n)
        SELECT d.campaign, d.status, d.end_reason, d.steps_sent, sum(d.n) FROM (
            SELECT campaign, status, coalesce(end_reason, '') AS end_reason, steps_sent,
                   -1 AS n FROM old_rows
            UNION ALL
            SELECT campaign, status, coalesce(end_reason, ''), steps_sent, 1 FROM new_rows
        ) AS d
        GROUP BY d.campaign, d.status, d.end_reason, d.steps_sent HAVING sum(d.n) <> 0
        ON CONFLICT (campaign, status, end_reason, steps_sent)
        DO UPDATE SET n = s.n + excluded.n;
    ELSE
        INSERT INTO summary_enrollments AS s (campaign, status, end_reason, steps_sent, n)
        SELECT campaign, status, coalesce(end_reason, ''), steps_sent, -count(*) FROM old_rows
        GROUP BY campaign, status, coalesce(end_reason, ''), steps_sent
        ON CONFLICT (campaign, status, end_reason, steps_sent)
        DO UPDATE SET n = s.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER summary_enrollments_update AFTER UPDATE ON enrollments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION summary_enrollments_change();
CREATE TRIGGER summary_enrollments_delete AFTER DELETE ON enrollments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION summary_enrollments_change();

-- attempts: the funnel by step and delivery, and the sends of each day
CREATE FUNCTION summary_attempts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('campaignctl.summary_rebuild', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO summary_attempts AS s (campaign, step, status, delivery_status, n, credits)
        SELECT campaign, step, status, coalesce(delivery_status, ''), count(*), sum(credits)
        FROM new_rows GROUP BY campaign, step, status, coalesce(delivery_status, '')
        ON CONFLICT (campaign, step, status, delivery_status)
        DO UPDATE SET n = s.n + excluded.n, credits = s.credits + excluded.credits;
        INSERT INTO summary_sent_days AS s (campaign, day, n)
        SELECT campaign, substr(created_at, 1, 10), count(*) FROM new_rows
        WHERE status = 'sent' GROUP BY campaign, substr(created_at, 1, 10)
        ON CONFLICT (campaign, day) DO UPDATE SET n = s.n + excluded.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO summary_attempts AS s (campaign, step, status, delivery_status, n, credits)
        SELECT d.campaign, d.step, d.status, d.delivery_status, sum(d.n), sum(d.credits) FROM (
            SELECT campaign, step, status, coalesce(delivery_status, '') AS delivery_status,
                   -1 AS n, -credits AS credits FROM old_rows
            UNION ALL
            SELECT campaign, step, status, coalesce(delivery_status, ''), 1, credits
            FROM new_rows
        ) AS d
        GROUP BY d.campaign, d.step, d.status, d.delivery_status
        HAVING sum(d.n) <> 0 OR sum(d.credits) <> 0
        ON CONFLICT (campaign, step, status, delivery_status)
        DO UPDATE SET n = s.n + excluded.n, credits = s.credits + excluded.credits;
        INSERT INTO summary_sent_days AS s (campaign, day, n)
        SELECT d.campaign, d.day, sum(d.n) FROM (
            SELECT campaign, substr(created_at, 1, 10) AS day, -1 AS n FROM old_rows
            WHERE status = 'sent'
            UNION ALL
            SELECT campaign, substr(created_at, 1, 10), 1 FROM new_rows WHERE status = 'sent'
        ) AS d
        GROUP BY d.campaign, d.day HAVING sum(d.n) <> 0
        ON CONFLICT (campaign, day) DO UPDATE SET n = s.n + excluded.n;
    ELSE
        INSERT INTO summary_attempts AS s (campaign, step, status, delivery_status, n, credits)
        SELECT campaign, step, status, coalesce(delivery_status, ''), -count(*), -sum(credits)
        FROM old_rows GROUP BY campaign, step, status, coalesce(delivery_status, '')
        ON CONFLICT (campaign, step, status, delivery_status)
        DO UPDATE SET n = s.n + excluded.n, credits = s.credits + excluded.credits;
        INSERT INTO summary_sent_days AS s (campaign, day, n)
        SELECT campaign, substr(created_at, 1, 10), -count(*) FROM old_rows
        WHERE status = 'sent' GROUP BY campaign, substr(created_at, 1, 10)
        ON CONFLICT (campaign, day) DO UPDATE SET n = s.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER summary_attempts_insert AFTER INSERT ON attempts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION summary_attempts_change();
CREATE TRIGGER summary_attempts_update AFTER UPDATE ON attempts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION summary_attempts_change();
CREATE TRIGGER summary_attempts_delete AFTER DELETE ON attempts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION summary_attempts_change();

-- the ledger is append-only (its own triggers refuse updates and deletes)
CREATE FUNCTION summary_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('campaignctl.summary_rebuild', true) = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO summary_ledger_days AS s (day, amount)
    SELECT substr(at, 1, 10), sum(amount) FROM new_rows GROUP BY substr(at, 1, 10)
    ON CONFLICT (day) DO UPDATE SET amount = s.amount + excluded.amount;
    RETURN NULL;
END
$$;
CREATE TRIGGER summary_ledger_insert AFTER INSERT ON ledger
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION summary_ledger_change();

-- counted from the rows the state holds (store/summary.py FROM_ROWS)
INSERT INTO summary_enrollments (campaign, status, end_reason, steps_sent, n)
SELECT campaign, status, coalesce(end_reason, ''), steps_sent, count(*)
FROM enrollments GROUP BY campaign, status, coalesce(end_reason, ''), steps_sent;
INSERT INTO summary_attempts (campaign, step, status, delivery_status, n, credits)
SELECT campaign, step, status, coalesce(delivery_status, ''), count(*), sum(credits)
FROM attempts GROUP BY campaign, step, status, coalesce(delivery_status, '');
INSERT INTO summary_sent_days (campaign, day, n)
SELECT campaign, substr(created_at, 1, 10), count(*) FROM attempts
WHERE status = 'sent' GROUP BY campaign, substr(created_at, 1, 10);
INSERT INTO summary_ledger_days (day, amount)
SELECT substr(at, 1, 10), sum(amount) FROM ledger GROUP BY substr(at, 1, 10);
