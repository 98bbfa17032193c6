"""plan and apply through the real CLI against a real SQLite file, one rule or transition per
test, asserting the plan JSON of SPEC section 4."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.repo import Repo

NOON = "2026-03-02T17:00:00Z"  # 12:00 in New York, 11:00 in Chicago
LATER = "2026-03-02T17:15:00Z"
ANA, BO = "+12125550100", "+13125550101"


def actions(plan: dict, kind: str | None = None) -> list[dict]:  # type: ignore[type-arg]
    return [a for a in plan["actions"] if kind is None or a["type"] == kind]


def funded(tmp_path: Path, credits: int = 100, **campaign: object) -> Repo:
    repo = Repo(tmp_path).standard(**campaign)
    assert repo.run("credits", "add", str(credits), now=NOON).exit_code == 0
    return repo


def test_launch_plan_json_is_exactly_the_contract(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    plan = repo.json("plan", now=NOON)
    assert plan["format_version"] == 1
    assert plan["now"] == NOON and plan["expires_at"] == LATER
    assert plan["config_digest"].startswith("sha256:") and plan["state_serial"] == 1
    assert actions(plan, "campaign_status") == [
        {"type": "campaign_status", "campaign": "spring-buyers", "from": "draft", "to": "active"}
    ]
    assert [a["phone"] for a in actions(plan, "enroll")] == [ANA, BO]
    sends = actions(plan, "send")
    assert [(s["phone"], s["step"], s["segments"], s["credits"]) for s in sends] == [
        (ANA, 1, 1, 1),
        (BO, 1, 1, 1),
    ]
    assert sends[0]["body"] == (
        "Hi Ana, it's Sam at Acme Realty. Still looking in Austin? Reply STOP to opt out."
    )
    assert plan["summary"] == {"campaign_status": 1, "enroll": 2, "send": 2, "credits": 2}


def test_detailed_exitcode_and_apply(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    assert repo.run("plan", "--detailed-exitcode", now=NOON).exit_code == 2
    applied = repo.run("apply", now=NOON)
    assert applied.exit_code == 0, applied.output
    assert "Applied via outbox: 2 sent; 2 credits debited" in applied.output
    # nothing is due for 30 days: no changes
    result = repo.run("plan", "--detailed-exitcode", now=LATER)
    assert result.exit_code == 0, result.output
    outbox = repo.json("outbox")
    assert sorted(m["to"] for m in outbox["messages"]) == [ANA, BO]
    status = repo.json("status")
    (row,) = status["campaigns"]
    assert row["status"] == "active" and row["sent"] == 2
    assert repo.json("credits", "show")["balance"] == 98


def test_usage_error_exits_1_not_2(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    result = repo.process("plan", "--no-such-flag")
    assert result.returncode == 1
    assert "No such option" in result.stderr
    result = repo.process("plan", "--now", "yesterday")
    assert result.returncode == 1 and "ISO 8601" in result.stderr


def test_global_options_after_the_command(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    result = repo.process("plan", "--format", "json", "--now", NOON)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["now"] == NOON


def test_quiet_hours_defer_states_until(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    night = "2026-03-02T03:00:00Z"  # 22:00 New York, 21:00 Chicago
    plan = repo.json("plan", now=night)
    defers = {a["phone"]: a for a in actions(plan, "defer")}
    assert defers[ANA]["reason"] == "quiet_hours"
    assert defers[ANA]["until"] == "2026-03-02T13:00:00Z"  # 08:00 EST
    assert defers[BO]["until"] == "2026-03-02T14:00:00Z"  # 08:00 CST
    assert not actions(plan, "send")


def test_saved_plan_applies_once_and_stale_ones_are_refused(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    saved = tmp_path / "plan.json"
    assert repo.run("plan", "--out", str(saved), now=NOON).exit_code == 0
    assert repo.run("apply", str(saved), now="2026-03-02T17:05:00Z").exit_code == 0
    again = repo.process("apply", str(saved), "--now", "2026-03-02T17:06:00Z")
    assert again.returncode == 1
    assert "state changed since the plan was made" in again.stderr
    assert len(repo.json("outbox")["messages"]) == 2


def test_saved_plan_refused_when_expired_config_or_state_changed(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    saved = tmp_path / "plan.json"
    repo.run("plan", "--out", str(saved), now=NOON)
    expired = repo.process("apply", str(saved), "--now", "2026-03-02T17:20:00Z")
    assert expired.returncode == 1 and "expired at 2026-03-02T17:15:00Z" in expired.stderr
    repo.run("credits", "add", "5", now=NOON)
    stale = repo.process("apply", str(saved), "--now", NOON)
    assert stale.returncode == 1 and "state changed" in stale.stderr
    repo.run("plan", "--out", str(saved), now=NOON)
    repo.group(rows=[(ANA, "Ana"), (BO, "Bo"), ("+14155550102", "Cy")])
    edited = repo.process("apply", str(saved), "--now", NOON)
    assert edited.returncode == 1 and "configuration changed" in edited.stderr
    assert repo.json("outbox")["messages"] == []


def test_saved_plan_refused_when_the_window_closed(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.group(rows=[(ANA, "Ana")])
    saved = tmp_path / "plan.json"
    repo.run("plan", "--out", str(saved), now="2026-03-03T01:50:00Z")  # 20:50 New York
    late = repo.process("apply", str(saved), "--now", "2026-03-03T02:01:00Z")  # 21:01
    assert late.returncode == 1 and "time window changed" in late.stderr
    assert repo.json("outbox")["messages"] == []


def test_malformed_plan_file_is_one_clear_line(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    bad = tmp_path / "plan.json"
    bad.write_text("{not json", encoding="utf-8")
    result = repo.process("apply", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {bad}: not a campaignctl plan")
    assert "Traceback" not in result.stderr


def test_live_campaign_edit_names_file_field_old_and_new(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.run("apply", now=NOON)
    repo.campaign(sender="+15125550199")
    result = repo.process("plan", "--now", LATER)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[0]
    assert "campaigns/spring-buyers.yaml:" in line
    assert 'spec.sender.from cannot change once launched (was "+15125550147", now' in line
    assert "to change it, create a new campaign" in line
    # status, labels and description may change
    repo.campaign(status="paused")
    plan = repo.json("plan", now=LATER)
    assert actions(plan, "campaign_status")[0]["to"] == "paused"


def test_template_of_a_live_campaign_is_immutable(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.run("apply", now=NOON)
    path = repo.dir / "templates/buyer-followup.yaml"
    path.write_text(path.read_text().replace("new listings", "NEW listings"))
    result = repo.process("plan", "--now", LATER)
    assert result.returncode == 1
    assert "templates/buyer-followup.yaml:10:13: template" in result.stderr
    assert "spec.steps[1].body cannot change" in result.stderr
    assert "template copy buyer-followup NEW" in result.stderr


def test_dnc_and_optout(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.dnc([ANA])
    assert repo.run("optout", "add", BO, now=NOON).exit_code == 0
    plan = repo.json("plan", now=NOON)
    assert {(a["phone"], a["reason"]) for a in actions(plan, "skip")} == {
        (ANA, "dnc"),
        (BO, "opted_out"),
    }
    assert not actions(plan, "send")


def test_credits_pause_then_resume_by_itself(tmp_path: Path) -> None:
    repo = funded(tmp_path, credits=1)
    plan = repo.json("apply", now=NOON)
    assert [a["phone"] for a in actions(plan, "send")] == [ANA]
    assert actions(plan, "pause") == [
        {
            "type": "pause",
            "campaign": "spring-buyers",
            "reason": "insufficient_credits",
            "detail": "next message costs 1, balance is 0",
        }
    ]
    status = repo.json("status")["campaigns"][0]
    assert (status["status"], status["reason"]) == ("paused", "insufficient_credits")
    repo.run("credits", "add", "10", now=LATER)
    plan = repo.json("apply", now=LATER)
    assert [a["type"] for a in plan["actions"]] == ["resume", "send"]
    assert repo.json("status")["campaigns"][0]["status"] == "active"


def test_suspend_and_resume(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    assert repo.run("suspend", "--reason", "carrier incident", now=NOON).exit_code == 0
    plan = repo.json("apply", now=NOON)
    assert {a["reason"] for a in actions(plan, "defer")} == {"suspended"}
    assert repo.json("outbox")["messages"] == []
    assert repo.run("resume", now=NOON).exit_code == 0
    plan = repo.json("apply", now=LATER)
    assert len(actions(plan, "send")) == 2


def test_removed_contact_ends_and_new_contact_enrolls(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.run("apply", now=NOON)
    repo.group(rows=[(ANA, "Ana"), ("+14155550102", "Cy")])
    plan = repo.json("apply", now=LATER)
    assert actions(plan, "end") == [
        {
            "type": "end",
            "campaign": "spring-buyers",
            "phone": BO,
            "reason": "removed",
            "detail": "no longer in group 'open-house'",
        }
    ]
    assert [a["phone"] for a in actions(plan, "enroll")] == ["+14155550102"]
    assert [a["phone"] for a in actions(plan, "send")] == ["+14155550102"]


def test_pause_resume_and_complete_lifecycle(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.run("apply", now=NOON)
    repo.campaign(status="paused")
    plan = repo.json("apply", now=LATER)
    assert actions(plan, "campaign_status")[0] == {
        "type": "campaign_status",
        "campaign": "spring-buyers",
        "from": "active",
        "to": "paused",
    }
    month = "2026-04-01T17:00:00Z"
    plan = repo.json("apply", now=month)
    assert {a["reason"] for a in actions(plan, "defer")} == {"campaign_paused"}
    repo.campaign(status="active")
    plan = repo.json("apply", now=month)
    assert [a["step"] for a in actions(plan, "send")] == [2, 2]
    plan = repo.json("apply", now="2026-04-01T17:15:00Z")
    assert plan["actions"] == []  # every enrollment ended: it stays active, idle
    row = repo.json("status", "--status", "all")["campaigns"][0]
    assert (row["status"], row["reason"]) == ("active", "idle")


def test_deleted_campaign_and_empty_config_guard(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.run("apply", now=NOON)
    (repo.dir / "campaigns/spring-buyers.yaml").unlink()
    refused = repo.process("plan", "--now", LATER)
    assert refused.returncode == 1
    assert "no campaigns but the state has 1 live (spring-buyers)" in refused.stderr
    allowed = repo.json("plan", "--allow-empty", now=LATER)
    assert allowed["actions"] == []
    assert any("not in the configuration any more" in n for n in allowed["notes"])


def test_one_campaign_per_number(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.group("second-group", rows=[(ANA, "Ana")])
    repo.campaign("winter-buyers", group="second-group", sender="+15125550148")
    plan = repo.json("plan", now=NOON)
    second = [a for a in plan["actions"] if a["campaign"] == "winter-buyers" and a.get("phone")]
    assert [(a["type"], a["reason"]) for a in second] == [("skip", "already_enrolled")]


def test_explain_tells_every_decision(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    night = "2026-03-02T03:00:00Z"
    repo.run("apply", now=night)  # enrolled; step 1 waits for the morning
    waiting = repo.run("explain", "(212) 555-0100", now=night)
    assert waiting.exit_code == 0, waiting.output
    assert "step 1 waits: quiet_hours until 2026-03-02T13:00:00Z (08:00 local)" in waiting.output
    repo.run("apply", now=NOON)
    result = repo.run("explain", "(212) 555-0100", now=NOON)
    assert result.exit_code == 0, result.output
    assert "attempt sent" in result.output and "quiet_hours" not in result.output
    assert "step 2 is due at" in result.output
    assert repo.process("explain", "+19175550000").returncode == 1


def test_completed_by_hand_is_final(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.run("apply", now=NOON)
    repo.campaign(status="completed")
    plan = repo.json("apply", now=LATER)
    assert actions(plan, "campaign_status")[0]["to"] == "completed"
    repo.campaign(status="active")
    result = repo.process("plan", "--now", LATER)
    assert result.returncode == 1
    assert "campaigns/spring-buyers.yaml:" in result.stderr
    assert "was completed: that is final" in result.stderr
