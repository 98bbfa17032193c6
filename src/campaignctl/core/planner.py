"""plan(desired, snapshot, now) -> Plan: the whole decision of campaignctl, as a pure function.

No file, no database, no clock: everything it knows comes in as values, so every rule can be
tested by the thousand and `plan` shows exactly what `apply` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Literal, NamedTuple

from campaignctl.core.actions import Complete, Defer, Resume
from campaignctl.core.enrollment import Owners, rejoin_waiters, removals, sync_contacts
from campaignctl.core.lifecycle import (
    edit_review,
    empty_config_problem,
    transition,
)
from campaignctl.core.nextdue import Spent, later_tallies
from campaignctl.core.sending import Budget, CampaignRun, SendPlanner
from campaignctl.core.types import (
    Action,
    Contact,
    Desired,
    Enrollment,
    GroupSpec,
    InvalidContact,
    Plan,
    Relaunch,
    Snapshot,
    Tally,
    Waiter,
)
from campaignctl.errors import PlanError

SAMPLE = 200  # contacts a launch review estimates the segments of later steps from

ORDER = {
    "campaign_status": 0,
    "resume": 1,
    "enroll": 2,
    "end": 3,
    "skip": 4,
    "send": 5,
    "defer": 6,
    "pause": 7,
    "complete": 8,
}


def _runs(
    desired: Desired, snapshot: Snapshot, relaunches: Mapping[str, Relaunch]
) -> tuple[dict[str, CampaignRun], list[Action], list[str]]:
    runs: dict[str, CampaignRun] = {}
    status_actions: list[Action] = []
    notes: list[str] = []
    for name, spec in sorted(desired.campaigns.items()):
        state = snapshot.campaigns.get(name)
        step = transition(spec, state)
        if step.action is not None:
            status_actions.append(step.action)
        if step.status == "completed" and spec.status != "completed":
            why = f" ({state.reason})" if state is not None and state.reason else ""
            notes.append(
                f"campaign {name!r} is completed{why}: it sends nothing more and enrolls "
                f"no one; its file still says {spec.status!r}"
            )
        template = desired.templates.get(spec.template)
        launch = state.launch if state is not None else None
        if name in relaunches:
            launch = relaunches[name].record
        runs[name] = CampaignRun(
            name=name,
            status=step.status,
            steps=launch.steps if launch else (template.steps if template else ()),
            sender=launch.sender if launch else spec.sender,
            quiet_hours=launch.quiet_hours if launch else spec.quiet_hours,
            credit_paused=step.credit_paused,
        )
    for name, error in sorted(desired.held.items()):
        notes.append(
            f"campaign {name!r} is held by a configuration error (config_error): it sends "
            f"nothing until the file is fixed: {error}"
        )
    for name, state in sorted(snapshot.campaigns.items()):
        if name in desired.held:
            continue
        if name not in desired.campaigns and state.status in ("active", "paused"):
            notes.append(
                f"campaign {name!r} is not in the configuration any more: it sends nothing; "
                f"its {state.live_enrollments} live enrollments and its history are kept"
            )
    return runs, status_actions, notes


class Stage(NamedTuple):
    """The decisions of one stage of a plan, in the order they are carried out:

        lifecycle   launches, pauses, resumes and completions the files ask for
        sync        a batch of a changed group's contacts: enroll or skip each (`new`: the
                    enrollments made, whose first step is considered next)
        removal     the live enrollments of numbers that left a group: ended
        due         a batch of due enrollments: send, defer or skip each
        finish      resumes of credit-paused campaigns, completions

    `plan()` collects them into a Plan; an apply hands each to the one executor as it comes.
    """

    kind: Literal["lifecycle", "sync", "removal", "due", "finish"]
    actions: list[Action]
    new: Sequence[Enrollment] = ()


class Planning:
    """One plan, decided in stages, each returned as a Stage value:

        planning = Planning(desired, snapshot, now)    # refusals; lifecycle()
        for name in planning.to_sync():                 # groups changed since their last sync
            planning.sync(name, contacts, invalid, enrolled, owners)  # the whole group, or
            planning.remove(name, gone, owners)         # ... batch by batch, then the removed
            planning.synced(name)
        planning.due(enrollments, sent_before)          # due enrollments, oldest first
        planning.finish()                               # resumes and completions
        planning.result(listed)                         # the Plan

    `plan()` runs the stages in order on values in memory; a streamed apply runs the same
    stages a batch at a time, with the facts each batch needs read from the state, so a group
    of a million contacts never sits in memory; the decisions and their order are those of
    `plan()`. Nothing outside reads or sets its fields: facts go in as arguments, decisions
    come out as Stages.
    """

    def __init__(
        self, desired: Desired, snapshot: Snapshot, now: datetime, *, allow_empty: bool = False
    ) -> None:
        refusal = empty_config_problem(desired, snapshot)
        if refusal is not None and not allow_empty:
            raise PlanError(refusal)
        problems, self.relaunches = edit_review(desired, snapshot)
        if problems:
            raise PlanError("\n".join(str(p) for p in problems))
        self.desired = desired
        self.snapshot = snapshot
        self.now = now
        self.runs, self.status_actions, self.notes = _runs(desired, snapshot, self.relaunches)
        self.held = dict(desired.held)  # campaign -> the configuration error holding it
        self.holds = _holds(desired, snapshot)
        self.group_digests: dict[str, str] = {}  # recorded once the syncs are applied
        self.enrolling: set[str] = set()  # campaigns that enroll someone in this plan
        self.waiting: set[str] = set()  # campaigns with enrollments due before this plan
        self.sends = SendPlanner(
            snapshot=snapshot,
            settings=desired.settings,
            dnc=desired.dnc,
            now=now,
            budget=Budget(
                balance=snapshot.balance,
                interval=desired.settings.reconcile_interval,
                sent_today=snapshot.sent_today,
            ),
        )
        # the campaigns that can send nothing more in this plan (pace, daily limit, credits)
        self.spent = Spent(self.runs, self.held, self.sends, snapshot.suspended is not None)
        # (campaign, rule) -> enrollments due by their wait, not read: their moment is to come
        self.later: dict[tuple[str, str], int] = {}
        self.wait_later(snapshot.later)

    def hold(self, campaign: str, error: str) -> None:
        """Hold a campaign found only now to depend on a broken file (a streamed apply looks
        through the CSV of each group it reads before it changes anything): it sends
        nothing, changes nothing, and the error is recorded."""
        self.held[campaign] = error
        self.holds[campaign] = error
        self.runs.pop(campaign, None)
        self.spent.names.discard(campaign)  # its due enrollments are deferred for the error
        self.relaunches.pop(campaign, None)
        self.status_actions = [a for a in self.status_actions if a.campaign != campaign]
        self.notes.append(
            f"campaign {campaign!r} is held by a configuration error (config_error): it sends "
            f"nothing until the file is fixed: {error}"
        )

    def group_of(self, campaign: str) -> GroupSpec | None:
        return self.desired.groups.get(self.desired.campaigns[campaign].prospect_group)

    def to_sync(self) -> list[str]:
        """The running campaigns whose group changed since it was last synced, by name."""
        names: list[str] = []
        for name, run in self.runs.items():
            group = self.group_of(name)
            state = self.snapshot.campaigns.get(name)
            if group is None or (run.status != "active" and not run.credit_paused):
                continue
            if state is not None and state.group_digest == group.digest:
                continue
            names.append(name)
        return names

    def sync(
        self,
        campaign: str,
        contacts: Iterable[Contact],
        invalid: Iterable[InvalidContact],
        enrolled: AbstractSet[str],
        owners: Owners,
        returning: Mapping[str, Enrollment] | None = None,
    ) -> Stage:
        """Enroll or skip contacts of the campaign's group (all of them, or a batch).
        `returning`: the enrollments of the campaign that ended `removed`, by number (a
        row that is back continues from it)."""
        result = sync_contacts(
            campaign,
            contacts,
            invalid,
            self.runs[campaign].steps,
            enrolled,
            self.snapshot.opted_out,
            self.desired.dnc,
            owners,
            self.now,
            wrong_numbers=self.snapshot.wrong_numbers,
            returning={p: self._back(e) for p, e in returning.items()} if returning else None,
            require_consent=self.desired.settings.require_consent,
        )
        if result.new:
            self.enrolling.add(campaign)
        return Stage("sync", result.actions, result.new)

    def rejoining(self) -> dict[str, str]:
        """The campaigns that enroll the free numbers they wait for now, with their group's
        digest (a number skipped by another version of the group is not theirs to enroll):
        those running whose group this plan did not sync (the sync decided every number)."""
        digests: dict[str, str] = {}
        for name, run in self.runs.items():
            group = self.group_of(name)
            if group is None or name in self.group_digests:
                continue
            if run.status == "active" or run.credit_paused:
                digests[name] = group.digest
        return digests

    def rejoin(self, waiters: Iterable[Waiter], owners: Owners) -> Stage:
        """Enroll the free numbers running campaigns wait for (a batch of them, first waiting
        first); a number taken meanwhile waits on."""
        digests = self.rejoining()
        steps = {name: self.runs[name].steps for name in digests}
        back = (
            w._replace(previous=self._back(w.previous)) if w.previous is not None else w
            for w in waiters
        )
        result = rejoin_waiters(
            back, steps, self.snapshot.opted_out, self.desired.dnc, owners, self.now,
            wrong_numbers=self.snapshot.wrong_numbers,
            require_consent=self.desired.settings.require_consent,
        )  # fmt: skip
        self.enrolling.update(e.campaign for e in result.new)
        return Stage("sync", result.actions, result.new)

    def _back(self, ended: Enrollment) -> Enrollment:
        """A returning number's enrollment as it goes on: its next step is considered from
        the next reconcile at the earliest (as the executor records it), never in the apply
        that takes it back, so it is decided in the same order by every apply."""
        return ended._replace(next_due_at=max(ended.next_due_at, self.returns_at))

    @property
    def returns_at(self) -> datetime:
        """When the next step of a number taken back now is considered at the earliest."""
        return self.now + self.desired.settings.reconcile_interval

    def due_now(self, new: Iterable[Enrollment]) -> list[tuple[Enrollment, bool]]:
        """Of enrollments this plan made, those whose next step is due now (not a returning
        number's), as `due` takes them."""
        return [(e, True) for e in new if e.next_due_at <= self.now]

    def remove(self, campaign: str, phones: Iterable[str], owners: Owners) -> Stage:
        """End the live enrollments of numbers that left the group; they are not sent to."""
        group = self.group_of(campaign)
        assert group is not None
        gone = list(phones)
        self.sends.removed.update((campaign, phone) for phone in gone)
        return Stage("removal", removals(campaign, group.name, gone, owners))

    def synced(self, campaign: str) -> None:
        group = self.group_of(campaign)
        assert group is not None
        self.group_digests[campaign] = group.digest

    def lifecycle(self) -> Stage:
        return Stage("lifecycle", list(self.status_actions))

    def had_live(self, campaign: str) -> bool:
        """Whether the campaign held live enrollments before this plan (then the numbers
        that left its group must be found and ended)."""
        state = self.snapshot.campaigns.get(campaign)
        return state is not None and state.live_enrollments > 0

    def due(
        self,
        enrollments: Iterable[tuple[Enrollment, bool]],
        sent_before: Mapping[str, datetime] | None = None,
    ) -> Stage:
        """Decide a batch of due enrollments, each with whether this plan enrolled it.
        `sent_before`: the last message to each of their numbers before this plan (None:
        the snapshot's). Once a campaign can send nothing more in this plan (its sender's
        pace or daily limit used, its credits short: `is_used`), its enrollments due before
        this plan that come after wait for that, not looked at (a tick does not read them:
        core/nextdue.py); they go out, oldest first, at the next ticks."""
        self.sends.sent_before = sent_before
        for enrollment, new in enrollments:
            if new:  # enrolled by this plan: always decided (none waits behind the others)
                self.consider(enrollment, new=True)
            elif enrollment.campaign in self.spent.names:  # waits for the pace, unread
                self.waiting.add(enrollment.campaign)
                if (defer := self.spent.defer(enrollment)) is not None:
                    self.sends.actions.append(defer)
            else:
                self.consider(enrollment)
                self.spent.update()
        self.spent.update()
        return Stage("due", self.take_sends())

    def is_used(self, campaign: str) -> bool:
        """Whether the campaign can send nothing more in this plan: its due enrollments of
        earlier plans that come after wait for the pace, not looked at (a reader need not
        read them, only count them: `waits_unread`)."""
        return campaign in self.spent.names

    def wait_later(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Take the count of enrollments due by their wait whose next moment is to come
        (deferred to a window or the 30-day gap, not read before: core/nextdue.py), by
        campaign and rule: their campaigns have enrollments due (a credit pause is not
        lifted for them), and the plan counts them as the defers they wait in."""
        for key, count in counts.items():
            if count:
                self.waiting.add(key[0])
                self.later[key] = self.later.get(key, 0) + count

    def waits_unread(self, counts: Mapping[str, int]) -> list[Tally]:
        """The due enrollments of spent campaigns a tick did not read, by campaign, as the
        defers they would have been given."""
        return [
            Tally(name, "defer", self.spent.reason(name), count)
            for name, count in sorted(counts.items())
            if count
        ]

    def why_idle(self, enrollment: Enrollment) -> str:
        """Why a due enrollment is given no decision at all (`due` returned nothing)."""
        run = self.runs.get(enrollment.campaign)
        step = enrollment.steps_sent + 1
        if run is None:
            return "its campaign is not in the configuration any more: it sends nothing"
        if run.status in ("draft", "completed"):
            return f"its campaign is {run.status}"
        if step > len(run.steps):
            return f"the campaign's sequence has no step {step}"
        return "the planner decides nothing about it"

    def consider(self, enrollment: Enrollment, *, new: bool = False) -> None:
        """Decide one due enrollment (send, defer, skip); the actions gather in `sends`.
        `new`: enrolled by this plan (considered after every enrollment due before it)."""
        if not new:
            self.waiting.add(enrollment.campaign)
        held = self.held.get(enrollment.campaign)
        if held is not None:
            step = enrollment.steps_sent + 1
            self.sends.actions.append(
                Defer(enrollment.campaign, enrollment.phone, step, "config_error", None, held)
            )
            return
        target = self.runs.get(enrollment.campaign)
        if target is None or target.status in ("draft", "completed"):
            return
        self.sends.consider(enrollment, target)

    def take_sends(self) -> list[Action]:
        """The send-stage actions decided since the last call."""
        actions, self.sends.actions = self.sends.actions, []
        return actions

    def finish(self) -> Stage:
        """Resumes of credit-paused campaigns with nothing waiting, and completions."""
        actions: list[Action] = []
        # a campaign that can send nothing more may have due enrollments a tick did not read
        settled = self.sends.resumed | self.sends.paused | self.waiting | self.spent.names
        for name, run in self.runs.items():
            if run.credit_paused and name not in settled:
                actions.append(Resume(name, "nothing is due that the balance cannot cover"))
        actions.extend(
            _completions(self.desired, self.snapshot, self.runs, self.enrolling, self.group_digests)
        )
        return Stage("finish", actions)

    def result(self, actions: list[Action], tallies: tuple[Tally, ...] = ()) -> Plan:
        """The plan: the actions listed (in the order they are carried out) and, for a large
        apply, the tallies of those not listed; and the enrollments that wait for their next
        moment, counted (`wait_later`)."""
        actions.sort(key=lambda a: ORDER[a.type])
        suspended = self.snapshot.suspended is not None
        later = later_tallies(self.later, self.runs, self.held, suspended)
        return Plan(
            now=self.now,
            expires_at=self.now + self.desired.settings.reconcile_interval,
            config_digest=self.desired.config_digest,
            state_serial=self.snapshot.serial,
            actions=tuple(actions),
            group_digests=dict(self.group_digests),
            notes=tuple(self.notes),
            tallies=(*tallies, *later),
            relaunches=dict(self.relaunches),
            holds=dict(self.holds),
            held=dict(self.held),
        )


def stages(desired: Desired, snapshot: Snapshot, planning: Planning) -> Iterator[Stage]:
    """The stages of a plan made whole in memory: every group held by the desired state."""
    yield planning.lifecycle()
    owners = Owners(dict(snapshot.live_owner))
    new: list[Enrollment] = []
    for name in planning.to_sync():
        group = planning.group_of(name)
        assert group is not None
        if not group.loaded:
            continue  # the loader skipped it: its digest is synced for every campaign using it
        stage = planning.sync(
            name,
            group.contacts,
            group.invalid,
            snapshot.enrolled.get(name, frozenset()),
            owners,
            snapshot.returning.get(name),
        )
        new.extend(stage.new)
        yield stage
        present = {contact.phone for contact in group.contacts}
        yield planning.remove(name, sorted(snapshot.live.get(name, frozenset()) - present), owners)
        planning.synced(name)
    stage = planning.rejoin(snapshot.waiters, owners)
    new.extend(stage.new)
    yield stage
    due = [(enrollment, False) for enrollment in snapshot.due]
    yield planning.due([*due, *planning.due_now(new)])
    yield planning.finish()


def plan(desired: Desired, snapshot: Snapshot, now: datetime, *, allow_empty: bool = False) -> Plan:
    """Everything an apply would do at `now`, and why the rest waits."""
    planning = Planning(desired, snapshot, now, allow_empty=allow_empty)
    actions: list[Action] = []
    for stage in stages(desired, snapshot, planning):
        actions.extend(stage.actions)
    return planning.result(actions)


def _holds(desired: Desired, snapshot: Snapshot) -> dict[str, str | None]:
    """The configuration errors to record: each held campaign's (when it changed), and None
    for each campaign recorded held that is not any more."""
    holds: dict[str, str | None] = {}
    for name, error in desired.held.items():
        state = snapshot.campaigns.get(name)
        if state is None or state.config_error != error:
            holds[name] = error
    for name, state in snapshot.campaigns.items():
        if state.config_error is not None and name not in desired.held:
            holds[name] = None
    return holds


def _completions(
    desired: Desired,
    snapshot: Snapshot,
    runs: dict[str, CampaignRun],
    enrolling: set[str],
    synced_now: dict[str, str],
) -> list[Action]:
    """A running campaign with `completeWhen: allEnded` is completed by the controller once
    every enrollment has ended and none was added for a reconcile (its group synced before
    this plan, nothing enrolled by it), and while no number of its group waits for another
    campaign. Any other campaign stays active (observed `idle`): its group may grow."""
    done: list[Action] = []
    for name, run in runs.items():
        if desired.campaigns[name].complete_when != "allEnded":
            continue
        state = snapshot.campaigns.get(name)
        if state is None or state.status != "active" or run.status != "active":
            continue
        group = desired.groups.get(desired.campaigns[name].prospect_group)
        synced = group is not None and state.group_digest == group.digest
        if not synced or name in enrolling or name in synced_now or state.live_enrollments:
            continue
        if name in snapshot.held_back:
            continue
        done.append(Complete(name, "every enrollment has ended (completeWhen: allEnded)"))
    return done
