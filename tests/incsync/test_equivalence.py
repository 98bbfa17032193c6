"""A group synced by its changes ends where a sync of the whole group ends: on random groups
edited at random between applies (rows added, removed, moved, doubled; first names and
numbers edited; do-not-call lists and campaign statuses changed; several campaigns sharing
numbers), the state after streamed applies, which sync only the rows that changed, is the
state after the same applies made from `plan` (every group read whole), saved and carried
out by the same executor.

The history of refusals is the one difference, by design: a refusal to enroll is recorded
when the row is decided, and a row that did not change is not decided again (a whole sync
decides it again, counts it once more, and may give another reason for it, such as another
campaign holding the number now). So the refusals recorded are among those of whole syncs;
every other table is compared whole (tests/engine/test_streamed.py's comparison).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from campaignctl.store import Store
from tests.engine.test_streamed import AREAS, Row, Tick, _same_state_streamed_or_whole

POOL = [f"+1{AREAS[i % len(AREAS)]}555{i // len(AREAS):04d}" for i in range(180)]
NAMES = ["Ana", "Bo", "Cy", ""]  # empty: refused `missing_field`

row = st.builds(Row, st.sampled_from(POOL), st.sampled_from(NAMES))


@st.composite
def edited(draw: st.DrawFn, rows: tuple[Row, ...]) -> tuple[Row, ...]:
    """The rows after a few random edits."""
    new = list(rows)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["add", "remove", "name", "number", "move", "double"]))
        if kind == "add" or not new:
            new.insert(draw(st.integers(0, len(new))), draw(row))
            continue
        at = draw(st.integers(0, len(new) - 1))
        if kind == "remove":
            del new[at]
        elif kind == "name":
            new[at] = Row(new[at].phone, draw(st.sampled_from(NAMES)))
        elif kind == "number":
            new[at] = Row(draw(st.sampled_from(POOL)), new[at].name)
        elif kind == "move":
            new.insert(draw(st.integers(0, len(new) - 1)), new.pop(at))
        else:
            new.insert(at, new[at])
    return tuple(new)


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, list[Tick], bool]:
    campaigns = draw(st.integers(1, 3))
    groups = tuple(
        tuple(draw(st.lists(row, max_size=draw(st.sampled_from([5, 30, 80])))))
        for _ in range(campaigns)
    )
    dnc: tuple[str, ...] = ()
    history: list[Tick] = []
    for number in range(draw(st.integers(2, 5))):
        if number:
            groups = tuple(draw(edited(g)) for g in groups)
        if draw(st.integers(0, 4)) == 0:
            dnc = tuple(draw(st.lists(st.sampled_from(POOL), max_size=3)))
        statuses = tuple(draw(st.sampled_from(["active", "active", "active", "paused"]))
                         for _ in range(campaigns))  # fmt: skip
        history.append(Tick(draw(st.sampled_from([1, 5, 14, 24 * 31])), groups, dnc, statuses))
    return campaigns, history, draw(st.booleans())


def _same_state(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> int:
    """The streamed-vs-whole comparison of tests/engine/test_streamed.py on these histories;
    and every campaign whose group the streamed applies synced keeps what they read (how
    many: returned)."""
    states: list[str] = []

    def recorded() -> str:
        states.append(new_state())
        return states[-1]

    _same_state_streamed_or_whole(tmp_path_factory, recorded, case)
    with Store.open(states[-1], read_only=True) as store:
        conn = store._conn
        synced = conn.execute("SELECT name FROM campaigns WHERE group_digest IS NOT NULL")
        names = sorted(synced.fetchall())
        kept = sorted(conn.execute("SELECT campaign FROM synced_groups").fetchall())
    assert kept == names
    return len(kept)


FIXTURES_PER_TEST = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES_PER_TEST)
@given(histories())
def test_syncs_of_the_rows_that_changed_leave_the_state_whole_syncs_leave(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> None:
    kept = _same_state(tmp_path_factory, new_state, case)
    event(f"campaigns keeping their group's file: {kept}")


@pytest.mark.parametrize("backend", ["postgresql"])
@settings(max_examples=10, deadline=None, suppress_health_check=FIXTURES_PER_TEST)
@given(histories())
def test_on_postgresql_syncs_of_the_rows_that_changed_leave_the_state_whole_syncs_leave(
    tmp_path_factory: Any, new_state: Callable[[], str], case: tuple[int, list[Tick], bool]
) -> None:
    """The same, fewer examples: the SQLite run covers the cases, this one the database."""
    _same_state(tmp_path_factory, new_state, case)


# --------------------------------------------------------------------------- cases found

X, Y = POOL[0], POOL[1]
BOTH_ACTIVE = ("active", "active")


def test_a_row_moved_above_another_row_of_its_number_decides_it(
    tmp_path_factory: Any, new_state: Callable[[], str]
) -> None:
    """Nothing added or removed, a row moved: X's first row is now the one with a name, so
    the number refused for a blank name is enrolled, as a whole sync enrolls it."""
    before = (Row(Y, "Ana"), Row(X, ""), Row(X, "Ana"))
    after = (Row(X, "Ana"), Row(Y, "Ana"), Row(X, ""))
    history = [Tick(1, (rows,), (), ("active",)) for rows in (before, after)]
    _same_state(tmp_path_factory, new_state, (1, history, False))


def test_a_number_listed_twice_waits_as_its_first_row_lists_it(
    tmp_path_factory: Any, new_state: Callable[[], str]
) -> None:
    """X is held by the first campaign and listed twice, in one batch, by the second: it
    waits with its first row's line and fields, and is enrolled with them once free."""
    held, twice = (Row(X, "Ana"),), (Row(X, "Bo"), Row(X, "Cy"), Row(Y, "Ana"))
    history = [
        Tick(1, (held, twice), (), BOTH_ACTIVE),
        Tick(1, ((), twice), (), BOTH_ACTIVE),  # X ends in the first: free
        Tick(1, ((), twice), (), BOTH_ACTIVE),  # and the second enrolls it
    ]
    _same_state(tmp_path_factory, new_state, (2, history, False))
