"""Twilio's ValidityPeriod is the time really left in the recipient's window, never rounded
up; with less than a second left, nothing is handed over and the step waits for the next
window. Through the real twilio SDK, the real executor and a real state file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from campaignctl.app.apply import apply_now
from campaignctl.app.executor import ApplyOptions
from campaignctl.clock import FrozenClock
from campaignctl.core.instants import parse_instant
from campaignctl.emulator import TwilioEmulator
from campaignctl.providers.twilio import TwilioProvider
from campaignctl.store import Store
from tests.cli.repo import Repo

NEW_YORK_NUMBER = "+12125550100"


def apply_at(repo: Repo, provider: TwilioProvider, at: str) -> int:
    clock = FrozenClock(parse_instant(at))
    with Store.open(repo.state) as store:
        _, report = apply_now(repo.dir, store, provider, clock, ApplyOptions(holder="test"))
    return report.sent


def ana_in_new_york(root: Path) -> Repo:
    """A campaign whose one contact is in New York, with credits."""
    repo = Repo(root).standard()
    repo.group(rows=[(NEW_YORK_NUMBER, "Ana")])
    with Store.open(repo.state) as store:
        store.add_credits(5, None, parse_instant("2026-03-02T12:00:00Z"))
    return repo


def test_validity_is_the_whole_seconds_left(
    tmp_path: Path, emulator: TwilioEmulator, make_provider: Callable[..., TwilioProvider]
) -> None:
    repo = ana_in_new_york(tmp_path)
    # 20:59:30.300 in New York: 29.7 seconds left before 21:00
    assert apply_at(repo, make_provider(), "2026-03-03T01:59:30.300Z") == 1
    [message] = emulator.book.all()
    assert message.validity_period == 29  # not 30: what is left, never rounded up


def test_under_a_second_left_nothing_is_handed_over(
    tmp_path: Path, emulator: TwilioEmulator, make_provider: Callable[..., TwilioProvider]
) -> None:
    repo = ana_in_new_york(tmp_path)
    # 20:59:59.500 in New York: half a second left
    assert apply_at(repo, make_provider(), "2026-03-03T01:59:59.500Z") == 0
    assert emulator.requests("create") == []
    # the next morning it goes out, once
    assert apply_at(repo, make_provider(), "2026-03-03T13:00:00Z") == 1
    assert [m["to"] for m in emulator.messages()] == [NEW_YORK_NUMBER]
