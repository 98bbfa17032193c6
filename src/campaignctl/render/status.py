"""Text and JSON output of the state commands: status, explain, credits, opt-outs, outbox.

Text is for people (aligned tables, `-` for nothing); JSON is for scripts (stable keys,
times in UTC ISO 8601 with `Z`, null for nothing).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from campaignctl.app.waiting import Waiting
from campaignctl.core.instants import format_instant
from campaignctl.render.consent import consent_json, consent_lines, hold_json, hold_line
from campaignctl.store.consent import ConsentRecord
from campaignctl.store.records import (
    CampaignStatusRow,
    EnrollmentRecord,
    HistoryEvent,
    LedgerEntry,
    OptOutRecord,
    OutboxRecord,
)
from campaignctl.store.review import ReviewHold

NONE = "-"


def _t(at: datetime | None) -> str | None:
    return None if at is None else format_instant(at)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns two spaces apart; None shows as '-'."""
    cells = [[NONE if c is None or c == "" else str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


# --------------------------------------------------------------------------- status


def _ended_text(ended: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in ended.items()) or NONE


def status_json(
    rows: Sequence[CampaignStatusRow],
    balance: int,
    suspended: str | None,
    suspended_at: datetime | None,
    serial: int,
) -> str:
    campaigns = [
        {
            "name": r.name,
            "status": r.status,
            "reason": "config_error" if r.config_error else r.reason,
            "config_error": r.config_error,
            "template": r.template,
            "prospect_group": r.prospect_group,
            "enrollments": {
                "total": r.enrolled,
                "live": r.live,
                "done": r.done,
                "ended": dict(r.ended),
            },
            "sent": r.sent,
            "in_flight": r.in_flight,
            "credits": r.credits,
            "replies": r.replies,
            "launched_at": _t(r.launched_at),
            "updated_at": _t(r.updated_at),
        }
        for r in rows
    ]
    suspend = None if suspended is None else {"reason": suspended, "since": _t(suspended_at)}
    return _json(
        {"campaigns": campaigns, "balance": balance, "suspended": suspend, "serial": serial}
    )


def status_text(
    rows: Sequence[CampaignStatusRow],
    balance: int,
    suspended: str | None,
    suspended_at: datetime | None,
    hidden: int,
) -> str:
    parts: list[str] = []
    if rows:
        headers = ("CAMPAIGN", "STATUS", "REASON", "ENROLLED", "LIVE", "DONE", "ENDED",
                   "SENT", "CREDITS", "REPLIES")  # fmt: skip
        body = [
            (r.name, r.status, "config_error" if r.config_error else r.reason, r.enrolled,
             r.live, r.done, _ended_text(dict(r.ended)),
             r.sent if not r.in_flight else f"{r.sent} (+{r.in_flight} in flight)", r.credits,
             r.replies)
            for r in rows
        ]  # fmt: skip
        parts.append(table(headers, body))
        parts.extend(
            f"{r.name} is held, sending nothing until the file is fixed: {r.config_error}"
            for r in rows
            if r.config_error
        )
    else:
        parts.append("No campaigns in the state yet.")
    if hidden:
        plural = "s" if hidden > 1 else ""
        parts.append(f"({hidden} completed campaign{plural} hidden; --status all shows them)")
    parts.append(f"Balance: {balance} credits")
    if suspended is None:
        parts.append("Sending: on")
    else:
        since = f" since {_t(suspended_at)}" if suspended_at else ""
        parts.append(f"Sending: SUSPENDED{since}: {suspended} (campaignctl resume to lift)")
    return "\n".join(parts)


# --------------------------------------------------------------------------- explain


def _event_json(event: HistoryEvent) -> dict[str, Any]:
    return {
        "at": _t(event.at),
        "kind": event.kind,
        "campaign": event.campaign,
        "what": event.what,
        "step": event.step,
        "reason": event.reason,
        "until": _t(event.until),
        "detail": event.detail,
        "repeats": event.repeats,
        "last_at": _t(event.last_at),
    }


def _enrollment_json(e: EnrollmentRecord) -> dict[str, Any]:
    return {
        "campaign": e.campaign,
        "status": e.status,
        "end_reason": e.end_reason,
        "steps_sent": e.steps_sent,
        "last_sent_at": _t(e.last_sent_at),
        "next_due_at": _t(e.next_due_at),
        "enrolled_at": _t(e.enrolled_at),
        "ended_at": _t(e.ended_at),
    }


def optout_json(o: OptOutRecord | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"phone": o.phone, "at": _t(o.at), "source": o.source, "note": o.note}


def _waiting_json(w: Waiting) -> dict[str, Any]:
    return {
        "campaign": w.campaign,
        "step": w.step,
        "what": w.what,
        "reason": w.reason,
        "until": _t(w.until),
        "local": dict(w.local),
        "detail": w.detail,
        "body": w.body,
        "segments": w.segments,
        "credits": w.credits,
        "note": w.note,
        "text": _waiting_text(w),
    }


def explain_json(
    phone: str,
    optout: OptOutRecord | None,
    enrollments: Sequence[EnrollmentRecord],
    events: Sequence[HistoryEvent],
    now: Sequence[Waiting] = (),
    held: ReviewHold | None = None,
    consent: Sequence[ConsentRecord] = (),
) -> str:
    return _json(
        {
            "phone": phone,
            "opted_out": optout_json(optout),
            "held_for_review": hold_json(held),
            "enrollments": [_enrollment_json(e) for e in enrollments],
            "consent": [consent_json(r) for r in consent],
            "history": [_event_json(ev) for ev in events],
            "now": [_waiting_json(w) for w in now],
        }
    )


def _enrollment_line(e: EnrollmentRecord, passed: int = 0) -> str:
    """`passed`: the steps of it passed over (expired), counted in steps_sent."""
    count = e.steps_sent - passed
    sent = f"{count} step{'s' if count != 1 else ''} sent"
    if passed:
        sent += f", {passed} passed over (expired)"
    if e.status == "live":
        return f"{e.campaign}: live, {sent}, next step due {_t(e.next_due_at)}"
    if e.status == "done":
        return f"{e.campaign}: done, {sent} (sequence finished {_t(e.ended_at)})"
    return f"{e.campaign}: ended ({e.end_reason}) {_t(e.ended_at)}, {sent}"


def _event_row(ev: HistoryEvent) -> tuple[object, ...]:
    step = f"step {ev.step}" if ev.step is not None else None
    if ev.kind == "reply":  # what it did, and its text
        return (_t(ev.at), ev.campaign, step, "reply", ev.what, f'"{_preview(ev.detail or "")}"')
    what = {"attempt": f"attempt {ev.what}", "optout": "opted out", "optin": "opt-out lifted"}
    notes = []
    if ev.until is not None:
        notes.append(f"until {_t(ev.until)}")
    if ev.repeats > 1:
        notes.append(f"x{ev.repeats}, last {_t(ev.last_at)}")
    if ev.kind in ("optout", "optin"):
        notes.append(f"by {ev.what}")
    if ev.detail:
        notes.append(ev.detail)
    return (_t(ev.at), ev.campaign, step, what.get(ev.kind, ev.what), ev.reason, "; ".join(notes))


PREVIEW = 60  # characters of a message body shown in a line of text


def _preview(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1].rstrip() + "…"


def _local_text(local: dict[str, str]) -> str | None:
    if not local:
        return None
    if len(set(local.values())) == 1:
        return f"{next(iter(local.values()))} local"
    return ", ".join(f"{hhmm} {zone}" for zone, hhmm in local.items())


def _waiting_text(w: Waiting) -> str:
    """One sentence: what happens now to the enrollment's next step, and why."""
    step = f"step {w.step}"
    if w.what == "scheduled":
        text = f"{step} is due at {_t(w.until)}" + (f" ({w.detail})" if w.detail else "")
    elif w.what == "in_flight":
        text = f"{step} is in flight ({w.detail}): what follows depends on its outcome"
    elif w.what == "send":
        credits = f"{w.credits} credit{'s' if w.credits != 1 else ''}"
        text = f"{step} is due now: {w.detail}; {credits}"
        if w.body is not None:
            text += f': "{_preview(w.body)}"'
    elif w.what == "defer":
        text = f"{step} waits: {w.reason}"
        if w.until is not None:
            text += f" until {_t(w.until)}"
        notes = [n for n in (_local_text(dict(w.local)), w.detail) if n]
        if notes:
            text += f" ({'; '.join(notes)})"
    elif w.what == "skip":
        text = f"{step} is skipped: {w.reason} ({w.detail}); the next apply ends this enrollment"
    elif w.what == "idle":
        text = f"{step} does not go out: {w.detail}"
    else:
        text = f"{step}: {w.detail}"
    if w.note:
        text += f"; {w.note}"
    return text


def explain_text(
    phone: str,
    optout: OptOutRecord | None,
    enrollments: Sequence[EnrollmentRecord],
    events: Sequence[HistoryEvent],
    now: Sequence[Waiting] = (),
    held: ReviewHold | None = None,
    consent: Sequence[ConsentRecord] = (),
) -> str:
    if optout is None:
        head = f"{phone}: not opted out"
    else:
        note = f": {optout.note}" if optout.note else ""
        head = f"{phone}: OPTED OUT since {_t(optout.at)} ({optout.source}{note})"
    lines = [head, *hold_line(held)]
    if enrollments:
        lines.append("Enrollments:")
        passed = Counter(
            ev.campaign
            for ev in events
            if ev.kind == "decision" and ev.what == "skip" and ev.reason == "expired"
        )
        lines.extend(f"  {_enrollment_line(e, passed[e.campaign])}" for e in enrollments)
    lines.extend(consent_lines(consent))
    lines.append("History:")
    rows = [_event_row(ev) for ev in events]
    lines.append(table(("TIME", "CAMPAIGN", "STEP", "WHAT", "REASON", "DETAIL"), rows))
    if now:
        width = max(len(w.campaign) for w in now)
        lines.append("Now:")
        lines.extend(f"  {w.campaign.ljust(width)}  {_waiting_text(w)}" for w in now)
    return "\n".join(lines)


# --------------------------------------------------------------------------- credits


def credits_json(balance: int, entries: Sequence[LedgerEntry]) -> str:
    ledger = [
        {"id": e.id, "at": _t(e.at), "amount": e.amount, "balance_after": e.balance_after,
         "note": e.note, "attempt_id": e.attempt_id}
        for e in entries
    ]  # fmt: skip
    return _json({"balance": balance, "ledger": ledger})


def credits_text(balance: int, entries: Sequence[LedgerEntry], total: int | None = None) -> str:
    lines = [f"Balance: {balance} credits"]
    if entries:
        shown = f" (last {len(entries)} of {total})" if total and total > len(entries) else ""
        lines.append(f"Ledger{shown}:")
        rows = [(_t(e.at), f"{e.amount:+d}", e.balance_after, e.note) for e in entries]
        lines.append(table(("TIME", "AMOUNT", "BALANCE", "NOTE"), rows))
    else:
        lines.append("The ledger is empty: campaignctl credits add N")
    return "\n".join(lines)


# --------------------------------------------------------------------------- opt-outs


def optouts_json(records: Sequence[OptOutRecord]) -> str:
    return _json({"optouts": [optout_json(r) for r in records]})


def optouts_text(records: Sequence[OptOutRecord]) -> str:
    if not records:
        return "No opted-out numbers."
    rows = [(r.phone, _t(r.at), r.source, r.note) for r in records]
    return table(("PHONE", "SINCE", "SOURCE", "NOTE"), rows) + f"\n{len(records)} opted out"


# --------------------------------------------------------------------------- outbox


def outbox_json(records: Sequence[OutboxRecord]) -> str:
    messages = [
        {"id": r.id, "attempt_id": r.attempt_id, "at": _t(r.at), "campaign": r.campaign,
         "to": r.to, "from": r.sender, "step": r.step, "body": r.body}
        for r in records
    ]  # fmt: skip
    return _json({"messages": messages})


def outbox_text(records: Sequence[OutboxRecord]) -> str:
    if not records:
        return "The outbox is empty."
    rows = [(_t(r.at), r.campaign, r.to, r.step, r.body.replace("\n", " ")) for r in records]
    return table(("TIME", "CAMPAIGN", "TO", "STEP", "BODY"), rows)
