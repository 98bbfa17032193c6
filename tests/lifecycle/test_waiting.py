"""A number skipped `already_enrolled` is enrolled by the next campaign whose group lists it
the moment it is free, with no file changed; `explain` shows the wait; a campaign with
`completeWhen: allEnded` never completes while a number of its group waits. Through the
real CLI (`plan` whole in memory, `apply` streamed), on both backends."""

from __future__ import annotations

from pathlib import Path

from tests.cli.repo import SETTINGS
from tests.lifecycle.helpers import ANA, BO, NOON, StateRepo, at, kinds


def two_campaigns(tmp_path: Path, state: str) -> StateRepo:
    """autumn (two steps) holds Ana; winter (one step, completeWhen: allEnded) lists her
    and Bo."""
    repo = StateRepo(tmp_path, where=state)
    repo.template()
    repo.one_step()
    repo.group("first", rows=[(ANA, "Ana")])
    repo.group("second", rows=[(ANA, "Ana"), (BO, "Bo")])
    repo.campaign("autumn", group="first")
    repo.campaign("winter", template="hello", group="second", sender="+15125550148")
    path = repo.dir / "campaigns/winter.yaml"
    path.write_text(path.read_text() + "  completeWhen: allEnded\n")
    repo.write("settings.yaml", SETTINGS)
    return repo.funded()


def test_a_waiting_number_is_enrolled_the_moment_it_is_free(tmp_path: Path, state: str) -> None:
    repo = two_campaigns(tmp_path, state)
    plan = repo.apply(NOON)
    assert kinds(plan, "winter") == [
        ("campaign_status", None),
        ("enroll", BO),
        ("skip", ANA),
        ("send", BO),
    ]
    explained = repo.run("explain", ANA, now=at(minutes=15)).output
    assert "winter  step 1: waits for campaign 'autumn' to end" in explained
    # Bo's sequence is done, but Ana waits for winter: it does not complete
    assert repo.apply(at(minutes=15))["actions"] == []
    row = repo.status_row("winter")
    assert (row["status"], row["reason"]) == ("active", "idle")
    assert ("send", ANA) in kinds(repo.apply(at(30)), "autumn")  # her last step: free
    planned = repo.json("plan", now=at(30, 15))
    assert kinds(planned, "winter") == [("enroll", ANA), ("defer", ANA)]
    applied = repo.apply(at(30, 15))
    assert kinds(applied, "winter") == [("enroll", ANA), ("defer", ANA)]
    (defer,) = [a for a in applied["actions"] if a["type"] == "defer"]
    assert (defer["reason"], defer["until"]) == ("recent_outreach", at(60))
    assert ("send", ANA) in kinds(repo.apply(at(60)), "winter")
    assert kinds(repo.apply(at(60, 15))) == [("complete", None)]
