"""A send-out that keeps up with the provider: a sender's messages are handed over
concurrently (up to its pool), against the local Twilio server answering each create after
Twilio's usual latency, and every guarantee holds: each message recorded once, pace and the
daily limit exact, the window checked at the moment of each call, a stop that records the
calls in flight and hands nothing more over."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from campaignctl.app.apply import apply_now
from campaignctl.app.executor import INLINE_SECONDS, ApplyOptions
from campaignctl.clock import FrozenClock
from campaignctl.emulator import Fault
from campaignctl.store import Store
from tests.faults.test_crash import pending_attempts
from tests.faults.test_two_controllers import wait_until
from tests.faults.world import (
    NOW_AT,
    campaign_repo,
    emulator_at_noon,
    run,
    start,
    twilio_env,
)
from tests.sendout.world import (
    LATENCY,
    RunningClock,
    apply_with,
    attempt_moments,
    attempts,
    audited,
    twilio,
    write_lock_free,
)

NEW_YORK = ZoneInfo("America/New_York")


def test_a_send_out_overlaps_its_calls_and_keeps_pace_and_the_daily_limit_exact(
    tmp_path: Path, state: str
) -> None:
    count = 60
    # 0.05 a second: 45 messages a 15-minute tick; at most 50 a day; 10 calls at once
    repo = campaign_repo(
        tmp_path, count, 2 * count, state=state, mps=0.05, sender="dailyLimit: 50\nconcurrency: 10"
    )
    clock = FrozenClock(NOW_AT)
    with emulator_at_noon(latency=LATENCY) as emulator:
        provider = twilio(emulator, clock)
        planned, report = apply_with(state, repo.dir, provider, clock)
        summary = planned.plan.summary()
        assert report.sent == summary["send"] == 45, summary
        assert len(emulator.messages()) == 45
        assert emulator.peak_creates >= 5, "the calls were made one after another"
        later = [a for a in planned.plan.actions if a.type == "defer"]
        assert len(later) == count - 45 and {a.reason for a in later} == {"rate_limit"}

        clock.set(NOW_AT + timedelta(minutes=15))  # the next tick: only 5 left today
        planned, report = apply_with(state, repo.dir, provider, clock)
        assert report.sent == planned.plan.summary()["send"] == 5
        assert len(emulator.messages()) == 50

        clock.set(NOW_AT + timedelta(days=1))  # the next day: the last ten
        apply_with(state, repo.dir, provider, clock)
        audited(emulator, state, count, 2 * count)
    assert attempts(state) == {"sent": count}


def test_a_full_pool_waits_for_a_quarter_of_it_so_that_a_round_records_several_calls(
    tmp_path: Path, state: str
) -> None:
    count = 60
    repo = campaign_repo(tmp_path, count, 2 * count, state=state, sender="concurrency: 8")
    with emulator_at_noon(latency=LATENCY) as emulator:
        clock = RunningClock(NOW_AT)  # each round's intents carry the moment of their round
        _, report = apply_with(state, repo.dir, twilio(emulator, clock), clock)
        assert report.sent == count
        assert emulator.peak_creates >= 5, "the calls were made one after another"
    rounds = Counter(attempt_moments(state))
    sizes = [rounds[moment] for moment in sorted(rounds)]
    assert sum(sizes) == count
    # the first round fills the pool; each one after it waits for two calls to come back
    # (a quarter of eight), except the last, which may have only one message left to start
    assert sizes[0] == 8, sizes
    assert all(size >= 2 for size in sizes[1:-1]), sizes
    assert len(sizes) <= 1 + (count - 8) // 2 + 1, sizes


@pytest.mark.parametrize(("latency", "count"), [(0.0, 40), (LATENCY, 8)])
def test_calls_made_one_at_a_time_share_a_round_only_when_they_come_back_fast(
    tmp_path: Path, state: str, latency: float, count: int
) -> None:
    """A pool of one (`concurrency: 1`): the calls are made on the executor's thread, one
    after another. Against a provider answering in a few milliseconds, a round records the
    intents of the calls that come back within INLINE_SECONDS (the first alone: no call has
    been timed yet); against one answering after Twilio's usual latency, one a round."""
    repo = campaign_repo(tmp_path, count, 2 * count, state=state, sender="concurrency: 1")
    with emulator_at_noon(latency=latency) as emulator:
        clock = RunningClock(NOW_AT)  # each round's intents carry the moment of their round
        _, report = apply_with(state, repo.dir, twilio(emulator, clock), clock)
        assert report.sent == count
        assert emulator.peak_creates == 1
        audited(emulator, state, count, 2 * count)
    rounds = Counter(attempt_moments(state))
    sizes = [rounds[moment] for moment in sorted(rounds)]
    assert sum(sizes) == count and sizes[0] == 1, sizes
    if latency >= INLINE_SECONDS:
        assert set(sizes) == {1}, sizes
    else:  # a call here takes 2 to 10 ms (rounds of ten or more); a slow one, a loaded host,
        # shrinks the rounds after it for a while
        assert max(sizes) > 1 and len(sizes) < count * 3 / 4, sizes


def test_a_stop_asked_in_a_round_of_calls_made_one_at_a_time_makes_none_of_its_rest(
    tmp_path: Path, state: str
) -> None:
    """A pool of one against a provider answering at once: its rounds record several
    intents. A stop asked as soon as a round holds two or more makes no call after it,
    whatever the round still holds (recorded as not handed over, its step still due)."""
    count = 40
    repo = campaign_repo(tmp_path, count, 2 * count, state=state, sender="concurrency: 1")
    with emulator_at_noon() as emulator:
        clock = RunningClock(NOW_AT)
        asked: list[int] = []  # the creates made when the stop was asked

        def should_stop() -> bool:
            if not asked and attempts(state).get("pending", 0) >= 2:
                asked.append(len(emulator.requests("create")))
            return bool(asked)

        options = ApplyOptions(holder="test", should_stop=should_stop)
        with Store.open(state) as store:
            _, report = apply_now(repo.dir, store, twilio(emulator, clock), clock, options)
        assert asked, "no round held two intents"
        assert report.stopped is not None
        assert len(emulator.requests("create")) == asked[0] == report.sent
    statuses = attempts(state)
    assert statuses.pop("sent") == asked[0]
    assert statuses.pop("retry") >= 2 and not statuses, statuses  # the round, not handed over


def test_no_write_of_the_state_is_held_open_while_the_calls_are_in_flight(
    tmp_path: Path, state: str
) -> None:
    """Each intent and each outcome is a transaction of its own: while the executor waits
    for the calls, another process (a webhook recording a STOP, a standby taking over from
    a leader stalled right then) writes at once."""
    count = 10
    repo = campaign_repo(tmp_path, count, 2 * count, state=state, sender="concurrency: 10")
    clock = FrozenClock(NOW_AT)
    with emulator_at_noon(latency=2.0) as emulator:
        provider = twilio(emulator, clock)
        applied = threading.Thread(target=apply_with, args=(state, repo.dir, provider, clock))
        applied.start()
        try:
            wait_until(lambda: len(emulator.requests("create")) == count, "every call made", 60)
            assert write_lock_free(state), "a write transaction is open across the calls"
            assert attempts(state) == {"pending": count}  # tried while every call was in flight
        finally:
            applied.join(timeout=60)
        audited(emulator, state, count, 2 * count)


def test_creates_failing_after_the_message_exists_double_nothing_and_lose_nothing(
    tmp_path: Path,
) -> None:
    count = 40
    repo = campaign_repo(tmp_path, count, 3 * count, sender="concurrency: 10")
    clock = FrozenClock(NOW_AT)
    with emulator_at_noon(latency=LATENCY) as emulator:
        # every third of the first 36 creates: created, then answered with an error
        kinds = [
            lambda: Fault(status=503, after_create=True),
            lambda: Fault(drop=True, after_create=True),
            lambda: Fault(delay=1.5),  # created, and answered after the provider gave up
        ]
        emulator.add_fault(*[f for i in range(12) for f in (Fault(), Fault(), kinds[i % 3]())])
        provider = twilio(emulator, clock, timeout=1.0)
        for _ in range(10):
            planned, _report = apply_with(repo.state, repo.dir, provider, clock)
            if not any(a.type == "send" for a in planned.plan.actions):
                break
        assert emulator.peak_creates >= 5, "the calls were made one after another"
        assert not emulator.faults.pending(), "not every fault was met"
        audited(emulator, repo.state, count, 3 * count)


def test_a_window_that_closes_while_calls_are_in_flight_stops_the_hand_overs_at_the_close(
    tmp_path: Path,
) -> None:
    count = 500
    closes = datetime(2026, 3, 2, 21, 0, tzinfo=NEW_YORK)
    start = closes - timedelta(seconds=6)  # 10 s of sending would be needed: it closes first
    repo = campaign_repo(tmp_path, count, 2 * count, sender="concurrency: 10")
    with emulator_at_noon(latency=0.2, now=start) as emulator:
        clock = RunningClock(start)
        planned, report = apply_with(repo.state, repo.dir, twilio(emulator, clock), clock)
        sent = emulator.book.all()
        assert emulator.peak_creates >= 5, "the calls were made one after another"
        assert 0 < len(sent) < count, len(sent)
        # it ran into the window's last second (under one second left is closed)
        assert clock.now() > closes - timedelta(seconds=1)
        for message in sent:  # each handed over before the close, valid no longer than it
            assert message.date_created < closes, message
            assert message.validity_period is not None, message
            until = message.date_created + timedelta(seconds=message.validity_period)
            assert until <= closes + timedelta(seconds=1), message  # (its way here: < 1 s)
        too_late = [a for a in planned.plan.actions if a.type == "defer"]
        assert {a.reason for a in too_late} == {"quiet_hours"}
        assert report.sent == len(sent) and len(too_late) == count - len(sent)

        morning = FrozenClock(datetime(2026, 3, 3, 9, 0, tzinfo=NEW_YORK))
        apply_with(repo.state, repo.dir, twilio(emulator, morning), morning)
        audited(emulator, repo.state, count, 2 * count)


def test_refused_credentials_record_the_calls_in_flight_and_hand_nothing_more_over(
    tmp_path: Path,
) -> None:
    count = 80
    repo = campaign_repo(tmp_path, count, 2 * count, sender="concurrency: 10")
    clock = FrozenClock(NOW_AT)
    with emulator_at_noon(latency=LATENCY) as emulator:
        emulator.add_fault(*[Fault() for _ in range(20)], Fault(code=20003))
        provider = twilio(emulator, clock)
        planned, report = apply_with(repo.state, repo.dir, provider, clock)
        assert report.stopped is not None and "credentials" in report.stopped
        creates = len(emulator.requests("create"))
        assert emulator.peak_creates >= 5, "the calls were made one after another"
        # the refusal, and the calls the pool's nine other workers started before it came
        # back; then nothing. Each call lasts LATENCY or more, and the refusal's round trip
        # LATENCY and the time this process takes to hear it (taken to be under LATENCY,
        # even on a loaded host): two calls a worker at the most
        assert 21 <= creates <= 21 + 2 * 9, creates
        made = len(emulator.messages())
        assert report.sent == made == creates - 1
        # refunded and still due: the refused one, and those of the round under way whose
        # calls had not started when the refusal came back (at most the rest of the pool)
        recorded = attempts(repo.state)
        assert set(recorded) == {"sent", "retry"} and recorded["sent"] == made, recorded
        assert 1 <= recorded["retry"] <= 10, recorded
        assert planned.plan.summary()["send"] == made  # what was sent, not what was planned

        planned, report = apply_with(repo.state, repo.dir, provider, clock)  # credentials fixed
        assert report.stopped is None and report.sent == count - made
        audited(emulator, repo.state, count, 2 * count)


def test_kill_9_with_calls_in_flight_settles_each_by_look_up_and_sends_each_once(
    tmp_path: Path,
) -> None:
    count = 60
    repo = campaign_repo(tmp_path, count, 2 * count, sender="concurrency: 10")
    with emulator_at_noon(latency=0.3) as emulator:
        env = twilio_env(emulator)
        process = start(repo, ["apply"], env, "killed.log")
        deadline = time.monotonic() + 60
        while len(emulator.requests("create")) < 15 and time.monotonic() < deadline:
            assert process.alive(), process.output()
            time.sleep(0.02)
        assert process.kill(), process.output()
        # the kill fell among calls in flight: each left as an intent without an outcome
        in_flight = pending_attempts(repo.state)
        assert len(in_flight) >= 2, in_flight
        assert len(emulator.messages()) < count

        code, out, err = run(repo, ["apply"], env, "next.log")
        assert code == 0, out + err
        audited(emulator, repo.state, count, 2 * count)
