"""The apply of a fresh plan, streamed: the planner's stages (core.planner.Planning) run a
batch at a time, each batch's facts read from the state and its decisions written before
the next is read. A group of a million contacts is enrolled, and a queue of a million due
messages considered, in the memory of one batch.

    statuses      launches, pauses, resumes of the lifecycle           (applied first)
    syncs         each changed group, BATCH contacts at a time: enroll, skip; then the
                  numbers that left it are ended, and the group's digest recorded
    due           the due enrollments, oldest first, BATCH at a time: send, defer, skip
    finish        resumes and completions; the run is recorded

The decisions, and their order, are those of `core.planner.plan` on the same state: the
enrollments due before this apply are considered before the ones it enrolls, as there.
A crash between batches loses nothing: what is written is whole (each batch is a
transaction), the group's digest is recorded only once all of it is, and the next apply
goes on from the state.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from campaignctl.app.met import MetNumbers
from campaignctl.config import ContactSource
from campaignctl.core.enrollment import Owners
from campaignctl.core.planner import ORDER, SAMPLE, Planning
from campaignctl.core.types import (
    Action,
    ActionType,
    Contact,
    Desired,
    InvalidContact,
    Plan,
    Reason,
    Snapshot,
    Tally,
)
from campaignctl.store import Store

log = logging.getLogger("campaignctl.engine")

BATCH = 50_000  # contacts, or due enrollments, decided and written at a time
LISTED = 10_000  # actions an apply lists in its report; the rest of the bulk kinds are counted
BULK = frozenset({"enroll", "defer", "skip", "end"})  # kinds that can number in the millions


class Stopped(Exception):
    """Asked to stop between two batches."""


class Report:
    """The actions an apply carried out: the first LISTED one by one, the rest counted."""

    def __init__(self) -> None:
        self.listed: list[Action] = []
        self.counted: Counter[tuple[str, ActionType, Reason | None]] = Counter()

    def add(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if action.type in BULK and len(self.listed) >= LISTED:
                self.counted[(action.campaign, action.type, action.reason)] += 1
            else:
                self.listed.append(action)

    def tallies(self) -> tuple[Tally, ...]:
        return tuple(
            Tally(campaign, kind, reason, count)
            for (campaign, kind, reason), count in sorted(
                self.counted.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or "")
            )
        )


def start_live(planning: Planning, campaign: str) -> bool:
    """Whether the campaign held live enrollments before this apply (then the numbers that
    left its group must be found)."""
    state = planning.snapshot.campaigns.get(campaign)
    return state is not None and state.live_enrollments > 0


class StreamedApply:
    """One fresh apply, streamed. `act(action)` carries out one action that is not an
    enrollment (the engine's Applier: statuses, ends, skips, sends)."""

    def __init__(
        self,
        store: Store,
        desired: Desired,
        sources: Mapping[str, ContactSource],
        snapshot: Snapshot,
        now: datetime,
        act: Callable[[Action], None],
        *,
        allow_empty: bool = False,
        batch: int = BATCH,
        should_stop: Callable[[], bool] = lambda: False,
        heartbeat: Callable[[], None] = lambda: None,
        stopped: Callable[[], bool] = lambda: False,
        importing: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.store = store
        self.desired = desired
        self.sources = sources
        self.now = now
        self.act = act
        self.batch = batch
        self.should_stop = should_stop
        self.heartbeat = heartbeat
        self.stopped = stopped  # sending stopped (the provider refused): no more sends
        self.importing = importing  # after each batch: (campaign, contacts read, enrolled)
        self.planning = Planning(desired, snapshot, now, allow_empty=allow_empty)
        self.report = Report()
        self.interrupted = False  # asked to stop before the end
        self.held: list[Action] = []  # sends and ending skips, until the syncs are done
        # the first contacts each campaign enrolled: what a launch review estimates from
        self.samples: dict[str, list[Contact]] = {}

    def run(self) -> Plan:
        planning = self.planning
        syncs = planning.to_sync()
        for name in syncs:  # a bad row found now changes nothing
            group = planning.group_of(name)
            assert group is not None
            self.sources[group.name].check()
        self._carry_out(planning.status_actions)
        last_id = self.store.last_enrollment_id()  # the ones above are enrolled now
        try:
            if any(start_live(planning, name) for name in syncs):
                # a group of a running campaign changed: the numbers that left it are known
                # only once all of it is read, and must not be sent to; so the syncs first,
                # then every due enrollment, the new ones read back after the others
                for name in syncs:
                    self._sync(name, inline=False)
                self._due(last_id)
            else:
                # only new groups (a launch): the due enrollments first, then each batch's
                # new enrollments are considered as they are made (the same order). Sends,
                # and what would end an enrollment, wait for the syncs to end well: the
                # numbers stay owned meanwhile, and a file that fails to read sends nothing
                self._due(last_id, hold=bool(syncs))
                for name in syncs:
                    self._sync(name, inline=True)
                self._carry_out(self.held)
        except Stopped:
            self.interrupted = True
        else:
            self._carry_out(planning.finish())
        return self.plan()

    def shown(self) -> Desired:
        """The desired state to show this apply with: each group read holds the sample of
        its first enrolled contacts (the rest were never held)."""
        groups = dict(self.desired.groups)
        for campaign, sample in self.samples.items():
            group = self.planning.group_of(campaign)
            if group is not None:
                groups[group.name] = replace(group, contacts=tuple(sample))
        return replace(self.desired, groups=groups)

    def plan(self) -> Plan:
        """What was carried out, as a plan (the bulk beyond LISTED as tallies)."""
        planning = self.planning
        return Plan(
            now=self.now,
            expires_at=self.now + self.desired.settings.reconcile_interval,
            config_digest=self.desired.config_digest,
            state_serial=planning.snapshot.serial,
            actions=tuple(sorted(self.report.listed, key=lambda a: ORDER[a.type])),
            group_digests=dict(planning.group_digests),
            notes=tuple(planning.notes),
            tallies=self.report.tallies(),
        )

    # ------------------------------------------------------------------ stages

    def _carry_out(self, actions: list[Action], *, fresh: bool = False) -> None:
        """Carry out and record actions; `fresh`: about enrollments made by this apply
        (nothing was decided about them before). The ends of enrollments go to the state
        together, a transaction per campaign and reason."""
        actions = sorted(actions, key=lambda a: ORDER[a.type])
        ends: dict[tuple[str, str], list[str]] = {}
        for action in actions:
            if action.type == "end" and action.phone and action.reason:
                ends.setdefault((action.campaign, action.reason), []).append(action.phone)
        for (campaign, reason), phones in ends.items():
            self.store.end_enrollments(campaign, phones, reason, self.now)
        for action in actions:
            if action.type == "end" and action.phone and action.reason:
                continue
            if action.type == "send" and self.stopped():
                continue
            self.act(action)
        self.store.record_decisions(actions, self.now, fresh=fresh)
        self.report.add(actions)

    def _sync(self, campaign: str, *, inline: bool) -> None:
        """Enroll the campaign's group a batch at a time, then end the numbers that left.
        `inline`: consider each batch's new enrollments for sending at once."""
        planning = self.planning
        group = planning.group_of(campaign)
        assert group is not None
        source = self.sources[group.name]
        start = self.store.sync_start(campaign, present=start_live(planning, campaign))
        met = MetNumbers()
        enrolled = read = 0

        def take(contacts: list[Contact], invalid: list[InvalidContact]) -> None:
            nonlocal enrolled, read
            if self.should_stop():
                raise Stopped
            phones = [c.phone for c in contacts]
            facts = self.store.sync_facts(campaign, phones, start, met.maybe(phones))
            skipped = met.skipped.intersection(phones)  # met before: decided once
            fresh = [c for c in contacts if c.phone not in skipped] if skipped else contacts
            result = planning.sync(
                campaign, fresh, invalid, facts.enrolled, Owners(facts.live_owner)
            )
            joined = {e.phone for e in result.new}
            joining = [c for c in fresh if c.phone in joined]
            enrolled += self.store.enroll_many(campaign, joining, self.now)
            sample = self.samples.setdefault(campaign, [])
            sample.extend(joining[: SAMPLE - len(sample)])
            met.add(phones, (a.phone for a in result.actions if a.type == "skip" and a.phone))
            if start.present:
                self.store.mark_present(phones)
            self.store.record_decisions(result.actions, self.now)
            self.report.add(result.actions)
            if inline and result.new:
                planning.sends.sent_before = self.store.last_sent_of(joined) if start.sent else {}
                for enrollment in result.new:
                    planning.consider(enrollment, new=True)
                self._carry_out(self._hold(planning.take_sends()), fresh=True)
            self.heartbeat()
            read += len(contacts) + len(invalid)
            if self.importing is not None:
                self.importing(campaign, read, enrolled)

        try:
            source.read(take, self.batch)
            gone = self.store.live_absent(campaign) if start.present else []
        finally:
            self.store.sync_end()
        self._carry_out(planning.remove(campaign, gone, Owners({})))
        planning.synced(campaign)
        self.store.set_group_digest(campaign, group.digest)
        log.info(
            "%s: group %s synced: %d numbers read, %d enrolled",
            campaign,
            group.name,
            read,
            enrolled,
        )

    def _hold(self, actions: list[Action]) -> list[Action]:
        """Keep sends and the skips that end an enrollment for later; the rest to do now."""
        later = {"send", "skip"}
        self.held.extend(a for a in actions if a.type in later)
        return [a for a in actions if a.type not in later]

    def _due(self, last_id: int, *, hold: bool = False) -> None:
        """Consider the due enrollments, oldest first, a batch at a time. `hold`: sends and
        skips wait in `held`."""
        planning = self.planning
        for batch in self.store.due_batches(self.now, self.batch, last_id):
            if self.should_stop():
                raise Stopped
            planning.sends.sent_before = batch.last_sent
            for enrollment, new in batch.enrollments:
                planning.consider(enrollment, new=new)
            actions = planning.take_sends()
            self._carry_out(self._hold(actions) if hold else actions)
            self.heartbeat()
