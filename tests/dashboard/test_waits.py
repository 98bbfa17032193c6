"""What waits now, by reason (dashboard/waits.py), against what `plan` decides at the same
moment: the counts of the due enrollments are the plan's sends, defers and skips."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from campaignctl.dashboard.waits import NOT_DUE, SEND, waits_now
from campaignctl.errors import Cancelled
from campaignctl.store import Store
from tests.dashboard.world import LATER, NOON, World

STEP_2 = NOON + timedelta(days=31)  # step 1 went out 31 days before: step 2 is due
NIGHT = STEP_2.replace(hour=4)  # 23:00 in New York, 22:00 in Chicago: quiet hours


def waits(world: World, now: datetime) -> dict[str, Counter[str]]:
    with Store.open(world.state, create=False, read_only=True) as store:
        return waits_now(world.repo.dir, store, now).counts


def planned(world: World, now: datetime) -> dict[str, Counter[str]]:
    """The sends, defers and skips of `plan --format json` at `now`, per campaign."""
    found: dict[str, Counter[str]] = {}
    names = {"send": SEND, "defer": "waits", "skip": "skipped"}
    for action in world.json("plan", "--verbose", now=now)["actions"]:
        if action["type"] in names and action.get("phone"):
            label = names[action["type"]]
            label = label if action["type"] == "send" else f"{label}: {action['reason']}"
            found.setdefault(action["campaign"], Counter())[label] += 1
    return found


def test_before_anything_is_due_every_live_enrollment_waits_for_its_gap(world: World) -> None:
    assert waits(world, LATER) == {
        "spring-buyers": Counter({NOT_DUE: 7}),
        "summer-sellers": Counter({NOT_DUE: 1}),
    }


@pytest.mark.parametrize("now", [NIGHT, STEP_2], ids=["quiet-hours", "afternoon"])
def test_the_due_ones_wait_as_the_plan_decides(world: World, now: datetime) -> None:
    # an apply first settles the numbers that waited for another campaign and are free now
    # (the one that opted out is skipped once): what is left to decide is due enrollments
    world.run("apply", now=LATER)
    found = waits(world, now)
    assert found == planned(world, now)
    expected = "waits: quiet_hours" if now == NIGHT else SEND
    assert found["spring-buyers"] == Counter({expected: 7})


def test_asked_to_stop_it_gives_up_before_its_next_batch(world: World) -> None:
    world.run("apply", now=LATER)
    with Store.open(world.state, create=False, read_only=True) as store:
        assert waits_now(world.repo.dir, store, STEP_2, lambda: False).counts  # it computes
        with pytest.raises(Cancelled, match="stopped after 0 due enrollments"):
            waits_now(world.repo.dir, store, STEP_2, lambda: True)
