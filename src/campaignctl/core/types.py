"""The values the pure core works on: the desired state, a snapshot of the observed state, and
the plan that joins them. Immutable values only (frozen dataclasses; named tuples for the
values made once per contact, which are built by the million and cost a third as much to
make); no I/O, no clock.

    config/  --builds-->  Desired  --+
                                     +--> planner.plan(desired, snapshot, now) --> Plan
    store/   --builds-->  Snapshot --+
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal, NamedTuple

from campaignctl.core.actions import (
    ACTION_TYPES,
    Action,
    ActionType,
    CampaignStatus,
    Reason,
)
from campaignctl.errors import Location

__all__ = ["ACTION_TYPES", "Action", "ActionType", "CampaignStatus", "Reason"]

TemplateStatus = Literal["draft", "published"]

MIN_GAP = timedelta(days=30)  # at most one message to a number in any 30 days


# --------------------------------------------------------------------------- desired state


@dataclass(frozen=True)
class Step:
    body: str
    wait_days: int = 0  # days after the previous message was actually sent; 0 for step 1
    # sendWithin: how long after becoming due the step may still go out (None: any time);
    # later it is skipped `expired` (core/expiry.py)
    send_within: timedelta | None = None


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    status: TemplateStatus
    steps: tuple[Step, ...]
    source: Location
    # dotted field path ("spec.steps[1].body") -> where it is written, for error messages
    locations: Mapping[str, Location] = field(default_factory=dict)


@dataclass(frozen=True)
class QuietHours:
    start: time = time(8, 0)
    end: time = time(21, 0)  # exclusive


@dataclass(frozen=True)
class Sender:
    from_number: str | None = None  # E.164
    messaging_service_sid: str | None = None
    messages_per_second: float = 1.0
    daily_limit: int | None = None
    # messages handed to the provider at once; None: derived from messages_per_second. Not
    # part of a launch record: it changes no rule, only how fast the due ones go out
    concurrency: int | None = None

    @property
    def key(self) -> str:
        """The identity that pace limits are counted against."""
        return self.from_number or self.messaging_service_sid or ""


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    template: str
    prospect_group: str
    status: CampaignStatus
    sender: Sender
    quiet_hours: QuietHours
    stop_on_reply: bool
    source: Location
    labels: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    locations: Mapping[str, Location] = field(default_factory=dict)
    # "allEnded": the controller completes the campaign once every enrollment has ended;
    # None: it stays active (idle) and enrolls the rows added to its group later
    complete_when: Literal["allEnded"] | None = None


class Contact(NamedTuple):
    """One enrollable number of a group (a contact with two phones gives two Contacts)."""

    phone: str  # E.164
    fields: Mapping[str, str]
    zones: tuple[str, ...]  # IANA zones: the contact's own timezone, else the number's zones
    us_state: str | None  # two-letter US state of the number's area code, if any
    source: Location  # CSV line or YAML line


@dataclass(frozen=True)
class InvalidContact:
    raw: str
    reason: str
    source: Location


@dataclass(frozen=True)
class GroupSpec:
    name: str
    source: Location
    # digest of everything the contacts come from (inline list, CSV bytes, defaultRegion):
    # when it equals the digest recorded at the last apply, nothing can have changed.
    digest: str
    contacts: tuple[Contact, ...] = ()
    invalid: tuple[InvalidContact, ...] = ()
    field_names: frozenset[str] = frozenset()  # every field name some contact of it has
    # False when the loader was told to skip parsing the contacts (digest unchanged since the
    # last sync): contacts and invalid are then empty and mean nothing
    loaded: bool = True


@dataclass(frozen=True)
class Settings:
    credits_per_segment: int = 1
    reconcile_interval: timedelta = timedelta(minutes=15)
    state_quiet_hours: bool = True
    timezone_fallback: str | None = None
    brand: str | None = None  # named in every first message (a content warning otherwise)
    forward_url: str | None = None  # replies.forwardUrl
    # requireConsent: a contact without consentSource and consentAt is skipped (no_consent)
    require_consent: bool = False


@dataclass(frozen=True)
class Desired:
    campaigns: Mapping[str, CampaignSpec]
    templates: Mapping[str, TemplateSpec]
    groups: Mapping[str, GroupSpec]
    dnc: frozenset[str]  # E.164 numbers on any DoNotCallList
    settings: Settings
    config_digest: str  # "sha256:..." over every file read
    # campaigns held by a file that failed to load or check (their own, their template's,
    # their group's; every campaign for a DoNotCallList or Settings): name -> the error,
    # `file:line: message`. They are not in `campaigns`: nothing is planned for them.
    held: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- observed state


@dataclass(frozen=True)
class LaunchRecord:
    """What a campaign was launched with (draft -> active); later edits are refused."""

    template: str
    prospect_group: str
    steps: tuple[Step, ...]
    sender: Sender
    quiet_hours: QuietHours
    stop_on_reply: bool


@dataclass(frozen=True)
class CampaignState:
    name: str
    status: CampaignStatus  # observed
    reason: str | None  # e.g. "insufficient_credits" when paused by the controller
    launch: LaunchRecord | None  # None while draft
    group_digest: str | None  # GroupSpec.digest at the last sync applied
    live_enrollments: int  # enrollments not ended
    config_error: str | None = None  # the error holding it, as recorded by the last apply


class Enrollment(NamedTuple):
    campaign: str
    phone: str
    steps_sent: int  # how many steps were sent (0: none yet); the next step is steps_sent+1
    last_sent_at: datetime | None
    next_due_at: datetime  # when the next step may go out (wait from the previous send)
    enrolled_at: datetime
    fields: Mapping[str, str]
    zones: tuple[str, ...]
    us_state: str | None


class Waiter(NamedTuple):
    """A number of a campaign's group that was skipped `already_enrolled` and is free now:
    the campaign that waits for it, the contact as its group lists it, since when it waits,
    and its earlier enrollment in that campaign when it ended `removed` (it continues)."""

    campaign: str
    contact: Contact
    since: datetime
    previous: Enrollment | None


@dataclass(frozen=True)
class Snapshot:
    serial: int
    campaigns: Mapping[str, CampaignState]
    # live enrollments whose next step is due (next_due_at <= now) and that have no attempt
    # in flight, of every campaign; oldest due first
    due: tuple[Enrollment, ...]
    # for each campaign whose group digest changed: the phones of all its enrollments (live or
    # ended) and which of them are live, so the planner can enroll new ones and end removed ones
    enrolled: Mapping[str, frozenset[str]]
    live: Mapping[str, frozenset[str]]
    # phone -> campaign holding a live enrollment, for the phones the planner may enroll
    live_owner: Mapping[str, str]
    # phone -> the last time any message was sent to it (any campaign), for the phones above
    last_sent: Mapping[str, datetime]
    opted_out: frozenset[str]
    balance: int
    suspended: str | None  # the reason, when all sending is suspended
    sent_today: Mapping[str, int]  # sender key -> messages handed to the provider this UTC day
    # numbers held for review after a reply that may revoke consent: nothing is sent to them
    held: frozenset[str] = frozenset()
    # numbers whose owner said we have the wrong number: never enrolled or sent to again
    wrong_numbers: frozenset[str] = frozenset()
    # the numbers free now that a running campaign waits for, first waiting first
    waiters: tuple[Waiter, ...] = ()
    # for each campaign whose group digest changed: its enrollments that ended `removed`, by
    # number (a returning row continues from them)
    returning: Mapping[str, Mapping[str, Enrollment]] = field(default_factory=dict)
    # campaigns some number of whose group waits for another campaign (asked only of the
    # campaigns that could complete now)
    held_back: frozenset[str] = frozenset()
    # (campaign, rule) -> live enrollments due by their wait whose next moment is to come
    # (deferred to a window or the 30-day gap, not read before then: core/nextdue.py)
    later: Mapping[tuple[str, str], int] = field(default_factory=dict)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class TemplateSwitch:
    """A live campaign moves to another template: its live enrollments continue at their
    next step with the new wording."""

    old: str
    new: str
    old_steps: tuple[Step, ...]
    new_steps: tuple[Step, ...]
    enrollments: int  # live enrollments that move


@dataclass(frozen=True)
class Relaunch:
    """An accepted edit of a launched campaign (a template switch, or a change that only
    makes sending safer or slower): the record it runs with from now on."""

    campaign: str
    record: LaunchRecord
    previous: LaunchRecord
    changes: tuple[str, ...]  # one line a field, e.g. "spec.sender.dailyLimit: null -> 500"
    switch: TemplateSwitch | None = None


@dataclass(frozen=True)
class Tally:
    """Actions carried out but not kept one by one: what a large apply did beyond the
    actions it lists (each is in the state, and `explain` shows it)."""

    campaign: str
    type: ActionType
    reason: Reason | None
    count: int


@dataclass(frozen=True)
class Plan:
    now: datetime
    expires_at: datetime
    config_digest: str
    state_serial: int
    actions: tuple[Action, ...]
    # group digests to record once the enrollments of this plan are applied
    group_digests: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # things a reviewer should see that are not actions
    tallies: tuple[Tally, ...] = ()  # an apply's actions beyond those listed (never sends)
    # accepted edits of launched campaigns, recorded by the apply before anything is sent
    relaunches: Mapping[str, Relaunch] = field(default_factory=dict)
    # the configuration errors to record as holding each campaign (None: the hold is lifted)
    holds: Mapping[str, str | None] = field(default_factory=dict)
    held: Mapping[str, str] = field(default_factory=dict)  # every campaign held, its error
    # the digest of every action, listed or not (planjson.ActionsDigest): what a saved plan
    # that lists only some of its actions is checked by, when applied
    actions_digest: str | None = None

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for action in self.actions:
            counts[action.type] = counts.get(action.type, 0) + 1
        for tally in self.tallies:
            counts[tally.type] = counts.get(tally.type, 0) + tally.count
        counts["credits"] = sum(a.credits for a in self.actions if a.type == "send")
        return counts

    @property
    def has_changes(self) -> bool:
        return any(a.type != "defer" for a in self.actions) or any(
            t.type != "defer" for t in self.tallies
        )
