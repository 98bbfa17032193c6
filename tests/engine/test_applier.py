"""The executor against a real state file: what changes between plan and send is honoured,
and the report says what was really sent."""

from __future__ import annotations

from pathlib import Path

from campaignctl.app.executor import ApplyOptions, Executor
from campaignctl.app.plan import Planned, make_plan
from campaignctl.clock import FrozenClock
from campaignctl.core.instants import parse_instant
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.cli.repo import Repo

NOON = parse_instant("2026-03-02T17:00:00Z")
ANA = "+12125550100"


def carry_out(store: Store, planned: Planned) -> Executor:
    """The executor carries out a plan made earlier, whatever changed in the state since."""
    executor = Executor(
        store,
        OutboxProvider(store),
        planned.desired,
        planned.snapshot,
        FrozenClock(NOON),
        ApplyOptions(),
    )
    executor.carry_out(planned.plan.actions)
    return executor


def test_stop_arriving_between_plan_and_send_blocks_that_send(tmp_path: Path, state: str) -> None:
    repo = Repo(tmp_path).standard()
    with Store.open(state) as store:
        store.add_credits(10, None, NOON)
        planned = make_plan(repo.dir, store, NOON)
        assert [a.phone for a in planned.plan.actions if a.type == "send"] == [
            "+12125550100",
            "+13125550101",
        ]
        # the webhook records a STOP from Ana after the plan was made
        store.add_optout("+12125550100", "sms", "STOP", NOON)
        executor = carry_out(store, planned)
        report = executor.report
        assert report.outcomes == {"blocked_opted_out": 1, "sent": 1}
        # what was done is what is reported: one send, and Ana's step held by her opt-out
        done = [(a.type, a.phone, a.reason) for a in executor.done.listed if a.phone]
        assert ("send", "+13125550101", None) in done
        assert ("defer", "+12125550100", "opted_out") in done
        assert not [a for a in executor.done.listed if a.type == "send" and a.phone == ANA]
        assert (report.sent, report.debited) == (1, 1)
        assert [m.to for m in store.outbox()] == ["+13125550101"]
        assert store.balance() == 9


def test_suspend_between_plan_and_send_blocks_every_send(tmp_path: Path, state: str) -> None:
    repo = Repo(tmp_path).standard()
    with Store.open(state) as store:
        store.add_credits(10, None, NOON)
        planned = make_plan(repo.dir, store, NOON)
        store.suspend("carrier incident", NOON)
        executor = carry_out(store, planned)
        report = executor.report
        assert report.outcomes == {"blocked_suspended": 2}
        assert store.outbox() == []
        assert store.balance() == 10
