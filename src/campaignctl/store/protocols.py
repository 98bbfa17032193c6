"""What each consumer of the state asks of it: one narrow Protocol per consumer.

A consumer is typed with the protocol it needs, never with the SQLite `Store`, so a second
backend implements these and nothing else; `Store` satisfies every one structurally (checked
by mypy in `campaignctl.store` and by tests/store/test_protocols.py, which also checks that
no protocol asks for a method its consumers do not call).

    SnapshotReader  planning: the groups already synced, one snapshot      app.apply
    WaitingReader   why a number's next message waits now (or its enrollment) app.waiting
    HistoryReader   one number's history                                   cli explain
    ExplainReader   both of the above, what `explain` reads                cli explain
    StatusReader    the campaigns, the balance, the suspension             cli status
    Ledger          credits: top-ups and the ledger                        cli credits
    OptOuts         manual opt-outs                                        cli optout
    Suspension      the global emergency stop                              cli suspend, resume
    OutboxReader    the messages the outbox provider recorded              cli outbox
    Commands        what the manual commands change and list, together
    LeaseHolder     one applier at a time                                  app.apply.Lease
    InFlight        settling the attempts whose outcome is unknown         app.apply
    ApplyWriter     carrying out a plan: statuses, enrollments, intents,   app.apply.Applier
                    outcomes, decisions, group digests, runs
    BatchStore      a streamed apply's batch reads and writes              app.streamed
    PlanReader      a streamed plan's batch reads (it writes nothing)      app.planstream
    ApplyStore      one whole apply (all of the five above, the serial)    app.apply.apply_now

The outbox provider's own needs are `providers.outbox.OutboxTable`; the webhook recorder's
sit beside the webhook application.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Protocol, runtime_checkable

from campaignctl.core.types import (
    Action,
    CampaignStatus,
    Contact,
    Desired,
    Enrollment,
    LaunchRecord,
    Snapshot,
    Waiter,
)
from campaignctl.providers.base import Outcome
from campaignctl.store.consent import ConsentRecord
from campaignctl.store.optout_bulk import BulkOptOut, BulkResult
from campaignctl.store.owner import ConfigOwner
from campaignctl.store.records import (
    AttemptRecord,
    CampaignStatusRow,
    EnrollmentRecord,
    HistoryEvent,
    Intent,
    Landed,
    LedgerEntry,
    OptOutRecord,
    OutboxRecord,
)
from campaignctl.store.review import ReviewHold
from campaignctl.store.sends import SendBlocked
from campaignctl.store.stream import DueBatch, SyncFacts, SyncStart

# ------------------------------------------------------------------------------- reading


@runtime_checkable
class SnapshotReader(Protocol):
    """What planning reads: which groups are synced (their files need not be parsed again)
    and one snapshot of the state at `now`."""

    def synced_groups(self) -> dict[str, str]: ...

    def group_digests(self) -> dict[str, str]: ...

    def snapshot(self, desired: Desired, now: datetime, *, with_due: bool = True) -> Snapshot: ...


@runtime_checkable
class WaitingReader(Protocol):
    """What telling why one number's next messages wait reads: its live enrollments, the
    campaigns waiting for it, its attempts in flight, its last send, and the snapshot the
    planner decides from."""

    def live_enrollments_of(self, phone: str) -> list[Enrollment]: ...

    def waits_of(self, phone: str) -> list[tuple[str, datetime, int]]: ...

    def in_flight(self) -> list[AttemptRecord]: ...

    def last_sent_of(self, phones: AbstractSet[str]) -> dict[str, datetime]: ...

    def group_digests(self) -> dict[str, str]: ...

    def snapshot(self, desired: Desired, now: datetime, *, with_due: bool = True) -> Snapshot: ...


@runtime_checkable
class HistoryReader(Protocol):
    """One number's history: its opt-out, its enrollments, what was decided and done, its
    consent records, and whether a reply holds it for review."""

    def optout_of(self, phone: str) -> OptOutRecord | None: ...

    def enrollments_of(self, phone: str) -> list[EnrollmentRecord]: ...

    def explain(self, phone: str) -> list[HistoryEvent]: ...

    def consent_of(self, phone: str) -> list[ConsentRecord]: ...

    def review_holds(self, *, decided: bool = False) -> list[ReviewHold]: ...


@runtime_checkable
class ExplainReader(HistoryReader, WaitingReader, Protocol):
    """What `explain` reads: a number's history, then why its next messages wait."""


@runtime_checkable
class StatusReader(Protocol):
    """What `status` reads: a row per campaign, the balance, the suspension, the serial."""

    def campaign_status_rows(self) -> list[CampaignStatusRow]: ...

    def balance(self) -> int: ...

    def suspended(self) -> str | None: ...

    def suspended_at(self) -> datetime | None: ...

    def config_owner(self) -> ConfigOwner | None: ...

    @property
    def serial(self) -> int: ...


# ------------------------------------------------------------------------------ commands


@runtime_checkable
class Ledger(Protocol):
    """The credits: a top-up is a ledger entry; the balance is the ledger's sum."""

    def add_credits(self, amount: int, note: str | None, now: datetime) -> int: ...

    def balance(self) -> int: ...

    def ledger(self, limit: int | None = None) -> list[LedgerEntry]: ...

    def ledger_size(self) -> int: ...


@runtime_checkable
class OptOuts(Protocol):
    """The opt-outs a person adds, lifts and lists by hand."""

    def add_optout(self, phone: str, source: str, note: str | None, now: datetime) -> bool: ...

    def remove_optout(self, phone: str, reason: str, source: str, now: datetime) -> bool: ...

    def optout_of(self, phone: str) -> OptOutRecord | None: ...

    def optouts(self) -> list[OptOutRecord]: ...

    def import_optouts(self, optouts: Sequence[BulkOptOut], now: datetime) -> BulkResult: ...


@runtime_checkable
class Suspension(Protocol):
    """The global emergency stop, kept in the state so every applier sees it."""

    def suspend(self, reason: str, now: datetime) -> None: ...

    def resume(self, now: datetime) -> None: ...

    def suspended(self) -> str | None: ...

    def suspended_at(self) -> datetime | None: ...


@runtime_checkable
class OutboxReader(Protocol):
    """The messages the outbox provider recorded instead of sending them."""

    def outbox(
        self, limit: int | None = None, campaign: str | None = None
    ) -> list[OutboxRecord]: ...


@runtime_checkable
class Commands(OptOuts, Suspension, OutboxReader, Protocol):
    """What the manual commands change and list, besides credits (`Ledger`)."""


# -------------------------------------------------------------------------------- apply


@runtime_checkable
class LeaseHolder(Protocol):
    """One applier at a time: a lease with a fencing token, renewed while work goes on."""

    def acquire_lease(
        self, holder: str, ttl_seconds: float = 60.0, wait_seconds: float = 0.0
    ) -> int: ...

    def renew_lease(self, token: int, ttl_seconds: float = 60.0) -> None: ...

    def release_lease(self, token: int) -> None: ...


@runtime_checkable
class InFlight(Protocol):
    """Attempts recorded as intents whose outcome is unknown (a crash, a 5xx), and the
    outcome once the provider tells."""

    def in_flight(self) -> list[AttemptRecord]: ...

    def record_outcome(
        self, attempt_id: int, outcome: Outcome, now: datetime, next_wait_days: int | None
    ) -> None: ...


@runtime_checkable
class ApplyWriter(Protocol):
    """What carrying out a plan writes: campaign statuses, enrollments and their ends, each
    send's intent before the provider call and its outcome after, the decisions, the group
    digests synced and the run."""

    def ensure_campaign(self, name: str, now: datetime) -> None: ...

    def set_campaign_status(
        self,
        name: str,
        status: CampaignStatus,
        reason: str | None,
        now: datetime,
        launch: LaunchRecord | None = None,
    ) -> None: ...

    def enroll_many(
        self,
        campaign: str,
        contacts: Iterable[Contact],
        now: datetime,
        moment: Callable[[Contact], datetime] | None = None,
    ) -> int: ...

    def joined(
        self, campaign: str, contacts: Sequence[Contact], returns_at: datetime, *, revive: bool
    ) -> int: ...

    def wait_for(
        self, campaign: str, digest: str, contacts: Iterable[Contact], now: datetime
    ) -> None: ...

    def stop_waiting(self, campaign: str, phones: Sequence[str]) -> None: ...

    def end_enrollment(self, campaign: str, phone: str, reason: str, now: datetime) -> None: ...

    def end_enrollments(
        self, campaign: str, phones: Sequence[str], reason: str, now: datetime
    ) -> None: ...

    def record_sends(
        self, landed: Sequence[Landed], intents: Sequence[Intent]
    ) -> list[int | SendBlocked]: ...

    def pass_over(
        self,
        campaign: str,
        phone: str,
        step: int,
        expired_at: datetime,
        next_wait_days: int | None,
        now: datetime,
    ) -> None: ...

    def set_group_digest(self, campaign: str, digest: str) -> None: ...

    def relaunch(self, campaign: str, record: LaunchRecord, previous: LaunchRecord) -> None: ...

    def set_config_error(self, campaign: str, error: str | None, now: datetime) -> None: ...

    def record_decisions(
        self, actions: Sequence[Action], now: datetime, *, fresh: bool = False
    ) -> None: ...

    def record_run(self, now: datetime, plan_digest: str, counts: Mapping[str, int]) -> int: ...


@runtime_checkable
class BatchStore(Protocol):
    """A streamed apply's reads, a batch at a time: a group's sync (what the state holds of
    each batch of numbers, which numbers left the group) and the due enrollments, so that
    neither a large group nor a long queue is held whole. The executor writes."""

    def sync_start(self, campaign: str, *, present: bool) -> SyncStart: ...

    def sync_facts(
        self, campaign: str, phones: Sequence[str], start: SyncStart, maybe_met: Sequence[str]
    ) -> SyncFacts: ...

    def mark_present(self, phones: Sequence[str]) -> None: ...

    def live_absent(self, campaign: str) -> list[str]: ...

    def sync_end(self) -> None: ...

    def last_enrollment_id(self) -> int: ...

    def next_batches(
        self,
        now: datetime,
        size: int,
        last_id: int,
        used: Callable[[str], bool],
        ended: Mapping[str, Sequence[str]] | None = None,
    ) -> Iterator[DueBatch]: ...

    def later_counts(self, now: datetime, upto: int) -> dict[tuple[str, str], int]: ...

    def last_sent_of(self, phones: AbstractSet[str]) -> dict[str, datetime]: ...

    def set_group_digest(self, campaign: str, digest: str) -> None: ...

    def take_freed(self) -> None: ...

    def freed_batches(self, digests: Mapping[str, str], size: int) -> Iterator[list[Waiter]]: ...

    def live_owners(self, phones: Sequence[str]) -> dict[str, str]: ...

    def drop_stale_waiting(self, campaign: str, digest: str) -> None: ...


@runtime_checkable
class PlanReader(SnapshotReader, Protocol):
    """A streamed plan's reads, a batch at a time, writing nothing (CI plans with a
    read-only role): the facts of each batch of a group, the live numbers of a campaign
    whose group changed, the free numbers campaigns wait for, the due enrollments."""

    def sync_facts(
        self, campaign: str, phones: Sequence[str], start: SyncStart, maybe_met: Sequence[str]
    ) -> SyncFacts: ...

    def live_phones(self, campaign: str, size: int) -> Iterator[list[str]]: ...

    def free_batches(self, digests: Mapping[str, str], size: int) -> Iterator[list[Waiter]]: ...

    def live_owners(self, phones: Sequence[str]) -> dict[str, str]: ...

    def last_enrollment_id(self) -> int: ...

    def next_batches(
        self,
        now: datetime,
        size: int,
        last_id: int,
        used: Callable[[str], bool],
        ended: Mapping[str, Sequence[str]] | None = None,
    ) -> Iterator[DueBatch]: ...

    def later_counts(self, now: datetime, upto: int) -> dict[tuple[str, str], int]: ...

    def last_sent_of(self, phones: AbstractSet[str]) -> dict[str, datetime]: ...


@runtime_checkable
class ApplyStore(PlanReader, LeaseHolder, InFlight, ApplyWriter, BatchStore, Protocol):
    """One whole apply: under the lease, settle what is in flight, read a snapshot, carry
    out the plan (streamed, or a saved one whole, checked against the state's serial)."""

    @property
    def serial(self) -> int: ...
