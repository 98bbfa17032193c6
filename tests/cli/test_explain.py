"""`campaignctl explain PHONE` through the real CLI on a real state file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from campaignctl.cli.cmd_explain import readable_source
from campaignctl.core.types import Action
from campaignctl.errors import Location
from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from campaignctl.store.db import to_text
from tests.store.helpers import T0, active_campaign, cli, contact, later, run, send

ANA = "+14155550100"
CSV = Location("campaigns.d/groups/contacts.csv", 12, 1)


def _state(path: Path, older: bool = False) -> None:
    """`older`: as a state written before enrollments had a source, with an enroll decision."""
    with Store.open(path) as store:
        store.add_credits(10, None, T0)
        active_campaign(store, "spring", "g1")
        enroll = Action("enroll", "spring", ANA, detail=str(CSV))
        store.record_decisions([enroll], T0)  # the enrollment row is its record
        store.enroll_many("spring", [replace(contact(ANA), source=CSV)], T0)
        if older:
            store._conn.execute("UPDATE enrollments SET source = NULL")
            store._conn.execute(
                "INSERT INTO decisions (at, last_at, campaign, phone, type, detail)"
                " VALUES (?, ?, 'spring', ?, 'enroll', 'contacts.csv:3')",
                [to_text(T0), to_text(T0), ANA],
            )
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
    assert whats == ["spring - enrolled", "spring step 1", "spring step 1", "spring step 1",
                     "- - opted", "spring step 1"]  # fmt: skip
    assert history[0].split()[1:] == [
        "spring", "-", "enrolled", "-", "from", "campaigns.d/groups/contacts.csv:12"
    ]  # fmt: skip
    assert "quiet_hours  until 2026-03-02T17:00:00Z; x2, last 2026-03-02T15:15:00Z" in out
    assert "attempt sent" in out and "via outbox, OB1" in out


def test_explain_json(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _state(path)
    document = json.loads(cli(path, "explain", "+1 415 555 0100", "--format", "json").output)
    assert document["phone"] == ANA
    assert document["opted_out"]["source"] == "sms"
    assert [e["status"] for e in document["enrollments"]] == ["ended"]
    kinds = [(h["kind"], h["what"], h["reason"]) for h in document["history"]]
    assert kinds == [
        ("enrolled", "enrolled", None),
        ("decision", "defer", "quiet_hours"),
        ("decision", "send", None),
        ("attempt", "sent", None),
        ("optout", "sms", "STOP by SMS"),
        ("ended", "ended", "opted_out"),
    ]
    assert document["history"][0]["detail"] == "campaigns.d/groups/contacts.csv:12:1"
    assert document["history"][1]["until"] == "2026-03-02T17:00:00Z"
    assert document["history"][1]["repeats"] == 2


def test_an_enroll_decision_of_an_older_state_tells_the_enrollment_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _state(path, older=True)
    out = cli(path, "explain", ANA).output
    history = out[out.index("History:") :].splitlines()[2:]
    assert history[0].split()[1:] == ["spring", "-", "enroll", "-", "contacts.csv:3"]
    assert "enrolled" not in out
    document = json.loads(cli(path, "explain", ANA, "--format", "json").output)
    assert [h["what"] for h in document["history"]].count("enroll") == 1
    assert "enrolled" not in [h["kind"] for h in document["history"]]


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("campaigns.d/groups/contacts.csv:12:1", "from campaigns.d/groups/contacts.csv:12"),
        ("campaigns.d/groups/buyers.yaml:7:9", "from campaigns.d/groups/buyers.yaml:7"),
        ("contacts.csv:12", "from contacts.csv:12"),
        ("contacts.csv", "from contacts.csv"),
    ],
)
def test_a_source_reads_as_a_file_and_line(source: str, shown: str) -> None:
    assert readable_source(source) == shown


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
