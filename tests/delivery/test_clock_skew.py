"""A Twilio whose clock disagrees with campaignctl's never gets a message twice: `campaignctl
apply` (a real process, a real state file) sends through the emulator running minutes or
hours behind or ahead, with creates that fail after the message was made, and a crash while
a create is in flight; every contact ends with exactly one message."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from campaignctl.emulator import Fault, TwilioEmulator
from tests.cli.repo import Repo
from tests.delivery.campaign import NOW, NOW_AT, attempts, command, emulator_at, project
from tests.delivery.cli import twilio_env

ANA, BEN, CLEO, DAN = "+14155550100", "+14155550101", "+14155550102", "+14155550103"
PHONES = (ANA, BEN, CLEO, DAN)


def messages_to(emulator: TwilioEmulator) -> dict[str, list[str]]:
    """To number -> the SIDs of the messages the emulator holds for it."""
    found: dict[str, list[str]] = {}
    for message in emulator.book.all():
        found.setdefault(message.to, []).append(message.sid)
    return found


SKEWS = [
    timedelta(minutes=-5),  # Twilio 5 minutes behind this machine (its clock runs fast)
    timedelta(minutes=5),
    timedelta(hours=-3),
    timedelta(hours=3),
]


@pytest.mark.parametrize("skew", SKEWS, ids=lambda skew: f"twilio{skew.total_seconds():+.0f}s")
def test_errors_after_creation_never_double_a_message_whatever_the_clocks(
    tmp_path: Path, skew: timedelta
) -> None:
    repo = project(Repo(tmp_path), PHONES)
    with emulator_at(NOW_AT, skew) as emulator:
        emulator.add_fault(
            Fault(to=ANA, status=500, after_create=True),  # made, then a server error
            Fault(to=BEN, drop=True, after_create=True),  # made, then the connection reset
            Fault(to=CLEO, malformed=True, after_create=True),  # made, then a broken answer
            Fault(to=DAN, status=503),  # refused before making it: sent again, once
        )
        applied = repo.process("apply", "--now", NOW, env=twilio_env(emulator.url))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert emulator.wait_idle()
        held = messages_to(emulator)
        creates = [str(r["to"]) for r in emulator.requests("create")]

    assert {phone: len(sids) for phone, sids in held.items()} == dict.fromkeys(PHONES, 1)
    assert sorted(creates) == sorted([ANA, BEN, CLEO, DAN, DAN])
    recorded = attempts(repo)
    assert sorted(recorded) == sorted((phone, "sent", held[phone][0]) for phone in PHONES)


@pytest.mark.parametrize(
    "skew",
    [timedelta(minutes=-7), timedelta(minutes=7)],
    ids=lambda skew: f"twilio{skew.total_seconds():+.0f}s",
)
def test_a_crash_while_the_create_is_in_flight_is_settled_once_whatever_the_clocks(
    tmp_path: Path, skew: timedelta
) -> None:
    repo = project(Repo(tmp_path), (ANA,))
    with emulator_at(NOW_AT, skew) as emulator:
        emulator.add_fault(Fault(to=ANA, delay=60))  # made at once, answered a minute later
        env = twilio_env(emulator.url)
        process = subprocess.Popen(
            command(repo, "apply", "--now", NOW),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not emulator.book.all():  # the message exists: the answer is on its way
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert [status for _phone, status, _sid in attempts(repo)] == ["pending"]

        later = (NOW_AT + timedelta(minutes=30)).isoformat()
        applied = repo.process("apply", "--now", later, env=env)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        [created] = emulator.book.all()

    assert len(emulator.requests("create")) == 1
    assert attempts(repo) == [(ANA, "sent", created.sid)]
