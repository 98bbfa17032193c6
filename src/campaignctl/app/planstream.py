"""The plan, streamed: the planner's stages (core.planner.Planning) run over the state as it
is, a batch at a time, writing nothing, so `plan` of a launch of a million contacts runs in
the memory of a batch (CI runs it on every pull request, with a read-only role).

The stages, in the order `core.planner.plan` runs them:

    lifecycle     launches, pauses, resumes
    sync          each changed group, BATCH contacts at a time: enroll, skip; then
    removal       the live numbers that left it: ended
    rejoin        the free numbers campaigns wait for, BATCH at a time
    due           the due enrollments of the state, oldest first, BATCH at a time; then
                  the enrollments this plan made, in the order it made them
    finish        resumes and completions

A streamed apply reads back what it wrote; a plan writes nothing, so what it would have
written is kept only as far as later stages need it: the numbers met in each group and
those each campaign enrolled (app.phoneset: 8 bytes a number), the numbers ended, and the
enrollments whose first step is due now, in a temporary file until the due stage reads them
back a batch at a time. The decisions, and their order, are those of `core.planner.plan`
on the same state (tests/planstream prove it on random states, on both backends).

Each stage's actions go to a PlanSink as they are decided: it lists the first LISTED (the
rule of an apply's report) and counts the rest, keeps the running digest of every action
(what a saved plan is checked by), and, for `--all-actions`, spools every action's JSON a
kind at a time, to be written out in the order a plan lists them.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Generic, TypeVar

from campaignctl import config
from campaignctl.app.executor import BATCH, Report
from campaignctl.app.groupread import hold_broken_groups, with_samples
from campaignctl.app.phoneset import PhoneSet
from campaignctl.app.plan import WINDOW_MOVED, Planned, collection_paused
from campaignctl.config import ContactSource
from campaignctl.core.actions import Action
from campaignctl.core.enrollment import Owners
from campaignctl.core.planjson import ActionsDigest, action_to_json
from campaignctl.core.planner import ORDER, SAMPLE, Planning
from campaignctl.core.types import Contact, Desired, Enrollment, InvalidContact, Plan
from campaignctl.errors import PlanError
from campaignctl.store.protocols import PlanReader
from campaignctl.store.stream import SyncStart

T = TypeVar("T")


class ActionsSpool:
    """Every action of a plan as JSON text, in temporary files a kind at a time: read back
    in the order a plan lists them (by kind, each in the order decided), never held."""

    def __init__(self) -> None:
        self._files: dict[str, IO[str]] = {}
        self._encoder = json.JSONEncoder()  # as the rest of the document: ASCII

    def add(self, actions: Sequence[Action]) -> None:
        for action in actions:
            spool = self._files.get(action.type)
            if spool is None:  # kept open until read back (closed by `close`)
                spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
                self._files[action.type] = spool
            spool.write(self._encoder.encode(action_to_json(action)) + "\n")

    def lines(self) -> Iterator[str]:
        """Each action's JSON (one line, without its newline), in plan order."""
        for kind in sorted(self._files, key=lambda k: ORDER[k]):
            spool = self._files[kind]
            spool.seek(0)
            for line in spool:
                yield line.rstrip("\n")

    def close(self) -> None:
        for spool in self._files.values():
            spool.close()
        self._files.clear()


class PlanSink:
    """Where a streamed plan's actions go, stage by stage: the listing (the first LISTED
    of the bulk kinds, the rest counted), the running digest, and every action spooled
    when asked for."""

    def __init__(self, spool: ActionsSpool | None = None) -> None:
        self.report = Report()
        self.digest = ActionsDigest()
        self.spool = spool

    def add(self, actions: Sequence[Action]) -> None:
        self.report.add(actions)
        self.digest.add(actions)
        if self.spool is not None:
            self.spool.add(actions)


class Spill(Generic[T]):
    """Values kept in a temporary file, a batch (a pickled list) at a time, and read back
    in the order they came."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None

    def add(self, values: list[T]) -> None:
        if not values:
            return
        if self._file is None:  # kept open until read back
            self._file = tempfile.TemporaryFile()  # noqa: SIM115
        pickle.dump(values, self._file, pickle.HIGHEST_PROTOCOL)

    def batches(self) -> Iterator[list[T]]:
        if self._file is None:
            return
        self._file.seek(0)
        while True:
            try:
                values: list[T] = pickle.load(self._file)  # our own file, written above
            except EOFError:
                break
            yield values
        self._file.close()
        self._file = None


class StreamedPlan:
    """One plan, streamed over the state, writing nothing: its actions go to the sink."""

    def __init__(
        self,
        store: PlanReader,
        planning: Planning,
        sources: Mapping[str, ContactSource],
        sink: PlanSink,
        batch: int = BATCH,
        heartbeat: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.heartbeat = heartbeat  # called after each batch (an apply renews its lease)
        self.planning = planning
        self.sources = sources
        self.sink = sink
        self.batch = batch
        self.claims: dict[str, PhoneSet] = {}  # campaign -> the numbers its sync enrolls
        self.rejoined: dict[str, str] = {}  # number -> the campaign the rejoin enrolls it in
        self.released: set[str] = set()  # numbers whose live enrollment this plan ends
        self.ended: dict[str, list[str]] = {}  # campaign -> the numbers it ends (left it)
        self.new: Spill[Enrollment] = Spill()  # enrolled now, step 1 due: considered last
        self.samples: dict[str, list[Contact]] = {}  # the first contacts each enrolls

    def run(self) -> None:
        planning = self.planning
        hold_broken_groups(planning, self.sources)  # a bad row holds its campaign
        self.sink.add(planning.lifecycle().actions)
        syncs = planning.to_sync()
        rejoining = set(planning.rejoining()) - set(syncs)
        for at, name in enumerate(syncs):
            # who it enrolls matters to the campaigns synced after it, and to the rejoin
            self._sync(name, claims=at + 1 < len(syncs) or bool(rejoining))
        self._rejoin()
        last_id = self.store.last_enrollment_id()
        # as a tick reads them: those whose next moment is to come counted, not read, and a
        # campaign that can send nothing more read no further (its queue counted)
        planning.wait_later(self.store.later_counts(planning.now, last_id))
        unread: dict[str, int] = {}
        due_batches = self.store.next_batches(
            planning.now, self.batch, last_id, planning.is_used, self.ended
        )
        for due in due_batches:
            unread.update(due.unread)
            self.sink.add(planning.due(due.enrollments, due.last_sent).actions)
            self.heartbeat()
        for enrollments in self.new.batches():
            sent_before = self.store.last_sent_of({e.phone for e in enrollments})
            stage = planning.due([(e, True) for e in enrollments], sent_before)
            self.sink.add(stage.actions)
            self.heartbeat()
        self.sink.add(planning.finish().actions)
        for tally in planning.waits_unread(unread):  # counted with the defers not listed
            self.sink.report.counted[(tally.campaign, tally.type, tally.reason)] += tally.count

    def shown(self, desired: Desired) -> Desired:
        """The desired state to show the plan with (a sample of each group read)."""
        return with_samples(desired, self.planning, self.samples)

    # ------------------------------------------------------------------ stages

    def _claimed(self, phones: Sequence[str], campaign: str | None) -> dict[str, str]:
        """The numbers among these that this plan enrolls in another campaign already."""
        claimed: dict[str, str] = {}
        for other, numbers in self.claims.items():
            if other != campaign:
                claimed.update((p, other) for p in phones if p not in claimed and p in numbers)
        claimed.update((p, self.rejoined[p]) for p in phones if p in self.rejoined)
        return claimed

    def _sync(self, campaign: str, *, claims: bool = True) -> None:
        """Enroll or skip the campaign's group a batch at a time, then end the live numbers
        that left it. A number met twice is decided once (the first row wins). `claims`:
        keep the numbers it enrolls (a later stage asks who holds them)."""
        planning = self.planning
        group = planning.group_of(campaign)
        assert group is not None
        state = planning.snapshot.campaigns.get(campaign)
        others_live = sum(
            c.live_enrollments
            for name, c in planning.snapshot.campaigns.items()
            if name != campaign
        )
        # a campaign the state has never seen has no enrollment to look up
        start = SyncStart(int(state is not None), others_live, sent=True, present=False)
        met = PhoneSet()
        mine = self.claims[campaign] = PhoneSet()
        sample = self.samples.setdefault(campaign, [])
        invalids: Spill[Action] = Spill()

        def take(contacts: list[Contact], invalid: list[InvalidContact]) -> None:
            phones = [c.phone for c in contacts]
            fresh = [c for c in contacts if c.phone not in met] if met.size else contacts
            numbers = [c.phone for c in fresh]
            facts = self.store.sync_facts(campaign, numbers, start, ())
            owners = Owners(facts.live_owner, self._claimed(numbers, campaign), self.released)
            stage = planning.sync(campaign, fresh, (), facts.enrolled, owners, facts.returning)
            self.sink.add(stage.actions)
            if invalid:  # listed after every row of the group, as a whole plan lists them
                invalids.add(planning.sync(campaign, (), invalid, set(), owners).actions)
            joined = {e.phone for e in stage.new}
            if claims:
                mine.add(list(joined))
            met.add(phones)
            if len(sample) < SAMPLE:
                sample.extend([c for c in fresh if c.phone in joined][: SAMPLE - len(sample)])
            self.new.add([e for e, _ in planning.due_now(stage.new)])
            self.heartbeat()

        self.sources[group.name].read(take, self.batch)
        for skips in invalids.batches():
            self.sink.add(skips)
        gone: list[str] = []
        if planning.had_live(campaign):
            for live in self.store.live_phones(campaign, self.batch):
                gone.extend(phone for phone in live if phone not in met)
        removal = planning.remove(campaign, sorted(gone), Owners({}, released=self.released))
        self.ended[campaign] = gone
        self.sink.add(removal.actions)
        planning.synced(campaign)

    def _rejoin(self) -> None:
        """Enroll the free numbers running campaigns wait for, a batch at a time, first
        waiting first."""
        planning = self.planning
        for batch in self.store.free_batches(planning.rejoining(), self.batch):
            phones = [w.contact.phone for w in batch]
            owners = Owners(
                self.store.live_owners(phones), self._claimed(phones, None), self.released
            )
            stage = planning.rejoin(batch, owners)
            self.sink.add(stage.actions)
            self.rejoined.update((e.phone, e.campaign) for e in stage.new)
            self.new.add([e for e, _ in planning.due_now(stage.new)])


def stream_plan(
    config_dir: Path,
    store: PlanReader,
    now: datetime,
    *,
    allow_empty: bool = False,
    spool: ActionsSpool | None = None,
    batch: int = BATCH,
) -> Planned:
    """The plan of this moment, streamed: its first LISTED actions listed, the rest counted,
    the digest of them all; every action to `spool` when given."""
    with collection_paused():
        loaded = config.load(config_dir, parse_contacts=lambda name, digest: False)
        desired = loaded.usable()
        snapshot = store.snapshot(desired, now, with_due=False)
        planning = Planning(desired, snapshot, now, allow_empty=allow_empty)
        sink = PlanSink(spool)
        streamed = StreamedPlan(store, planning, loaded.sources, sink, batch)
        streamed.run()
        report = sink.report
        plan: Plan = replace(
            planning.result(report.listed, report.tallies()),
            actions_digest=sink.digest.hexdigest(),
        )
    return Planned(streamed.shown(desired), snapshot, plan)


def check_saved_plan_streamed(
    saved: Plan,
    store: PlanReader,
    planning: Planning,
    sources: Mapping[str, ContactSource],
    batch: int = BATCH,
    heartbeat: Callable[[], None] = lambda: None,
) -> None:
    """What is due now must be exactly what the saved plan says: the digest of every action
    decided now, streamed (never the whole plan in memory), against the saved one."""
    sink = PlanSink()
    with collection_paused():
        StreamedPlan(store, planning, sources, sink, batch, heartbeat).run()
    if sink.digest.hexdigest() != saved.actions_digest:
        raise PlanError(WINDOW_MOVED)
