"""Campaigns are not completed by themselves: an active campaign whose enrollments have all
ended stays active (observed `idle`) and enrolls the rows added to its group; only
`completeWhen: allEnded` completes it. Through the real CLI, on both backends."""

from __future__ import annotations

from pathlib import Path

from tests.cli.repo import SETTINGS
from tests.lifecycle.helpers import ANA, BO, NOON, StateRepo, at, kinds


def one_step_repo(tmp_path: Path, state: str, rows: list[tuple[str, str]]) -> StateRepo:
    repo = StateRepo(tmp_path, where=state)
    repo.one_step()
    repo.group(rows=rows)
    repo.campaign(template="hello")
    repo.write("settings.yaml", SETTINGS)
    return repo.funded()


def complete_when_all_ended(repo: StateRepo) -> None:
    path = repo.dir / "campaigns/spring-buyers.yaml"
    path.write_text(path.read_text() + "  completeWhen: allEnded\n")


def test_every_enrollment_ended_it_stays_active_and_enrolls_the_next_row(
    tmp_path: Path, state: str
) -> None:
    repo = one_step_repo(tmp_path, state, [(ANA, "Ana")])
    repo.apply(NOON)  # Ana's only step goes out: her sequence is done
    assert repo.apply(at(minutes=15))["actions"] == []
    row = repo.status_row("spring-buyers")
    assert (row["status"], row["reason"]) == ("active", "idle")
    text = repo.run("status", now=at(minutes=15)).output
    assert "spring-buyers  active  idle" in text
    repo.group(rows=[(ANA, "Ana"), (BO, "Bo")])  # a row added months later
    assert kinds(repo.apply(at(90))) == [("enroll", BO), ("send", BO)]


def test_complete_when_all_ended_completes_once_nothing_was_added_for_a_reconcile(
    tmp_path: Path, state: str
) -> None:
    repo = one_step_repo(tmp_path, state, [(ANA, "Ana")])
    complete_when_all_ended(repo)
    assert kinds(repo.apply(NOON)) == [("campaign_status", None), ("enroll", ANA), ("send", ANA)]
    assert kinds(repo.apply(at(minutes=15))) == [("complete", None)]
    row = repo.status_row("spring-buyers")
    assert (row["status"], row["reason"]) == ("completed", "completeWhen: allEnded")
    repo.group(rows=[(ANA, "Ana"), (BO, "Bo")])
    plan = repo.apply(at(1))
    assert plan["actions"] == []
    assert any("is completed (completeWhen: allEnded)" in note for note in plan["notes"])


def test_launched_on_an_empty_group_it_is_idle_and_validate_warns(
    tmp_path: Path, state: str
) -> None:
    repo = one_step_repo(tmp_path, state, [])
    checked = repo.run("validate")
    assert checked.exit_code == 0, checked.output
    assert (
        "campaigns/spring-buyers.yaml:7:18: warning: prospect group 'open-house' of campaign "
        "'spring-buyers' has no contacts: it stays active, idle, and enrolls the rows added "
        "to the group later"
    ) in checked.output
    assert kinds(repo.apply(NOON)) == [("campaign_status", None)]
    assert repo.apply(at(minutes=15))["actions"] == []
    row = repo.status_row("spring-buyers")
    assert (row["status"], row["reason"]) == ("active", "idle")
    repo.group(rows=[(ANA, "Ana")])
    assert kinds(repo.apply(at(1))) == [("enroll", ANA), ("send", ANA)]
