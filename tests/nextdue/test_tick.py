"""A tick reads only what can go out now: the state keeps each live enrollment's next
possible moment (`next_at`), a number deferred for quiet hours is not read again before its
window opens, and a tick stops reading once its sender's pace is used. The rows read are
counted by the store (`due_read`), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from campaignctl.app import apply as engine
from campaignctl.app.executor import ApplyOptions
from campaignctl.app.waiting import next_step
from campaignctl.cli.main import cli
from campaignctl.clock import FrozenClock
from campaignctl.core.instants import format_instant, parse_instant
from campaignctl.core.planjson import plan_to_json
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.cli.repo import SETTINGS, Repo

NIGHT = parse_instant("2026-03-02T05:00:00Z")  # midnight in New York, 19:00 in Honolulu
OPENS = parse_instant("2026-03-02T13:00:00Z")  # 08:00 in New York
AFTERNOON = parse_instant("2026-03-02T19:00:00Z")  # 14:00 in New York
TICK = timedelta(minutes=15)
NEW_YORK = [f"+1{area}55501{i:02d}" for area in ("212", "646", "718") for i in range(100)]
HONOLULU = ["+18085550100", "+18085550101"]


def _repo(root: Path, numbers: list[str], per_tick: int) -> Repo:
    repo = Repo(root)
    repo.template()
    repo.group(rows=[(number, "Ana") for number in numbers])
    repo.campaign(mps=per_tick / 900 + 1e-6)  # `per_tick` messages a 15-minute tick
    repo.write("settings.yaml", SETTINGS)
    return repo


def _tick(repo: Repo, state: str, now: datetime, batch: int = 50) -> tuple[dict[str, int], int]:
    """One apply at `now`: its summary, and how many due enrollments it read."""
    clock = FrozenClock(now)
    with Store.open(state) as store:
        if store.balance() == 0:
            store.add_credits(10_000, None, now)
        planned, _ = engine.apply_now(
            repo.dir, store, OutboxProvider(store, clock), clock,
            ApplyOptions(holder="test", batch=batch),
        )  # fmt: skip
        return planned.plan.summary(), store.due_read


def _next_at(state: str) -> dict[str, str | None]:
    with Store.open(state, read_only=True) as store:
        rows = store._conn.execute("SELECT phone, next_at FROM enrollments").fetchall()
    return {str(phone): None if at is None else str(at) for phone, at in rows}


def test_a_tick_stops_reading_once_the_pace_is_used(state: str, tmp_path: Path) -> None:
    repo = _repo(tmp_path, NEW_YORK, per_tick=10)
    launch, _ = _tick(repo, state, AFTERNOON)  # 300 enrolled, 10 sent, 290 wait for the pace
    assert (launch["enroll"], launch["send"]) == (300, 10)
    summary, read = _tick(repo, state, AFTERNOON + TICK)
    assert read == 50  # one batch of the 290 due, not all of them
    assert (summary["send"], summary["defer"]) == (10, 280)  # the rest counted, waiting
    summary, read = _tick(repo, state, AFTERNOON + 2 * TICK, batch=1000)
    assert (summary["send"], summary["defer"]) == (10, 270) and read == 280


def test_the_queue_left_unread_is_counted_as_waiting_for_the_pace(
    state: str, tmp_path: Path
) -> None:
    repo = _repo(tmp_path, NEW_YORK[:100], per_tick=10)
    _tick(repo, state, AFTERNOON)
    clock = FrozenClock(AFTERNOON + TICK)
    with Store.open(state) as store:
        planned, _ = engine.apply_now(
            repo.dir, store, OutboxProvider(store, clock), clock,
            ApplyOptions(holder="test", batch=20),
        )  # fmt: skip
    plan = plan_to_json(planned.plan)
    listed = [a for a in plan["actions"] if a["type"] == "defer"]
    assert {(a["reason"], a["until"]) for a in listed} == {("rate_limit", "2026-03-02T19:30:00Z")}
    assert len(listed) == 10  # read with the first batch of 20, after the pace was used
    unread = [t for t in planned.plan.tallies if t.type == "defer"]
    assert [(t.campaign, t.reason, t.count) for t in unread] == [
        ("spring-buyers", "rate_limit", 70)  # counted in the index, never read
    ]


def test_numbers_in_quiet_hours_are_not_read_before_their_window(
    state: str, tmp_path: Path
) -> None:
    repo = _repo(tmp_path, NEW_YORK[:3] + HONOLULU, per_tick=900)
    launch, read = _tick(repo, state, NIGHT)
    assert (launch["send"], launch["defer"]) == (2, 3)  # Honolulu is in its window
    moments = _next_at(state)
    assert {moments[n] for n in NEW_YORK[:3]} == {"2026-03-02T13:00:00.000000Z"}
    for later in (NIGHT + TICK, OPENS - TICK):
        summary, read = _tick(repo, state, later)
        assert read == 0 and summary["defer"] == 3  # counted in the index, not read
    with Store.open(state, read_only=True) as store:  # explain still says why it waits
        (waits,) = next_step(repo.dir, store, NEW_YORK[0], OPENS - TICK)
    assert (waits.what, waits.reason, waits.until) == ("defer", "quiet_hours", OPENS)
    summary, read = _tick(repo, state, OPENS)
    assert summary["send"] == 3 and read == 3


def test_an_unknown_next_moment_is_read_when_due(state: str, tmp_path: Path) -> None:
    repo = _repo(tmp_path, NEW_YORK[:3], per_tick=900)
    _tick(repo, state, NIGHT)
    with Store.open(state) as store, store._write() as conn:  # next moments not known
        conn.execute("UPDATE enrollments SET next_at = NULL")
    summary, read = _tick(repo, state, NIGHT + TICK)
    assert read == 3 and summary["defer"] == 3  # read, deferred again, known again
    assert set(_next_at(state).values()) == {"2026-03-02T13:00:00.000000Z"}
    summary, read = _tick(repo, state, OPENS)
    assert summary["send"] == 3


def _plan(repo: Repo, state: str, now: datetime, *extra: str) -> dict[str, object]:
    """`campaignctl plan --format json` at `now`."""
    runner = CliRunner()
    args = ["--dir", str(repo.dir), "--state", state, "--now", format_instant(now)]
    result = runner.invoke(cli, [*args, "plan", "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.output)
    return document


def test_a_plan_says_why_the_numbers_not_read_wait(state: str, tmp_path: Path) -> None:
    """Numbers deferred to their window are not read, yet `plan` and every tick count them
    under the rule that holds them now: quiet hours, or the campaign's pause once paused."""
    repo = _repo(tmp_path, NEW_YORK[:3] + HONOLULU, per_tick=900)
    _tick(repo, state, NIGHT)  # Honolulu sent to; New York waits for 08:00
    plan = _plan(repo, state, NIGHT + TICK)
    assert plan["actions"] == [] and plan["summary"] == {"defer": 3, "credits": 0}
    assert plan["unlisted"] == [
        {"campaign": "spring-buyers", "type": "defer", "reason": "quiet_hours", "count": 3}
    ]
    text = CliRunner().invoke(
        cli, ["--dir", str(repo.dir), "--state", state, "--now", format_instant(NIGHT + TICK),
              "plan"],
    ).output  # fmt: skip
    assert "defer 3 (quiet_hours 3)" in text, text
    verbose = CliRunner().invoke(
        cli, ["--dir", str(repo.dir), "--state", state, "--now", format_instant(NIGHT + TICK),
              "plan", "--verbose"],
    ).output  # fmt: skip
    assert "3 counted above, none listed (`campaignctl explain PHONE`" in verbose, verbose
    repo.campaign(status="paused", mps=900 / 900 + 1e-6)
    summary, read = _tick(repo, state, NIGHT + 2 * TICK)
    assert read == 0 and summary["defer"] == 3
    plan = _plan(repo, state, NIGHT + 3 * TICK)
    assert plan["unlisted"] == [
        {"campaign": "spring-buyers", "type": "defer", "reason": "campaign_paused", "count": 3}
    ]


def test_a_step_past_its_expiry_is_passed_over_behind_a_queue_the_pace_holds(
    state: str, tmp_path: Path
) -> None:
    """A campaign whose steps can expire (sendWithin) is read whole: a step past its expiry
    is passed over at the first tick after it, though it waits behind a queue of first
    steps that the sender's pace holds."""
    repo = _repo(tmp_path, NEW_YORK, per_tick=10)
    path = repo.dir / "templates" / "buyer-followup.yaml"
    within = "    - waitDays: 30\n      sendWithin: 1d\n"
    path.write_text(path.read_text().replace("    - waitDays: 30\n", within))
    launch, _ = _tick(repo, state, AFTERNOON)  # 300 enrolled, 10 sent, 290 wait for the pace
    assert (launch["enroll"], launch["send"]) == (300, 10)
    # step 2 of the 10 became due 30 days on, and expired a day later: an hour ago
    summary, read = _tick(repo, state, AFTERNOON + timedelta(days=31, hours=1))
    assert (summary["send"], summary["skip"], summary["defer"]) == (10, 10, 280)
    assert read == 300
