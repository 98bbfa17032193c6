"""`campaignctl explain PHONE` through the real CLI on a real state file."""

from __future__ import annotations

import json
from pathlib import Path

from campaignctl.core.types import Action
from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, cli, contact, later, run, send

ANA = "+14155550100"


def _state(path: Path) -> None:
    with Store.open(path) as store:
        store.add_credits(10, None, T0)
        active_campaign(store, "spring", "g1")
        store.record_decisions([Action("enroll", "spring", ANA, detail="contacts.csv:3")], T0)
        store.enroll_many("spring", [contact(ANA)], T0)
        defer = Action("defer", "spring", ANA, step=1, reason="quiet_hours", until=later(hours=2))
        store.record_decisions([defer], T0)
        store.record_decisions([defer], later(minutes=15))
        store.record_decisions([Action("send", "spring", ANA, step=1, body="Hi", credits=1)],
                               later(hours=2))  # fmt: skip
        attempt_id = send(store, "spring", ANA, 1, later(hours=2))
        store.record_outcome(attempt_id, Outcome("sent", provider_id="OB1"), later(hours=2), 30)
        store.add_optout(ANA, "sms", "STOP by SMS", later(3))
        store.end_live_enrollments(ANA, "opted_out", later(3))


def test_explain_lists_every_decision_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _state(path)
    result = cli(path, "explain", "(415) 555-0100")
    assert result.exit_code == 0, result.output
    out = result.output
    assert (
        out.splitlines()[0]
        == "+14155550100: OPTED OUT since 2026-03-05T15:00:00Z (sms: STOP by SMS)"
    )
    assert "spring: ended (opted_out) 2026-03-05T15:00:00Z, 1 step sent" in out
    history = out[out.index("History:") :].splitlines()[2:]
    assert [line.split()[0] for line in history] == sorted(line.split()[0] for line in history)
    whats = [" ".join(line.split()[1:4]) for line in history]
    assert whats == ["spring - enroll", "spring step 1", "spring step 1", "spring step 1",
                     "- - opted", "spring step 1"]  # fmt: skip
    assert "quiet_hours  until 2026-03-02T17:00:00Z; x2, last 2026-03-02T15:15:00Z" in out
    assert "attempt sent" in out and "via outbox, OB1" in out
    assert "contacts.csv:3" in out


def test_explain_json(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _state(path)
    document = json.loads(cli(path, "explain", "+1 415 555 0100", "--format", "json").output)
    assert document["phone"] == ANA
    assert document["opted_out"]["source"] == "sms"
    assert [e["status"] for e in document["enrollments"]] == ["ended"]
    kinds = [(h["kind"], h["what"], h["reason"]) for h in document["history"]]
    assert kinds == [
        ("decision", "enroll", None),
        ("decision", "defer", "quiet_hours"),
        ("decision", "send", None),
        ("attempt", "sent", None),
        ("optout", "sms", "STOP by SMS"),
        ("ended", "ended", "opted_out"),
    ]
    assert document["history"][1]["until"] == "2026-03-02T17:00:00Z"
    assert document["history"][1]["repeats"] == 2


def test_an_unknown_number_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _state(path)
    result = run(path, "explain", "212 555 0199")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: +12125550199: unknown number (the state has no record of it)"
    )


def test_an_invalid_number_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path / "state.db", "explain", "12")
    assert result.returncode == 1
    assert "Invalid value for PHONE: '12'" in result.stderr and "Traceback" not in result.stderr
