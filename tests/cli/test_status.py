"""`campaignctl status` through the real CLI on a real state file."""

from __future__ import annotations

import json
from pathlib import Path

from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, cli, contact, later, phone, run, send


def _state(path: Path) -> None:
    with Store.open(path) as store:
        store.add_credits(100, None, T0)
        active_campaign(store, "spring", "g1")
        active_campaign(store, "old", "g2")
        store.enroll_many("spring", [contact(phone(i)) for i in range(4)], T0)
        store.enroll_many("old", [contact(phone(9))], T0)
        for i in range(2):
            attempt_id = send(store, "spring", phone(i), 1, later(minutes=1), credits=2)
            store.record_outcome(attempt_id, Outcome("sent"), later(minutes=1), 30)
        send(store, "spring", phone(2), 1, later(minutes=2), credits=2)  # in flight
        store.end_enrollment("spring", phone(3), "dnc", later(1))
        store.end_live_enrollments(phone(9), "replied", later(1))
        store.set_campaign_status("old", "completed", "all enrollments ended", later(1))
        store.set_campaign_status("spring", "paused", "insufficient_credits", later(1))


def test_status_table_hides_completed_by_default(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _state(path)
    result = cli(path, "status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["CAMPAIGN", "STATUS", "REASON", "ENROLLED", "LIVE", "DONE",
                                "ENDED", "SENT", "CREDITS", "REPLIES"]  # fmt: skip
    assert lines[1].split() == ["spring", "paused", "insufficient_credits", "4", "3", "0",
                                "dnc", "1", "2", "(+1", "in", "flight)", "6", "0"]  # fmt: skip
    assert "old" not in result.output
    assert "1 completed campaign hidden" in result.output
    assert "Balance: 94 credits" in result.output and "Sending: on" in result.output


def test_status_filters_and_json(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _state(path)
    every = json.loads(cli(path, "status", "--status", "all", "--format", "json").output)
    assert [c["name"] for c in every["campaigns"]] == ["old", "spring"]
    old, spring = every["campaigns"]
    assert old["status"] == "completed" and old["enrollments"]["ended"] == {"replied": 1}
    assert spring["enrollments"] == {"total": 4, "live": 3, "done": 0, "ended": {"dnc": 1}}
    assert (spring["sent"], spring["in_flight"], spring["credits"]) == (2, 1, 6)
    assert spring["template"] == "t1" and spring["prospect_group"] == "g1"
    assert every["balance"] == 94 and every["suspended"] is None
    completed = json.loads(cli(path, "status", "--status", "completed", "--format", "json").output)
    assert [c["name"] for c in completed["campaigns"]] == ["old"]
    active = json.loads(cli(path, "--format", "json", "status", "--status", "active").output)
    assert active["campaigns"] == []
    named = json.loads(cli(path, "status", "old", "--format", "json").output)
    assert [c["name"] for c in named["campaigns"]] == ["old"]


def test_status_shows_suspension(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.suspend("wrong link", T0)
    result = cli(path, "status")
    assert "No campaigns in the state yet." in result.output
    assert "Sending: SUSPENDED since 2026-03-02T15:00:00Z: wrong link" in result.output
    document = json.loads(cli(path, "status", "--format", "json").output)
    assert document["suspended"] == {"reason": "wrong link", "since": "2026-03-02T15:00:00Z"}


def test_status_without_a_state_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "none" / "state.db"
    result = run(path, "status")
    assert result.returncode == 0 and "No campaigns" in result.stdout
    assert not path.parent.exists()


def test_unknown_campaign_and_bad_filter_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _state(path)
    missing = run(path, "status", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: no campaign 'nope' in the state {path}"
    bad = run(path, "status", "--status", "running")
    assert bad.returncode == 1 and "Invalid value for '--status'" in bad.stderr


def test_a_damaged_state_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_text("definitely not sqlite\n" * 20)
    result = run(path, "status")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "not a campaignctl state database" in result.stderr
