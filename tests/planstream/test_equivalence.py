"""The streamed plan is the whole plan: on random repositories and histories (the generator
of tests/engine/test_streamed.py: several campaigns sharing numbers, groups that change,
paused campaigns, do-not-call numbers, numbers waiting for another campaign), the plan
`campaignctl plan` makes a batch of three contacts at a time, writing nothing, lists
exactly the actions, in the same order, that `core.planner.plan` decides with every
contact in memory, and its digest is the digest of those actions."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from campaignctl.app import apply as engine
from campaignctl.app.plan import Planned, make_plan
from campaignctl.app.planstream import stream_plan
from campaignctl.clock import FrozenClock
from campaignctl.core.planjson import ActionsDigest, plan_to_json
from campaignctl.errors import PlanError
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.cli.repo import SETTINGS, Repo
from tests.engine.test_streamed import (
    BATCH_OF_3,
    CASES,
    FIXTURES_PER_TEST,
    START,
    Tick,
    write,
)


def document(planned: Planned | str) -> dict[str, Any] | str:
    """The plan JSON without the digest (the whole plan has none), or the refusal."""
    if isinstance(planned, str):
        return planned
    data = plan_to_json(planned.plan)
    data.pop("actions_digest", None)
    return data


def plans_agree(root: Path, state: str, history: list[Tick], senders: list[str]) -> None:
    """At each tick of the history, the streamed plan is the whole plan; then the tick is
    applied (streamed) and the next one planned on the state it leaves."""
    repo = Repo(root)
    repo.template()
    repo.write("settings.yaml", SETTINGS)
    now = START
    with Store.open(state) as store:
        store.add_credits(40, None, now - timedelta(hours=1))
    for tick in history:
        now += timedelta(hours=tick.hours)
        write(repo, tick, senders)
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
            assert not streamed.plan.tallies
            digest = ActionsDigest()
            digest.add(whole.plan.actions)
            assert streamed.plan.actions_digest == digest.hexdigest()
        clock = FrozenClock(now)
        # refused as planned (an edit of a live campaign): the next tick plans on the same
        with Store.open(state) as store, suppress(PlanError):
            engine.apply_now(repo.dir, store, OutboxProvider(store, clock), clock, BATCH_OF_3)


def _case(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> None:
    campaigns, history, shared_sender = case
    senders = ["+15125550147" if shared_sender else f"+1512555014{i}" for i in range(campaigns)]
    plans_agree(tmp_path_factory.mktemp("case"), new_state(), history, senders)


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_PER_TEST)
@given(CASES)
def test_the_streamed_plan_is_the_whole_plan(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> None:
    _case(tmp_path_factory, new_state, case)


@pytest.mark.parametrize("backend", ["postgresql"])
@settings(max_examples=12, deadline=None, suppress_health_check=FIXTURES_PER_TEST)
@given(CASES)
def test_the_streamed_plan_is_the_whole_plan_on_postgresql(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> None:
    """The same, fewer examples: the SQLite run covers the cases, this one the database."""
    _case(tmp_path_factory, new_state, case)
