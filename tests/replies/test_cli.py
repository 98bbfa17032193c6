"""`campaignctl replies`, and the replies in `explain` and `status`, through the real CLI on
a real state file; `replies.forwardUrl` in the settings."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignctl.render.replies import replies_csv
from campaignctl.store import Store
from campaignctl.store.inbound import InboundEvent
from campaignctl.store.replies import Reply
from tests.cli.repo import Repo
from tests.store.helpers import SENDER, T0, active_campaign, cli, contact, later, phone, run

LONG = "I would love to see the house on Elm street, " * 4 + "call me\nafter five"
MESSAGES = [  # sid, number, kind, body, minutes after T0
    ("SMa", 1, "reply", "Sounds good", 10),
    ("SMb", 2, "opt_out", "STOP", 20),
    ("SMc", 3, "reply", LONG, 30),
    ("SMd", 9, "help", '=HYPERLINK("http://x")', 60 * 24),  # a day later, no campaign
]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    state = tmp_path / "state.db"
    with Store.open(state) as store:
        active_campaign(store, "spring")
        active_campaign(store, "fall", "g2")
        store.enroll_many("spring", [contact(phone(1)), contact(phone(2))], T0)
        store.enroll_many("fall", [contact(phone(3))], T0)
        for sid, n, kind, body, minutes in MESSAGES:
            keyword = {"opt_out": "STOP", "help": "HELP"}.get(kind)
            event = InboundEvent(sid, phone(n), kind, keyword, body, SENDER.key)  # type: ignore[arg-type]
            store.record_inbound(event, later(minutes=minutes))
    return state


def test_replies_lists_newest_first_one_line_each(path: Path) -> None:
    result = cli(path, "replies", now=later(2))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["TIME", "FROM", "CAMPAIGN", "STEP", "DID", "TEXT"]
    assert [line.split()[:5] for line in lines[1:5]] == [
        ["2026-03-03T15:00:00Z", phone(9), "-", "-", "help"],
        ["2026-03-02T15:30:00Z", phone(3), "fall", "-", "ended"],
        ["2026-03-02T15:20:00Z", phone(2), "spring", "-", "opted_out"],
        ["2026-03-02T15:10:00Z", phone(1), "spring", "-", "ended"],
    ]
    assert lines[2].endswith(
        "  I would love to see the house on Elm street, I would love to see the house on E…"
    )
    assert lines[3].endswith("STOP") and lines[4].endswith("Sounds good")
    assert lines[5] == "4 replies"


def test_replies_filters(path: Path) -> None:
    def sids(*args: str) -> list[str]:
        result = cli(path, "replies", "--format", "json", *args, now=later(1, hours=1))
        assert result.exit_code == 0, result.output
        return [r["message_sid"] for r in json.loads(result.output)["replies"]]

    assert sids("--campaign", "spring") == ["SMb", "SMa"]
    assert sids("--since", "2h") == ["SMd"]  # two hours before --now
    assert sids("--since", "2026-03-02T15:15:00Z", "--until", "2026-03-02T15:30:00Z") == ["SMb"]
    assert sids("--did", "ended") == ["SMc", "SMa"]
    assert sids("--limit", "1") == ["SMd"]
    none = cli(path, "replies", "--campaign", "nope")
    assert none.output.strip() == "No replies match."


def test_replies_json_and_csv_carry_every_reply_whole(path: Path) -> None:
    data = json.loads(cli(path, "replies", "--format", "json").output)
    assert data["count"] == 4
    long = next(r for r in data["replies"] if r["message_sid"] == "SMc")
    assert long["text"] == LONG and long["to"] == SENDER.key
    assert (long["from"], long["campaign"], long["did"]) == (phone(3), "fall", "ended")
    assert long["forward"] == {
        "forwarded_at": None, "attempts": 0, "last_error": None, "next_attempt_at": None,
    }  # fmt: skip
    result = cli(path, "--format", "csv", "replies")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output, newline="")))
    assert [r["message_sid"] for r in rows] == ["SMd", "SMc", "SMb", "SMa"]
    assert rows[1]["text"] == LONG and rows[1]["step"] == "" and rows[1]["campaign"] == "fall"
    assert rows[0]["text"] == '\'=HYPERLINK("http://x")'  # a spreadsheet does not run it
    assert rows[2]["keyword"] == "STOP" and rows[0]["from"] == phone(9)


@given(st.text(max_size=200))
def test_csv_gives_back_any_text(text: str) -> None:
    reply = Reply(1, T0, phone(1), SENDER.key, text, "SM1", None, None, "kept")
    (row,) = csv.DictReader(io.StringIO(replies_csv([reply]), newline=""))
    guarded = text[:1] in ("=", "+", "-", "@", "\t", "\r")
    assert row["text"] == ("'" + text if guarded else text)


def test_replies_refuses_what_it_cannot_do_in_one_line(path: Path) -> None:
    for args in (["--format", "markdown"], ["--since", "yesterday"]):
        result = run(path, "replies", *args)
        assert result.returncode == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    unknown = run(path, "replies", "--did", "maybe")
    assert unknown.returncode == 1 and "'maybe' is not one of" in unknown.stderr
    assert "Examples:" in run(path, "replies", "--help").stdout


def test_an_empty_state_has_no_replies_yet(tmp_path: Path) -> None:
    result = cli(tmp_path / "none.db", "replies")
    assert (result.exit_code, result.output.strip()) == (0, "No replies yet.")


def test_failing_forwards_are_told_under_the_list(path: Path) -> None:
    with Store.open(path) as store:
        (oldest,) = [r.id for r in store.replies() if r.message_sid == "SMa"]
        store.forward_failed(oldest, "HTTP 502 Bad Gateway", later(1), later(minutes=11))
    lines = cli(path, "replies").output.splitlines()
    assert lines[-1] == (
        "Forwarding: 4 replies wait to be forwarded (1 tried; last error: HTTP 502 Bad Gateway)"
    )


def test_explain_shows_the_numbers_replies(path: Path) -> None:
    text = cli(path, "explain", phone(2)).output
    (line,) = [line for line in text.splitlines() if " reply " in line]
    assert line.split()[:5] == ["2026-03-02T15:20:00Z", "spring", "-", "reply", "opted_out"]
    assert line.endswith('"STOP"')
    data = json.loads(cli(path, "explain", phone(3), "--format", "json").output)
    (reply,) = [e for e in data["history"] if e["kind"] == "reply"]
    assert (reply["what"], reply["detail"], reply["campaign"]) == ("ended", LONG, "fall")


def test_status_counts_replies_per_campaign(path: Path) -> None:
    lines = cli(path, "status").output.splitlines()
    assert lines[0].split()[-1] == "REPLIES"
    assert {line.split()[0]: line.split()[-1] for line in lines[1:3]} == {
        "fall": "1",
        "spring": "2",
    }
    data = json.loads(cli(path, "status", "--format", "json").output)
    assert {c["name"]: c["replies"] for c in data["campaigns"]} == {"fall": 1, "spring": 2}


def test_forward_url_in_the_settings_is_checked(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    settings = repo.dir / "settings.yaml"
    good = settings.read_text() + "  replies:\n    forwardUrl: https://crm.example.com/sms\n"
    settings.write_text(good)
    assert repo.run("validate").exit_code == 0
    settings.write_text(good.replace("https://crm.example.com/sms", "crm.example.com/sms"))
    result = repo.process("validate")
    assert result.returncode == 1
    assert "settings.yaml:8:17: error: spec.replies.forwardUrl" in result.stdout
    assert "an http:// or https:// URL" in result.stdout
