"""A streamed apply does what the whole plan says: on random repositories and histories, the
state after streamed applies (batches of a few contacts) is the state after the same applies
made from `plan` (every contact in memory), saved and carried out by the same executor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.app import apply as engine
from campaignctl.app.executor import LISTED, ApplyOptions
from campaignctl.app.plan import make_plan
from campaignctl.clock import FrozenClock
from campaignctl.core.instants import parse_instant
from campaignctl.core.planjson import plan_to_json
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.render.plan import render_plan
from campaignctl.store import Store
from tests.cli.repo import SETTINGS, Repo

# numbers in several zones: New York, Chicago, Denver, Phoenix, Los Angeles, Honolulu
AREAS = ("212", "312", "303", "602", "415", "808")
POOL = [f"+1{AREAS[i % len(AREAS)]}55501{i:02d}" for i in range(40)]
SENDER = "+15125550147"
TEST = ApplyOptions(holder="test")
BATCH_OF_3 = ApplyOptions(holder="test", batch=3)
START = parse_instant("2026-03-02T03:00:00Z")  # night on the mainland, afternoon in Honolulu


@dataclass(frozen=True)
class Row:
    phone: str
    name: str  # empty: the template's first step cannot be filled (missing_field)


rows = st.lists(
    st.builds(Row, st.sampled_from(POOL), st.sampled_from(["Ana", "Bo", "Cy", ""])),
    max_size=14,
)


@dataclass(frozen=True)
class Tick:
    hours: int  # after the previous tick
    groups: tuple[tuple[Row, ...], ...]  # each campaign's group at this tick
    dnc: tuple[str, ...]
    statuses: tuple[str, ...]


def ticks(campaigns: int) -> st.SearchStrategy[list[Tick]]:
    tick = st.builds(
        Tick,
        st.sampled_from([1, 5, 14, 24 * 31]),
        st.tuples(*[rows.map(tuple) for _ in range(campaigns)]),
        st.lists(st.sampled_from(POOL), max_size=3).map(tuple),
        st.tuples(*[st.sampled_from(["active", "active", "paused"]) for _ in range(campaigns)]),
    )
    return st.lists(tick, min_size=1, max_size=4)


def write(repo: Repo, tick: Tick, senders: list[str]) -> None:
    for index, group in enumerate(tick.groups):
        name = f"group-{index}"
        csv = "phone,first_name,city\n" + "".join(f"{r.phone},{r.name},Austin\n" for r in group)
        repo.write(f"groups/{name}.csv", csv)
        repo.write(
            f"groups/{name}.yaml",
            f"apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata:\n  name: {name}\n"
            f"spec:\n  defaultRegion: US\n  csv: {name}.csv\n",
        )
        repo.campaign(
            f"campaign-{index}",
            group=name,
            status=tick.statuses[index],
            sender=senders[index],
            mps=0.004,  # 3 messages a tick: the pace decides who goes first
        )
    repo.dnc(list(tick.dnc))


STATE_QUERIES = {
    "campaigns": "SELECT name, status, reason, group_digest, live_count FROM campaigns",
    "enrollments": "SELECT campaign, phone, status, end_reason, steps_sent, last_sent_at,"
    " next_due_at, fields, source FROM enrollments",
    "attempts": "SELECT campaign, phone, step, body, credits, status FROM attempts",
    "decisions": "SELECT campaign, phone, type, step, reason, repeats FROM decisions"
    " WHERE NOT (type = 'skip' AND step IS NULL)",
    # a row that did not change is not decided again (app/incremental.py): those refused
    # by a streamed apply are among those refused by whole syncs, recorded once
    "refusals": "SELECT DISTINCT campaign, phone, reason FROM decisions"
    " WHERE type = 'skip' AND step IS NULL",
    "ledger": "SELECT amount, attempt_id IS NULL FROM ledger",
    "outbox": 'SELECT campaign, "to", step, body FROM outbox',
}


def state_of(state: str, root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The state's tables, in a set order; sources relative to the repository at root."""
    with Store.open(state, read_only=True) as store:
        return {
            table: sorted(
                (
                    tuple(v.replace(str(root), "") if isinstance(v, str) else v for v in row)
                    for row in store._conn.execute(sql).fetchall()
                ),
                key=repr,
            )
            for table, sql in STATE_QUERIES.items()
        }


def enrolled(state: str) -> int:
    with Store.open(state, read_only=True) as store:
        return int(store._conn.execute("SELECT count(*) FROM enrollments").fetchone()[0])


def run_history(
    root: Path, state: str, history: list[Tick], senders: list[str], streamed: bool
) -> dict[str, list[tuple[Any, ...]]]:
    """The state after the history's applies (streamed, or from saved plans)."""
    repo = Repo(root)
    repo.template()
    repo.write("settings.yaml", SETTINGS)
    now = START
    with Store.open(state) as store:
        store.add_credits(40, None, now - timedelta(hours=1))
    for tick in history:
        now += timedelta(hours=tick.hours)
        write(repo, tick, senders)
        clock = FrozenClock(now)
        with Store.open(state) as store:
            provider = OutboxProvider(store, clock)
            if streamed:
                engine.apply_now(repo.dir, store, provider, clock, BATCH_OF_3)
            else:
                planned = make_plan(repo.dir, store, now)
                engine.apply_now(repo.dir, store, provider, clock, TEST, saved=planned.plan)
    return state_of(state, root)


CASES = st.integers(min_value=1, max_value=3).flatmap(
    lambda n: st.tuples(st.just(n), ticks(n), st.booleans())
)
FIXTURES_PER_TEST = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def _same_state_streamed_or_whole(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> None:
    campaigns, history, shared_sender = case
    senders = ["+15125550147" if shared_sender else f"+1512555014{i}" for i in range(campaigns)]
    root = tmp_path_factory.mktemp("case")
    whole = run_history(root / "whole", new_state(), history, senders, streamed=False)
    streamed_ = run_history(root / "streamed", new_state(), history, senders, streamed=True)
    assert set(streamed_.pop("refusals")) <= set(whole.pop("refusals"))
    assert streamed_ == whole


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_PER_TEST)
@given(CASES)
def test_streamed_apply_leaves_the_state_the_whole_plan_leaves(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> None:
    _same_state_streamed_or_whole(tmp_path_factory, new_state, case)


@pytest.mark.parametrize("backend", ["postgresql"])
@settings(max_examples=12, deadline=None, suppress_health_check=FIXTURES_PER_TEST)
@given(CASES)
def test_streamed_apply_on_postgresql_leaves_the_state_the_whole_plan_leaves(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> None:
    """The same, fewer examples: the SQLite run covers the cases, this one the database."""
    _same_state_streamed_or_whole(tmp_path_factory, new_state, case)


def test_a_number_twice_in_a_group_is_decided_once_across_batches(
    tmp_path: Path, state: str
) -> None:
    """The first row of a number wins, even when its second row is batches later and could
    be enrolled (the first cannot: its name is empty)."""
    repo = Repo(tmp_path)
    repo.template()
    repo.write("settings.yaml", SETTINGS)
    first, other = POOL[0], POOL[1:8]
    group = (Row(first, ""), *(Row(p, "Ana") for p in other), Row(first, "Ana"))
    write(repo, Tick(0, (group,), (), ("active",)), ["+15125550147"])
    now = parse_instant("2026-03-02T17:00:00Z")
    clock = FrozenClock(now)
    with Store.open(state) as store:
        store.add_credits(40, None, now)
        planned, _ = engine.apply_now(
            repo.dir,
            store,
            OutboxProvider(store, clock),
            clock,
            ApplyOptions(holder="test", batch=2),
        )
        enrolled = {e.phone for e in store.enrollments_of(first)}
    assert enrolled == set()
    skips = [a for a in planned.plan.actions if a.type == "skip" and a.phone == first]
    assert [a.reason for a in skips] == ["missing_field"]
    assert planned.plan.summary()["enroll"] == len(other)


def test_a_bad_row_holds_its_campaign_and_the_next_apply_goes_on(
    tmp_path: Path, state: str
) -> None:
    """A row the loader refuses, batches into the file: the apply holds the campaign with
    the file and line before it changes anything of it (it is not even launched: recorded
    as a draft held by the error); once the file is fixed, the next apply launches, enrolls
    and sends."""
    repo = Repo(tmp_path)
    repo.template()
    repo.write("settings.yaml", SETTINGS)
    group = tuple(Row(p, "Ana") for p in POOL[:10])
    write(repo, Tick(0, (group,), (), ("active",)), ["+15125550147"])
    csv = repo.dir / "groups/group-0.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join([*lines[:8], "+12125550999,Ana,Austin,extra\n", *lines[8:]]))
    now = parse_instant("2026-03-02T17:00:00Z")
    clock = FrozenClock(now)
    with Store.open(state) as store:
        store.add_credits(40, None, now)
        planned, _ = engine.apply_now(
            repo.dir, store, OutboxProvider(store, clock), clock, BATCH_OF_3
        )
        held = planned.plan.held["campaign-0"]
        assert "group-0.csv:9" in held and "4 values" in held
        assert store.outbox() == []
        assert enrolled(state) == 0
        (row,) = store.campaign_status_rows()  # not launched: a draft held by the error
        assert (row.status, row.config_error) == ("draft", held)
        csv.write_text("".join(lines))
        _, report = engine.apply_now(
            repo.dir, store, OutboxProvider(store, clock), clock, BATCH_OF_3
        )
        assert enrolled(state) == 10
        assert report.outcomes == {"sent": 3}  # the sender's pace: 3 a tick


def test_a_large_apply_lists_its_first_actions_and_counts_the_rest(
    tmp_path: Path, state: str
) -> None:
    repo = Repo(tmp_path)
    repo.template()
    repo.write("settings.yaml", SETTINGS)
    numbers = [f"+1212{exchange}{line:04d}" for exchange in (201, 202) for line in range(5025)]
    write(repo, Tick(0, (tuple(Row(p, "Ana") for p in numbers),), (), ("active",)), [SENDER])
    night = parse_instant("2026-03-02T08:00:00Z")  # 03:00 in New York
    clock = FrozenClock(night)
    with Store.open(state) as store:
        planned, report = engine.apply_now(
            repo.dir, store, OutboxProvider(store, clock), clock, TEST
        )
    plan = planned.plan
    assert plan.summary() == {"campaign_status": 1, "enroll": 10_050, "defer": 10_050, "credits": 0}
    assert report.counts == {"campaign_status": 1, "enroll": 10_050, "defer": 10_050}
    assert len(plan.actions) == LISTED
    assert sum(t.count for t in plan.tallies) == 20_101 - LISTED
    unlisted = plan_to_json(plan)["unlisted"]
    assert {(u["type"], u["reason"]) for u in unlisted} <= {
        ("enroll", None),
        ("defer", "quiet_hours"),
    }
    assert sum(u["count"] for u in unlisted) == 20_101 - LISTED
    text = render_plan(planned.desired, planned.snapshot, plan, verbose=True)
    assert "enroll 10050; defer 10050 (quiet_hours 10050)" in text
    assert "audience: 10050 enrollable" in text
    assert "step 1: on enrollment, ~1.0 segments" in text  # estimated from a sample
    assert "whole sequence: about 20100 credits" in text
    assert f"... and {20_101 - LISTED} more enrollments, defers and skips" in text
    assert enrolled(state) == 10_050
