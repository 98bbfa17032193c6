"""`campaignctl explain PHONE` through the real CLI on a real state file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaignctl.cli.cmd_explain import readable_source
from campaignctl.core.actions import Defer, Enroll, Send, Skip
from campaignctl.errors import Location
from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from campaignctl.store.db import to_text
from tests.cli.repo import Repo
from tests.faults.system import immutable
from tests.store.helpers import T0, active_campaign, cli, contact, later, run, send

ANA = "+14155550100"
CSV = Location("campaigns.d/groups/contacts.csv", 12, 1)


def _state(path: Path, older: bool = False) -> None:
    """`older`: as a state written before enrollments had a source, with an enroll decision."""
    with Store.open(path) as store:
        store.add_credits(10, None, T0)
        active_campaign(store, "spring", "g1")
        enroll = Enroll("spring", ANA, detail=str(CSV))
        store.record_decisions([enroll], T0)  # the enrollment row is its record
        store.enroll_many("spring", [contact(ANA)._replace(source=CSV)], T0)
        if older:
            store._conn.execute("UPDATE enrollments SET source = NULL")
            store._conn.execute(
                "INSERT INTO decisions (at, last_at, campaign, phone, type, detail)"
                " VALUES (?, ?, 'spring', ?, 'enroll', 'contacts.csv:3')",
                [to_text(T0), to_text(T0), ANA],
            )
        # a defer is not kept (only why a message waits now); a repeated skip is, once
        defer = Defer("spring", ANA, 1, "quiet_hours", until=later(hours=2))
        active_campaign(store, "autumn", "g2")
        skip = Skip("autumn", ANA, "dnc", "on a do-not-call list")
        for at in (T0, later(minutes=15)):
            store.record_decisions([defer, skip], at)
        store.record_decisions([Send("spring", ANA, 1, "Hi", 1, 1)],
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
    assert whats == ["spring - enrolled", "autumn - skip", "spring step 1", "spring step 1",
                     "- - opted", "spring step 1"]  # fmt: skip
    assert history[0].split()[1:] == [
        "spring", "-", "enrolled", "-", "from", "campaigns.d/groups/contacts.csv:12"
    ]  # fmt: skip
    assert "x2, last 2026-03-02T15:15:00Z; on a do-not-call list" in out
    assert "defer" not in out and "quiet_hours" not in out
    assert "attempt sent" in out and "via outbox, OB1" in out
    assert "Now:" not in out  # no live enrollment: nothing waits


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
        ("decision", "skip", "dnc"),
        ("decision", "send", None),
        ("attempt", "sent", None),
        ("optout", "sms", "STOP by SMS"),
        ("ended", "ended", "opted_out"),
    ]
    assert document["history"][0]["detail"] == "campaigns.d/groups/contacts.csv:12:1"
    assert document["history"][1]["repeats"] == 2
    assert document["history"][1]["last_at"] == "2026-03-02T15:15:00Z"
    assert document["now"] == []


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


def test_an_invalid_number_never_seen_exits_1(tmp_path: Path) -> None:
    result = run(tmp_path / "state.db", "explain", "12")
    assert result.returncode == 1
    assert "'12' is not a valid phone number" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------ what waits now

NY, CHICAGO = "+12125550100", "+13125550101"  # the numbers of the standard group
NIGHT = "2026-03-02T05:00:00Z"  # midnight in New York, 23:00 in Chicago
AFTERNOON = "2026-03-02T19:00:00Z"  # 14:00 in New York
PACE = "goes out at the next apply unless the sender's pace for that tick is used up (rate_limit)"


def _enrolled(tmp_path: Path, at: str = NIGHT) -> Repo:
    """The standard repository, funded and applied once at `at`."""
    repo = Repo(tmp_path).standard()
    assert repo.run("credits", "add", "10", now=at).exit_code == 0
    applied = repo.run("apply", now=at)
    assert applied.exit_code == 0, applied.output
    return repo


def _now_lines(output: str) -> list[str]:
    """The lines of the "Now:" section (the last one), as `  now  <line>`."""
    lines = output.splitlines()
    if "Now:" not in lines:
        return []
    return ["  now  " + line.strip() for line in lines[lines.index("Now:") + 1 :]]


def test_a_number_enrolled_at_night_waits_for_quiet_hours(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    result = repo.run("explain", NY, now="2026-03-02T05:10:00Z")
    assert result.exit_code == 0, result.output
    assert _now_lines(result.output) == [
        "  now  spring-buyers  step 1 waits: quiet_hours until 2026-03-02T13:00:00Z (08:00 local)"
    ]
    assert result.output.index("History:") < result.output.index("Now:")
    document = repo.json("explain", CHICAGO, now="2026-03-02T05:10:00Z")
    [wait] = document["now"]
    assert (wait["campaign"], wait["step"], wait["what"], wait["reason"], wait["until"]) == (
        "spring-buyers", 1, "defer", "quiet_hours", "2026-03-02T14:00:00Z"
    )  # fmt: skip
    assert wait["local"] == {"America/Chicago": "08:00"}
    assert wait["text"] == "step 1 waits: quiet_hours until 2026-03-02T14:00:00Z (08:00 local)"
    # the wait is why the message waits now, not history: the state kept no defer
    assert [h["what"] for h in document["history"]] == ["enrolled"]


def test_a_due_number_in_the_afternoon_goes_out_at_the_next_apply(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    result = repo.run("explain", NY, now=AFTERNOON)
    assert result.exit_code == 0, result.output
    assert _now_lines(result.output) == [
        f"  now  spring-buyers  step 1 is due now: {PACE}; 1 credit:"
        ' "Hi Ana, it\'s Sam at Acme Realty. Still looking in Austin? R…"'
    ]
    [wait] = repo.json("explain", NY, now=AFTERNOON)["now"]
    [send] = [a for a in repo.json("plan", now=AFTERNOON)["actions"]
              if a["type"] == "send" and a["phone"] == NY]  # fmt: skip
    assert (wait["what"], wait["step"], wait["body"], wait["segments"], wait["credits"]) == (
        "send", 1, send["body"], send["segments"], send["credits"]
    )  # fmt: skip


def test_a_number_sent_step_1_waits_for_step_2(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path, at=AFTERNOON)
    result = repo.run("explain", NY, now="2026-03-03T19:00:00Z")
    assert result.exit_code == 0, result.output
    assert _now_lines(result.output) == [
        "  now  spring-buyers  step 2 is due at 2026-04-01T19:00:00Z"
        " (30 days after step 1 was sent)"
    ]
    [wait] = repo.json("explain", NY, now="2026-04-01T19:00:00Z")["now"]
    assert (wait["what"], wait["step"], wait["body"]) == (
        "send", 2, "Hi Ana, new listings this month."
    )  # fmt: skip


def test_a_number_on_a_do_not_call_list_shows_the_skip(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    repo.dnc([NY])
    result = repo.run("explain", NY, now=AFTERNOON)
    assert result.exit_code == 0, result.output
    assert _now_lines(result.output) == [
        "  now  spring-buyers  step 1 is skipped: dnc (on the do-not-call list 'house');"
        " the next apply ends this enrollment"
    ]
    assert repo.run("apply", now=AFTERNOON).exit_code == 0
    after = repo.run("explain", NY, now=AFTERNOON).output
    assert "spring-buyers: ended (dnc)" in after and _now_lines(after) == []


def test_a_broken_configuration_cannot_tell_and_exits_0(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    repo.write("campaigns/broken.yaml", "kind: [\n")
    result = repo.process("explain", NY, "--now", AFTERNOON)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [line] = _now_lines(result.stdout)
    assert line.startswith(
        "  now  spring-buyers  step 1: cannot tell: the configuration could not be read: "
    )
    assert "broken.yaml" in line
    [wait] = repo.json("explain", NY, now=AFTERNOON)["now"]
    assert wait["what"] == "unknown" and wait["detail"].startswith("cannot tell: ")


def test_a_missing_configuration_directory_cannot_tell(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    repo.dir.rename(tmp_path / "moved")
    result = repo.run("explain", NY, now=AFTERNOON)
    assert result.exit_code == 0, result.output
    assert "History:" in result.output
    [line] = _now_lines(result.output)
    assert "cannot tell: the configuration could not be read" in line
    assert "config directory not found" in line


def test_a_read_only_state_is_explained_and_left_as_it_was(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    before = repo.state.read_bytes()
    with immutable(repo.state):
        result = repo.process("explain", NY, "--now", AFTERNOON)
    assert result.returncode == 0, result.stderr
    assert _now_lines(result.stdout) == [
        f"  now  spring-buyers  step 1 is due now: {PACE}; 1 credit:"
        ' "Hi Ana, it\'s Sam at Acme Realty. Still looking in Austin? R…"'
    ]
    assert repo.state.read_bytes() == before
