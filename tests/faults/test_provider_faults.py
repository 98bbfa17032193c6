"""Provider faults at 30%: 429, 500 before and after the message is created, timeouts before
and after, connection resets, malformed JSON, on creates and on lookups alike. Applies run
until nothing is due, with the faults still on: nothing lost, nothing doubled, and the
backoff is in the logs.

The engine runs in this process (real SDK, real HTTP, real SQLite) so the provider's
timeout can be short; a second test runs `reconcile --once` as a user would and reads the
backoff in its own log output.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from campaignctl.app.apply import apply_now
from campaignctl.clock import FrozenClock
from campaignctl.emulator import Fault
from campaignctl.providers.twilio import TwilioProvider
from campaignctl.store import Store
from tests.faults.audit import audit
from tests.faults.tally import sized
from tests.faults.world import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    NOW_AT,
    Script,
    campaign_repo,
    emulator_at_noon,
    phones,
    run,
    twilio_env,
)

TIMEOUT = 0.4  # the provider's HTTP timeout here; a "timeout" fault answers later than this
LATE = TIMEOUT + 0.3

CREATE_FAULTS = {
    "429": lambda rng: Fault(code=20429),
    "500 before create": lambda rng: Fault(status=rng.choice([500, 502, 503])),
    "500 after create": lambda rng: Fault(status=rng.choice([500, 502, 503]), after_create=True),
    "timeout before create": lambda rng: Fault(status=500, delay=LATE),
    "timeout after create": lambda rng: Fault(delay=LATE),
    "reset before create": lambda rng: Fault(drop=True),
    "reset after create": lambda rng: Fault(drop=True, after_create=True),
    "malformed JSON before create": lambda rng: Fault(malformed=True),
    "malformed JSON after create": lambda rng: Fault(malformed=True, after_create=True),
}
LIST_FAULTS = {
    "lookup 429": lambda rng: Fault(code=20429),
    "lookup 500": lambda rng: Fault(status=500),
    "lookup timeout": lambda rng: Fault(delay=LATE),
    "lookup reset": lambda rng: Fault(drop=True),
    "lookup malformed JSON": lambda rng: Fault(malformed=True),
}


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """campaignctl's log lines while the block runs (whatever else configured logging)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("campaignctl")
    handler, level = Keep(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_thirty_percent_provider_faults_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    count = sized(80, 400)
    credits = 3 * count
    repo = campaign_repo(tmp_path, count, credits)
    rng = random.Random(30)
    script = Script()
    clock = FrozenClock(NOW_AT)
    rounds = 0
    with emulator_at_noon() as emulator, captured_logs() as logs:
        script.plant(emulator, rng, "create", 0.3, CREATE_FAULTS, 8 * count)
        script.plant(emulator, rng, "list", 0.3, LIST_FAULTS, 8 * count)
        provider = TwilioProvider(
            ACCOUNT_SID,
            AUTH_TOKEN,
            base_url=emulator.url,
            timeout=TIMEOUT,
            backoff_base=0.02,
            backoff_cap=0.2,
            rng=random.Random(31),
            clock=clock,  # the engine's time, which Twilio's clock is held against
        )
        with Store.open(repo.state) as store:
            while True:  # the faults stay on: every apply meets them
                rounds += 1
                assert rounds <= 40, "applies under 30% faults never finished the work"
                planned, _report = apply_now(repo.dir, store, provider, clock)
                sends = sum(a.type == "send" for a in planned.plan.actions)
                if sends == 0 and not store.in_flight():
                    break
        assert emulator.wait_idle(10)
        answered = len(emulator.requests("create")) + len(emulator.requests("list"))
        counts = script.settle(emulator)
        result = audit(emulator.messages(), repo.state, phones(count), initial_credits=credits)
    assert result.ok, result.report()
    # every kind of fault was met, and what each one is known to cause was logged
    assert set(counts) == set(CREATE_FAULTS) | set(LIST_FAULTS), counts
    assert 0.2 < sum(counts.values()) / answered < 0.4, (counts, answered)  # about 30%
    backoffs = [line for line in logs if re.search(r"retry \d+ of \d+ in \d+\.\d\ds$", line)]
    assert backoffs, "no backoff in the logs"
    assert any("but the message exists" in line for line in logs)
    assert any("Twilio has no such message: safe to send again" in line for line in logs)
    assert any("lookup failed" in line for line in logs)


def test_backoff_is_visible_in_the_controller_log(tmp_path: Path) -> None:
    count = 12
    repo = campaign_repo(tmp_path, count, 3 * count)
    with emulator_at_noon() as emulator:
        script = Script()
        # each number's faults in a row (its sends are the ones retried, in whatever order
        # the concurrent sends reach the provider)
        first, second = phones(count)[:2]
        throttled = [Fault(code=20429, to=first), Fault(code=20429, to=first)]
        script.add(emulator, "429", *throttled)
        script.add(
            emulator,
            "500 before create",
            Fault(status=503, to=second),
            Fault(status=503, to=second),
        )
        code, _out, output = run(repo, ["reconcile", "--once"], twilio_env(emulator), "once.log")
        assert code == 0, output
        assert emulator.wait_idle(10)
        assert script.settle(emulator) == {"429": 2, "500 before create": 2}
        result = audit(emulator.messages(), repo.state, phones(count), initial_credits=3 * count)
    assert result.ok, result.report()
    assert re.search(r"throttled .*20429.*; retry 1 of 4 in \d+\.\d\ds", output), output
    assert re.search(r"retry 2 of 4 in \d+\.\d\ds", output), output
    assert "server error" in output and "safe to send again" in output, output
