"""Reads for the state commands: balance and ledger, opt-outs, campaign status, and the
history of one number for `explain`."""

from __future__ import annotations

from collections import defaultdict

from campaignctl.core.lifecycle import observed_reason
from campaignctl.store.codec import launch_value
from campaignctl.store.db import StoreBase, from_text, opt_from_text
from campaignctl.store.records import (
    CampaignStatusRow,
    EnrollmentRecord,
    HistoryEvent,
    HistoryKind,
    LedgerEntry,
    OptOutRecord,
)
from campaignctl.store.replies import reply_counts, reply_history

KIND_ORDER = {
    "reply": -1,  # before what it did (an opt-out, an opt-in, an ended sequence)
    "optin": 0,
    "enrolled": 1,
    "decision": 2,
    "attempt": 3,
    "optout": 4,
    "done": 5,
    "ended": 6,
}


class QueriesMixin(StoreBase):
    def balance(self) -> int:
        """The credit balance: the sum of the ledger."""
        with self._read() as conn:
            return int(conn.execute("SELECT balance FROM meta WHERE id = 1").fetchone()[0])

    def ledger(self, limit: int | None = None) -> list[LedgerEntry]:
        """The ledger, oldest first: all of it, or its last `limit` entries, each with the
        balance after it."""
        with self._read() as conn:
            balance = int(conn.execute("SELECT balance FROM meta WHERE id = 1").fetchone()[0])
            rows = conn.execute(
                "SELECT id, at, amount, note, attempt_id FROM ledger ORDER BY id DESC"
                + ("" if limit is None else " LIMIT ?"),
                [] if limit is None else [limit],
            ).fetchall()
        entries: list[LedgerEntry] = []
        for entry_id, at, amount, note, attempt_id in rows:  # newest first
            entries.append(LedgerEntry(entry_id, from_text(at), amount, balance, note, attempt_id))
            balance -= amount
        return entries[::-1]

    def ledger_size(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM ledger").fetchone()[0])

    def optouts(self) -> list[OptOutRecord]:
        """Every opted-out number, oldest opt-out first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT phone, at, source, note FROM optouts ORDER BY at, phone"
            ).fetchall()
        return [
            OptOutRecord(phone, from_text(at), source, note) for phone, at, source, note in rows
        ]

    def optout_of(self, phone: str) -> OptOutRecord | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT phone, at, source, note FROM optouts WHERE phone = ?", [phone]
            ).fetchone()
        return None if row is None else OptOutRecord(row[0], from_text(row[1]), row[2], row[3])

    def campaign_status_rows(self) -> list[CampaignStatusRow]:
        """One row per campaign in the state, by name, with its enrollment and send counts
        (counted from the summary rows the triggers keep: store/summary.py)."""
        with self._read() as conn:
            counts: dict[str, dict[tuple[str, str | None], int]] = defaultdict(dict)
            for campaign, status, reason, n in conn.execute(
                "SELECT campaign, status, end_reason, sum(n) FROM summary_enrollments"
                " GROUP BY campaign, status, end_reason"
            ):
                if n:
                    counts[campaign][(status, reason or None)] = int(n)
            sends: dict[str, tuple[int, int, int]] = {
                campaign: (int(sent or 0), int(in_flight or 0), int(credits or 0))
                for campaign, sent, in_flight, credits in conn.execute(
                    "SELECT campaign, sum(CASE WHEN status = 'sent' THEN n ELSE 0 END),"
                    " sum(CASE WHEN status IN ('pending', 'unknown') THEN n ELSE 0 END),"
                    " sum(CASE WHEN status IN ('sent', 'pending', 'unknown') THEN credits END)"
                    " FROM summary_attempts GROUP BY campaign"
                )
            }
            rows = conn.execute(
                "SELECT name, status, reason, launch, launched_at, updated_at, config_error"
                " FROM campaigns ORDER BY name"
            ).fetchall()
            replies = reply_counts(conn)
        result = []
        for name, status, reason, launch, launched_at, updated_at, config_error in rows:
            template = None if launch is None else launch_value(launch, "template")
            group = None if launch is None else launch_value(launch, "prospect_group")
            by_state = counts.get(name, {})
            sent, in_flight, credits = sends.get(name, (0, 0, 0))
            ended = {r or "unknown": n for (s, r), n in by_state.items() if s == "ended"}
            live = sum(n for (s, _), n in by_state.items() if s == "live")
            result.append(
                CampaignStatusRow(
                    name=name,
                    status=status,
                    reason=observed_reason(status, reason, launch is not None, live),
                    template=template,
                    prospect_group=group,
                    live=live,
                    done=sum(n for (s, _), n in by_state.items() if s == "done"),
                    ended=dict(sorted(ended.items())),
                    sent=sent or 0,
                    in_flight=in_flight or 0,
                    credits=credits or 0,
                    replies=replies[name],
                    launched_at=opt_from_text(launched_at),
                    updated_at=opt_from_text(updated_at),
                    config_error=config_error,
                )
            )
        return result

    def enrollments_of(self, phone: str) -> list[EnrollmentRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT campaign, phone, status, end_reason, steps_sent, last_sent_at,"
                " next_due_at, enrolled_at, ended_at, source FROM enrollments WHERE phone = ?"
                " ORDER BY enrolled_at, id",
                [phone],
            ).fetchall()
        return [
            EnrollmentRecord(
                campaign=r[0],
                phone=r[1],
                status=r[2],
                end_reason=r[3],
                steps_sent=r[4],
                last_sent_at=opt_from_text(r[5]),
                next_due_at=from_text(r[6]) if r[2] == "live" else None,
                enrolled_at=from_text(r[7]),
                ended_at=opt_from_text(r[8]),
                source=r[9],
            )
            for r in rows
        ]

    def explain(self, phone: str) -> list[HistoryEvent]:
        """Everything recorded about a number, across campaigns, in time order: enrollment
        (its detail: where the contact came from), each decision with its rule, each send
        attempt and its outcome, the end of each sequence, opt-outs and replies. Empty when the
        state has never seen the number."""
        events: list[HistoryEvent] = []
        with self._read() as conn:
            decided = {
                str(r[0])
                for r in conn.execute(
                    "SELECT DISTINCT campaign FROM decisions WHERE phone = ? AND type = 'enroll'",
                    [phone],
                )
            }
        for e in self.enrollments_of(phone):
            # an enrollment is told by its row, with its source; a state written before
            # enrollments kept their source has an enroll decision that says it instead
            if e.campaign not in decided:
                events.append(
                    HistoryEvent(e.enrolled_at, "enrolled", e.campaign, "enrolled", detail=e.source)
                )
            if e.status != "live" and e.ended_at is not None:
                kind: HistoryKind = "done" if e.status == "done" else "ended"
                events.append(
                    HistoryEvent(e.ended_at, kind, e.campaign, e.status, e.steps_sent, e.end_reason)
                )
        with self._read() as conn:
            for (
                at,
                last_at,
                repeats,
                campaign,
                action_type,
                step,
                reason,
                until,
                detail,
            ) in conn.execute(
                "SELECT at, last_at, repeats, campaign, type, step, reason, until, detail"
                " FROM decisions WHERE phone = ? ORDER BY id",
                [phone],
            ):
                events.append(
                    HistoryEvent(from_text(at), "decision", campaign, action_type, step, reason,
                                 opt_from_text(until), detail,
                                 from_text(last_at) if repeats > 1 else None, repeats)
                )  # fmt: skip
            for (
                at,
                campaign,
                step,
                status,
                provider,
                provider_id,
                code,
                detail,
                delivery,
            ) in conn.execute(
                "SELECT created_at, campaign, step, status, provider, provider_id,"
                " error_code, detail, delivery_status FROM attempts WHERE phone = ?"
                " ORDER BY id",
                [phone],
            ):
                parts = [f"via {provider}", provider_id, f"delivery {delivery}" if delivery else None,
                         f"error {code}" if code else None, detail]  # fmt: skip
                events.append(
                    HistoryEvent(from_text(at), "attempt", campaign, status, step,
                                 detail=", ".join(p for p in parts if p))
                )  # fmt: skip
            for at, action, source, reason in conn.execute(
                "SELECT at, action, source, reason FROM optout_history WHERE phone = ? ORDER BY id",
                [phone],
            ):
                events.append(
                    HistoryEvent(from_text(at), "optout" if action == "add" else "optin", None,
                                 source, reason=reason)
                )  # fmt: skip
            events.extend(reply_history(conn, phone))
        events.sort(key=lambda ev: (ev.at, KIND_ORDER[ev.kind]))
        return events
