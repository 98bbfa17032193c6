"""No message is handed to a provider after its recipient's window closes, however long the
apply runs: the window is checked against the clock at the moment of each call."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from campaignctl.app.apply import apply_now
from campaignctl.app.executor import ApplyOptions
from campaignctl.clock import FrozenClock
from campaignctl.core.instants import parse_instant
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.cli.repo import Repo

NEW_YORK = ZoneInfo("America/New_York")
NUMBERS = [f"+1212555{n:04d}" for n in range(200)]  # all in New York


class SteppingClock:
    """A clock that moves on a fixed step each time it is read: an apply that takes time."""

    def __init__(self, at: datetime, step: timedelta) -> None:
        self.at = at
        self.step = step

    def now(self) -> datetime:
        self.at += self.step
        return self.at


def test_sends_stop_at_21_local_and_the_rest_go_out_next_morning(
    tmp_path: Path, state: str
) -> None:
    repo = Repo(tmp_path)
    repo.standard()
    repo.group(rows=[(number, "Ana") for number in NUMBERS])
    start = parse_instant("2026-03-03T01:58:30Z")  # 20:58:30 in New York
    closes = datetime(2026, 3, 2, 21, 0, tzinfo=NEW_YORK)
    clock = SteppingClock(start, timedelta(milliseconds=200))
    with Store.open(state) as store:
        store.add_credits(1_000, None, start)
        planned, report = apply_now(
            repo.dir, store, OutboxProvider(store, clock), clock, ApplyOptions(holder="test")
        )
        sent = store.outbox()
        late = [m for m in sent if m.at >= closes]
        assert sent and not late, f"{len(late)} of {len(sent)} handed over after 21:00"
        assert clock.at > closes  # the apply really ran past the close
        assert report.sent == len(sent) and report.debited == len(sent)
        assert store.balance() == 1_000 - len(sent)
        too_late = [
            a for a in planned.plan.actions if a.type == "defer" and a.reason == "quiet_hours"
        ]
        assert len(too_late) == len(NUMBERS) - len(sent)
        assert planned.plan.summary()["send"] == len(sent)  # what was sent, not what was planned

        morning = FrozenClock(parse_instant("2026-03-03T13:00:00Z"))  # 08:00 in New York
        _, report = apply_now(
            repo.dir, store, OutboxProvider(store, morning), morning, ApplyOptions(holder="test")
        )
        everyone = store.outbox()
        assert sorted(m.to for m in everyone) == sorted(NUMBERS)  # each once, none lost
        assert report.sent == len(NUMBERS) - len(sent)
