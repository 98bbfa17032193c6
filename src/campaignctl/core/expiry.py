"""sendWithin: a due step that could not go out in time is passed over (`expired`). Pure.

A step becomes due at the first moment it could go out: its enrollment's `next_due_at` (the
enrollment itself for step 1; for a later step, the previous step's send, or its expiry,
plus `waitDays`), moved to the first moment the contact's quiet hours allow. With
`sendWithin: W`, it expires W after that. A plan at or after the expiry skips it
(`expired`) whatever held it (a pause, a suspend, credits, a review hold, downtime, the 30
days since another campaign's message): the step is recorded as passed over, nothing is
sent, and the next step waits its `waitDays` from the expiry, as if the step had been sent
at that moment, so the sequence keeps its rhythm. The 30 days between two messages to a
number still count real sends only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from campaignctl.core.instants import format_instant
from campaignctl.core.types import Enrollment, QuietHours, Step
from campaignctl.core.windows import next_allowed


def became_due(e: Enrollment, quiet: QuietHours, strict: bool) -> datetime | None:
    """When the enrollment's next step first could go out (None: no allowed hour soon)."""
    return next_allowed(e.next_due_at, e.zones, quiet, e.us_state, strict)


def expiry(e: Enrollment, step: Step, quiet: QuietHours, strict: bool) -> datetime | None:
    """When the enrollment's next step (`step`) expires; None when it never does."""
    if step.send_within is None:
        return None
    due = became_due(e, quiet, strict)
    return None if due is None else due + step.send_within


def duration_text(span: timedelta) -> str:
    """A sendWithin as written: "7d", "36h"."""
    hours = int(span.total_seconds()) // 3600
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def within_text(span: timedelta | None) -> str | None:
    """A step's sendWithin as written, None when it has none."""
    return None if span is None else duration_text(span)


def expired_detail(step: Step, expired_at: datetime) -> str:
    """Why a step was passed over, for the plan and `explain`."""
    assert step.send_within is not None
    due = expired_at - step.send_within
    return (
        f"not sent within sendWithin {duration_text(step.send_within)} of becoming due "
        f"({format_instant(due)}); passed over at {format_instant(expired_at)}, and the "
        "sequence goes on from then"
    )
