"""What a plan does, one small immutable type per kind of action.

Each kind carries exactly the fields it needs, typed as it needs them (a Send always has a
phone, a step, a body and its cost), so no consumer has to check that a field exists. Every
kind also answers the few questions any action can be asked (campaign, phone, step, reason,
detail), with None where they do not apply, and names its kind in `type`, so
`if action.type == "send":` narrows an Action to a Send. Named tuples: a launch makes one per
contact, by the million.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

CampaignStatus = Literal["draft", "active", "paused", "completed"]

ActionType = Literal[
    "campaign_status", "enroll", "send", "defer", "skip", "pause", "resume", "complete", "end"
]
ACTION_TYPES: tuple[ActionType, ...] = (
    "campaign_status",
    "enroll",
    "send",
    "defer",
    "skip",
    "pause",
    "resume",
    "complete",
    "end",
)

Reason = Literal[
    "quiet_hours",
    "recent_outreach",
    "rate_limit",
    "dnc",
    "opted_out",
    "already_enrolled",
    "invalid_phone",
    "missing_field",
    "unknown_timezone",
    "insufficient_credits",
    "removed",
    "replied",
    "campaign_paused",
    "suspended",
    "provider_rejected",
    "wrong_number",
    "config_error",
    "expired",
    "no_consent",
]


class StatusChange(NamedTuple):
    """The campaign moves from one status to another (draft -> active is its launch)."""

    campaign: str
    from_status: CampaignStatus
    to_status: CampaignStatus
    detail: str | None = None
    phone: None = None
    step: None = None
    reason: None = None
    type: Literal["campaign_status"] = "campaign_status"


class Enroll(NamedTuple):
    """A number of the campaign's group joins it; `detail` is where it is written."""

    campaign: str
    phone: str
    detail: str | None = None
    step: None = None
    reason: None = None
    type: Literal["enroll"] = "enroll"


class Send(NamedTuple):
    """A step goes out now; `valid_until` is when the recipient's allowed window closes."""

    campaign: str
    phone: str
    step: int  # counts from 1
    body: str
    segments: int
    credits: int
    valid_until: datetime | None = None
    detail: str | None = None
    reason: None = None
    type: Literal["send"] = "send"


class Defer(NamedTuple):
    """A due step waits: a rule holds it until `until` (None: until something changes).
    `expires`: when the step is passed over if it still waits (sendWithin), which may come
    before `until`; kept in memory for the state's next moment (core/nextdue.py), not shown."""

    campaign: str
    phone: str
    step: int
    reason: Reason
    until: datetime | None = None
    detail: str | None = None
    expires: datetime | None = None
    type: Literal["defer"] = "defer"


class Skip(NamedTuple):
    """A rule refuses: without a step, to enroll a contact; with one, a due step (which
    ends the enrollment, but for `expired`: the step is passed over and the sequence goes
    on from `expired_at`, the moment it expired). `phone` is the number as written when it
    is not valid."""

    campaign: str
    phone: str | None
    reason: Reason
    detail: str | None = None
    step: int | None = None
    expired_at: datetime | None = None
    type: Literal["skip"] = "skip"


class End(NamedTuple):
    """A live enrollment ends (its number left the group)."""

    campaign: str
    phone: str
    reason: Reason
    detail: str | None = None
    step: None = None
    type: Literal["end"] = "end"


class Pause(NamedTuple):
    """The controller pauses the campaign: the balance cannot cover its next message."""

    campaign: str
    detail: str | None = None
    reason: Reason = "insufficient_credits"
    phone: None = None
    step: None = None
    type: Literal["pause"] = "pause"


class Resume(NamedTuple):
    """A campaign the controller paused for credits goes on."""

    campaign: str
    detail: str | None = None
    reason: Reason = "insufficient_credits"
    phone: None = None
    step: None = None
    type: Literal["resume"] = "resume"


class Complete(NamedTuple):
    """The controller completes the campaign."""

    campaign: str
    detail: str | None = None
    phone: None = None
    step: None = None
    reason: None = None
    type: Literal["complete"] = "complete"


Action = StatusChange | Enroll | Send | Defer | Skip | End | Pause | Resume | Complete


def until_of(action: Action) -> datetime | None:
    """Until when a deferred step waits; None for every other action."""
    return action.until if action.type == "defer" else None
