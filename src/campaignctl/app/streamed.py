"""The apply of a fresh plan, streamed: the planner's stages (core.planner.Planning) run a
batch at a time, each batch's facts read from the state and its decisions written before
the next is read. A group of a million contacts is enrolled, and a queue of a million due
messages considered, in the memory of one batch.

    lifecycle     launches, pauses, resumes of the lifecycle           (applied first)
    sync          each changed group, BATCH contacts at a time: enroll, skip; then
    removal       the numbers that left it are ended, and the group's digest recorded
    rejoin        the numbers campaigns wait for that were free when it began, BATCH at
                  a time: enrolled by the first campaign waiting (or waiting on)
    due           the enrollments whose next moment has come, oldest first, a batch at a
                  time: send, defer, skip; a campaign is read no further once its sender's
                  pace is used
    finish        resumes and completions; the run is recorded

Each stage value comes from the pure planner (core.planner.Planning) and goes to the one
executor (app.executor.Executor), which also carries out saved plans.

The decisions, and their order, are those of `core.planner.plan` on the same state: the
enrollments due before this apply are considered before the ones it enrolls, as there.
A crash between batches loses nothing: what is written is whole (each batch is a
transaction), the group's digest is recorded only once all of it is, and the next apply
goes on from the state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from campaignctl.app.executor import Executor
from campaignctl.app.groupread import hold_broken_groups, with_samples
from campaignctl.app.met import MetNumbers
from campaignctl.config import ContactSource
from campaignctl.core.actions import Action
from campaignctl.core.enrollment import Owners
from campaignctl.core.planner import SAMPLE, Planning, Stage
from campaignctl.core.types import Contact, Desired, InvalidContact, Plan, Waiter
from campaignctl.store.protocols import BatchStore

log = logging.getLogger("campaignctl.engine")


class Stopped(Exception):
    """Asked to stop between two batches."""


class StreamedApply:
    """One fresh apply, streamed: the planner's stages, with each batch's facts read from
    the state, handed to the executor as they are decided."""

    def __init__(
        self,
        store: BatchStore,
        planning: Planning,
        sources: Mapping[str, ContactSource],
        executor: Executor,
        now: datetime,
    ) -> None:
        self.store = store
        self.planning = planning
        self.sources = sources
        self.executor = executor
        self.now = now  # the moment this apply plans for
        self.options = executor.options
        self.interrupted = False  # asked to stop before the end
        self.held: list[Action] = []  # sends and ending skips, until the syncs are done
        # the first contacts each campaign enrolled: what a launch review estimates from
        self.samples: dict[str, list[Contact]] = {}
        # campaign -> its due enrollments not read: its pace was used (counted, not read)
        self.unread: dict[str, int] = {}

    def run(self) -> Plan:
        planning = self.planning
        hold_broken_groups(planning, self.sources)  # a bad row holds its campaign
        syncs = planning.to_sync()
        self.executor.record_edits(planning.relaunches, planning.holds)
        self.executor.carry_out(planning.lifecycle().actions)
        self.store.take_freed()  # those freed while this apply runs wait for the next
        last_id = self.store.last_enrollment_id()  # the ones above are enrolled now
        try:
            if any(planning.had_live(name) for name in syncs):
                # a group of a running campaign changed: the numbers that left it are known
                # only once all of it is read, and must not be sent to; so the syncs first,
                # then every due enrollment, the new ones read back after the others
                for name in syncs:
                    self._sync(name, inline=False)
                self._rejoin(inline=False)
                self._due(last_id)
            else:
                # only new groups (a launch): the due enrollments first, then each batch's
                # new enrollments are considered as they are made (the same order). Sends,
                # and what would end an enrollment, wait for the syncs to end well: the
                # numbers stay owned meanwhile, and a file that fails to read sends nothing
                self._due(last_id, hold=bool(syncs))
                for name in syncs:
                    self._sync(name, inline=True)
                self._rejoin(inline=True)
                self.executor.carry_out(self.held)
        except Stopped:
            self.interrupted = True
        else:
            self.executor.carry_out(planning.finish().actions)
        done = self.executor.done
        for tally in planning.waits_unread(self.unread):  # counted with the defers not listed
            done.counted[(tally.campaign, tally.type, tally.reason)] += tally.count
        return planning.result(done.listed, done.tallies())

    def shown(self) -> Desired:
        """The desired state to show this apply with: each group read holds the sample of
        its first enrolled contacts (the rest were never held)."""
        return with_samples(self.executor.desired, self.planning, self.samples)

    # ------------------------------------------------------------------ stages

    def _sync(self, campaign: str, *, inline: bool) -> None:
        """Enroll the campaign's group a batch at a time, then end the numbers that left.
        `inline`: consider each batch's new enrollments for sending at once."""
        planning = self.planning
        executor = self.executor
        group = planning.group_of(campaign)
        assert group is not None
        source = self.sources[group.name]
        start = self.store.sync_start(campaign, present=planning.had_live(campaign))
        met = MetNumbers()
        read = 0
        enrolled_before = executor.enrolled

        def take(contacts: list[Contact], invalid: list[InvalidContact]) -> None:
            nonlocal read
            if self.options.should_stop():
                raise Stopped
            phones = [c.phone for c in contacts]
            facts = self.store.sync_facts(campaign, phones, start, met.maybe(phones))
            skipped = met.skipped.intersection(phones)  # met before: decided once
            fresh = [c for c in contacts if c.phone not in skipped] if skipped else contacts
            stage = planning.sync(
                campaign, fresh, invalid, facts.enrolled, Owners(facts.live_owner), facts.returning
            )
            joined = {e.phone for e in stage.new}
            joining = [c for c in fresh if c.phone in joined]
            executor.carry_out(stage.actions, joining=fresh)
            sample = self.samples.setdefault(campaign, [])
            sample.extend(joining[: SAMPLE - len(sample)])
            met.add(phones, (a.phone for a in stage.actions if a.type == "skip" and a.phone))
            if start.present:
                self.store.mark_present(phones)
            if inline and stage.new:
                sent_before = self.store.last_sent_of(joined) if start.sent else {}
                due = planning.due(planning.due_now(stage.new), sent_before)
                executor.carry_out(self._hold(due), fresh=True)
            executor.heartbeat()
            read += len(contacts) + len(invalid)
            if self.options.importing is not None:
                self.options.importing(campaign, read, executor.enrolled - enrolled_before)

        try:
            source.read(take, self.options.batch)
            gone = self.store.live_absent(campaign) if start.present else []
        finally:
            self.store.sync_end()
        executor.carry_out(planning.remove(campaign, gone, Owners({})).actions)
        planning.synced(campaign)
        self.store.set_group_digest(campaign, group.digest)
        self.store.drop_stale_waiting(campaign, group.digest)
        log.info(
            "%s: group %s synced: %d numbers read, %d enrolled",
            campaign,
            group.name,
            read,
            executor.enrolled - enrolled_before,
        )

    def _rejoin(self, *, inline: bool) -> None:
        """Enroll the numbers running campaigns wait for that were free when this apply
        began, a batch at a time, first waiting first. `inline`: consider the new
        enrollments for sending at once (sends and ending skips held)."""
        planning = self.planning
        for batch in self.store.freed_batches(planning.rejoining(), self.options.batch):
            if self.options.should_stop():
                raise Stopped
            owners = Owners(self.store.live_owners([w.contact.phone for w in batch]))
            stage = planning.rejoin(batch, owners)
            self._carry_out_rejoin(batch, stage.actions)
            if inline and stage.new:
                sent_before = self.store.last_sent_of({e.phone for e in stage.new})
                due = planning.due(planning.due_now(stage.new), sent_before)
                self.executor.carry_out(self._hold(due), fresh=True)
            self.executor.heartbeat()

    def _carry_out_rejoin(self, batch: list[Waiter], actions: list[Action]) -> None:
        """Each campaign's decisions with its own contacts (two groups may list a number
        with other fields): every enrollment first, so a number taken is seen held."""
        contacts: dict[str, list[Contact]] = {}
        for waiter in batch:
            contacts.setdefault(waiter.campaign, []).append(waiter.contact)
        for enrolls in (True, False):
            for campaign, theirs in contacts.items():
                mine = [
                    a for a in actions if a.campaign == campaign and (a.type == "enroll") == enrolls
                ]
                if mine:
                    self.executor.carry_out(mine, joining=theirs)

    def _hold(self, stage: Stage) -> list[Action]:
        """Keep sends and the skips that end an enrollment for later; the rest to do now."""
        later = {"send", "skip"}
        self.held.extend(a for a in stage.actions if a.type in later)
        return [a for a in stage.actions if a.type not in later]

    def _due(self, last_id: int, *, hold: bool = False) -> None:
        """Consider the enrollments whose next moment has come, oldest first, a batch at a
        time, reading no further the campaigns that can send nothing more in this tick: the
        rest of their queue waits for the pace, counted, not read (`unread`). `hold`: sends
        and skips wait in `held`."""
        # those due by their wait whose next moment is to come: counted, not read
        self.planning.wait_later(self.store.later_counts(self.now, last_id))
        batches = self.store.next_batches(
            self.now, self.options.batch, last_id, self.planning.is_used
        )
        for batch in batches:
            if self.options.should_stop():
                raise Stopped
            self.unread.update(batch.unread)
            stage = self.planning.due(batch.enrollments, batch.last_sent)
            self.executor.carry_out(self._hold(stage) if hold else stage.actions)
            self.executor.heartbeat()
