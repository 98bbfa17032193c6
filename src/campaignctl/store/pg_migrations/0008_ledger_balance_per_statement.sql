-- The balance follows the ledger once per statement, not once per row. A row trigger updates
-- the one meta row once per inserted row, and in one transaction each update leaves a row
-- version the next must step over: a state copy inserting a million ledger rows took hours.
-- Once per statement, a COPY of a whole batch updates meta once; a single insert as before.

DROP TRIGGER ledger_balance ON ledger;
CREATE OR REPLACE FUNCTION ledger_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meta SET balance = balance + (SELECT sum(amount) FROM inserted)
        WHERE id = 1 AND EXISTS (SELECT 1 FROM inserted);
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_balance AFTER INSERT ON ledger
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_balance();
