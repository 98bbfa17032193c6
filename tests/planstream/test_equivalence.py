"""The streamed plan is the whole plan: on random repositories and histories (the generator
of tests/engine/test_streamed.py: several campaigns sharing numbers, groups that change,
paused campaigns, do-not-call numbers, numbers waiting for another campaign), with consent
records on some rows (both fields, consentSource alone, or added at a later tick),
requireConsent turned on and off between ticks, and a sendWithin on either step, the plan
`campaignctl plan` makes a batch of three contacts at a time, writing nothing, lists
exactly the actions, in the same order, that `core.planner.plan` decides with every
contact in memory, and its digest is the digest of those actions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from campaignctl.app import apply as engine
from campaignctl.app.plan import Planned, make_plan
from campaignctl.app.planstream import stream_plan
from campaignctl.clock import FrozenClock
from campaignctl.core.planjson import ActionsDigest, plan_to_json
from campaignctl.core.types import Tally
from campaignctl.errors import PlanError
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.cli.repo import SETTINGS, TEMPLATE, Repo
from tests.engine.test_streamed import (
    BATCH_OF_3,
    CASES,
    FIXTURES_PER_TEST,
    POOL,
    START,
    Row,
    Tick,
    write,
)

# the reasons whose share of the cases the statistics show: the rules the cases exercise
COUNTED = ("no_consent", "expired", "already_enrolled", "removed")
CONSENT_SOURCE = "open-house sign-in sheet"
CONSENT_AT = "2026-03-01"


@dataclass(frozen=True)
class Rules:
    """The consent records and the sendWithin of a generated history."""

    within: tuple[str | None, str | None]  # the sendWithin of the template's two steps
    require: tuple[bool, ...]  # requireConsent at each tick (cycled)
    recorded: frozenset[str]  # numbers whose rows carry consentSource and consentAt
    later: frozenset[str]  # numbers whose rows carry both from the second tick on
    source_only: frozenset[str]  # numbers whose rows carry consentSource alone

    def consent(self, phone: str, tick: int) -> tuple[str, str]:
        """The consentSource and consentAt of a number's rows at a tick."""
        if phone in self.recorded or (tick > 0 and phone in self.later):
            return CONSENT_SOURCE, CONSENT_AT
        if phone in self.source_only:
            return CONSENT_SOURCE, ""
        return "", ""


NUMBERS = st.frozensets(st.sampled_from(POOL), max_size=len(POOL))
WITHIN = st.sampled_from([None, "1h", "6h", "2d"])
RULES = st.builds(
    Rules,
    st.tuples(WITHIN, WITHIN),
    st.lists(st.booleans(), min_size=1, max_size=4).map(tuple),
    NUMBERS,
    NUMBERS,
    NUMBERS,
)


def template_text(within: tuple[str | None, str | None]) -> str:
    """The repository's template of two steps, each with its sendWithin when it has one."""
    text = TEMPLATE.format(name="buyer-followup")
    first, second = within
    if first is not None:
        text = text.replace("    - body:", f"    - sendWithin: {first}\n      body:")
    if second is not None:
        wait = "    - waitDays: 30\n"
        text = text.replace(wait, f"{wait}      sendWithin: {second}\n")
    return text


def write_tick(repo: Repo, tick: Tick, at: int, senders: list[str], rules: Rules) -> None:
    """The repository at a tick: its groups with their consent columns, the settings."""
    write(repo, tick, senders)
    for index, group in enumerate(tick.groups):
        csv = "phone,first_name,city,consentSource,consentAt\n" + "".join(
            f"{r.phone},{r.name},Austin,{','.join(rules.consent(r.phone, at))}\n" for r in group
        )
        repo.write(f"groups/group-{index}.csv", csv)
    require = rules.require[at % len(rules.require)]
    repo.write("settings.yaml", SETTINGS + ("  requireConsent: true\n" if require else ""))


def document(planned: Planned | str) -> dict[str, Any] | str:
    """The plan JSON without the digest (the whole plan has none), or the refusal. The
    defers of a campaign that can send nothing more (its pace used, its credits short) are
    counted by campaign and reason, listed or not: a tick reads such a campaign's queue no
    further than the batch it is in, listing the defers it read and counting the rest, where
    a whole plan reads and lists them all (the same decisions: a defer changes no state)."""
    if isinstance(planned, str):
        return planned
    data = plan_to_json(planned.plan)
    data.pop("actions_digest", None)
    waiting: Counter[tuple[str, str]] = Counter()
    for action in data["actions"]:
        if _waiting(action):
            waiting[(action["campaign"], action["reason"])] += 1
    for tally in data.get("unlisted", ()):
        if _waiting(tally):
            waiting[(tally["campaign"], tally["reason"])] += tally["count"]
    data["actions"] = [a for a in data["actions"] if not _waiting(a)]
    if unlisted := [t for t in data.pop("unlisted", ()) if not _waiting(t)]:
        data["unlisted"] = unlisted
    data["waiting"] = sorted(waiting.items())
    return data


WAITING = ("rate_limit", "insufficient_credits")  # the reasons a spent campaign's queue waits


def _waiting(action: dict[str, Any]) -> bool:
    return action["type"] == "defer" and action["reason"] in WAITING


def _counted(planned: Planned) -> list[Tally]:
    """The plan's tallies but those of a spent campaign's queue."""
    return [t for t in planned.plan.tallies if not (t.type == "defer" and t.reason in WAITING)]


def plans_agree(
    root: Path, state: str, history: list[Tick], senders: list[str], rules: Rules
) -> Planned | str:
    """At each tick of the history, the streamed plan is the whole plan; then the tick is
    applied (streamed) and the next one planned on the state it leaves. The last streamed
    plan (or its refusal)."""
    repo = Repo(root)
    repo.write("templates/buyer-followup.yaml", template_text(rules.within))
    now = START
    with Store.open(state) as store:
        store.add_credits(40, None, now - timedelta(hours=1))
    for at, tick in enumerate(history):
        now += timedelta(hours=tick.hours)
        write_tick(repo, tick, at, senders, rules)
        with Store.open_for_reading(state) as reader:
            try:
                whole: Planned | str = make_plan(repo.dir, reader, now)
            except PlanError as exc:
                whole = str(exc)
            try:
                streamed: Planned | str = stream_plan(repo.dir, reader, now, batch=3)
            except PlanError as exc:
                streamed = str(exc)
        assert document(streamed) == document(whole)
        if isinstance(streamed, Planned) and isinstance(whole, Planned):
            assert not whole.plan.held  # every file generated is valid: nothing compared held
            # what waits for its next moment is counted alike (a spent queue: `document`)
            assert _counted(streamed) == _counted(whole)
            digest = ActionsDigest()
            digest.add(whole.plan.actions)
            assert streamed.plan.actions_digest == digest.hexdigest()
            for action in streamed.plan.actions:  # --hypothesis-show-statistics lists them
                if action.reason in COUNTED and currently_in_test_context():
                    event(f"{action.type} {action.reason}, step {action.step}")
        clock = FrozenClock(now)
        # refused as planned (an edit of a live campaign): the next tick plans on the same
        with Store.open(state) as store, suppress(PlanError):
            engine.apply_now(repo.dir, store, OutboxProvider(store, clock), clock, BATCH_OF_3)
    return streamed


Case = tuple[tuple[int, list[Tick], bool], Rules]
CASES_WITH_RULES = st.tuples(CASES, RULES)


def _case(tmp_path_factory: Any, new_state: Callable[[], str], case: Case) -> None:
    (campaigns, history, shared_sender), rules = case
    senders = ["+15125550147" if shared_sender else f"+1512555014{i}" for i in range(campaigns)]
    plans_agree(tmp_path_factory.mktemp("case"), new_state(), history, senders, rules)


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_PER_TEST)
@given(CASES_WITH_RULES)
def test_the_streamed_plan_is_the_whole_plan(
    tmp_path_factory: Any, new_state: Callable[[], str], case: Case
) -> None:
    _case(tmp_path_factory, new_state, case)


@pytest.mark.parametrize("backend", ["postgresql"])
@settings(max_examples=12, deadline=None, suppress_health_check=FIXTURES_PER_TEST)
@given(CASES_WITH_RULES)
def test_the_streamed_plan_is_the_whole_plan_on_postgresql(
    tmp_path_factory: Any, new_state: Callable[[], str], case: Case
) -> None:
    """The same, fewer examples: the SQLite run covers the cases, this one the database."""
    _case(tmp_path_factory, new_state, case)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_number_that_left_a_campaign_whose_pace_is_used_does_not_wait_in_it(
    tmp_path: Path, new_state: Callable[[], str]
) -> None:
    """Four numbers enrolled at night; in the morning one has left the group: the plan ends
    it, sends the three the pace allows, and counts none as waiting for the pace (the state
    a plan reads still holds it live)."""
    four = tuple(Row(phone, "Ana") for phone in POOL[:4])
    history = [Tick(1, (four,), (), ("active",)), Tick(14, (four[:3],), (), ("active",))]
    rules = Rules((None, None), (False,), frozenset(), frozenset(), frozenset())
    last = plans_agree(tmp_path, new_state(), history, ["+15125550140"], rules)
    assert isinstance(last, Planned)
    assert last.plan.summary() == {"end": 1, "send": 3, "credits": 3}
    assert not last.plan.tallies
