"""A contact removed from its group whose row comes back is enrolled again and continues at
its next step (considered from the next reconcile at the earliest), every rule applying.
Through the real CLI, on both backends."""

from __future__ import annotations

from pathlib import Path

from tests.cli.repo import SETTINGS
from tests.lifecycle.helpers import ANA, BO, NOON, StateRepo, at, kinds


def test_a_returning_row_continues_at_its_next_step(tmp_path: Path, state: str) -> None:
    repo = StateRepo(tmp_path, where=state).standard()  # two steps, 30 days apart
    repo.write("settings.yaml", SETTINGS)
    repo.funded().apply(NOON)  # step 1 to Ana and Bo
    repo.group(rows=[(BO, "Bo")])
    assert kinds(repo.apply(at(1))) == [("end", ANA)]  # removed
    repo.group(rows=[(ANA, "Ana"), (BO, "Bo")])  # her row is back
    assert kinds(repo.apply(at(2))) == [("enroll", ANA)]  # step 2 is due 30 days after step 1
    explained = repo.run("explain", ANA, now=at(2))
    assert "spring-buyers: live, 1 step sent" in explained.output
    assert "step 2 is due at 2026-04-01T17:00:00Z (30 days after step 1 was sent)" in (
        explained.output
    )
    sent = repo.apply(at(30))
    assert [(a["phone"], a["step"]) for a in sent["actions"] if a["type"] == "send"] == [
        (ANA, 2),
        (BO, 2),
    ]


def test_a_returning_row_held_by_another_campaign_waits_then_continues(
    tmp_path: Path, state: str
) -> None:
    repo = StateRepo(tmp_path, where=state)
    repo.template()
    repo.one_step()
    repo.group("open-house", rows=[(ANA, "Ana")])
    repo.group("walk-in", rows=[(BO, "Bo")])
    repo.campaign()  # spring-buyers on open-house: two steps
    repo.campaign("walk-ins", template="hello", group="walk-in", sender="+15125550148")
    repo.write("settings.yaml", SETTINGS)
    repo.funded().apply(NOON)
    repo.group("open-house", rows=[])
    assert kinds(repo.apply(at(1))) == [("end", ANA)]
    repo.group("walk-in", rows=[(BO, "Bo"), (ANA, "Ana")])  # walk-ins takes her
    assert kinds(repo.apply(at(2)), "walk-ins") == [("enroll", ANA), ("defer", ANA)]
    repo.group("open-house", rows=[(ANA, "Ana")])  # and she is back in open-house
    assert kinds(repo.apply(at(3)), "spring-buyers") == [("skip", ANA)]
    explained = repo.run("explain", ANA, now=at(3)).output
    assert "step 2: waits for campaign 'walk-ins' to end" in explained
    # walk-ins sends its only step 30 days after her last message; she is free again
    assert ("send", ANA) in kinds(repo.apply(at(31)), "walk-ins")
    assert kinds(repo.apply(at(31, 15)), "spring-buyers") == [("enroll", ANA)]
    explained = repo.run("explain", ANA, now=at(31, 15)).output
    assert "step 2 is due at 2026-04-02T17:30:00Z" in explained  # from the next reconcile
    (defer,) = repo.apply(at(31, 30))["actions"]
    assert (defer["step"], defer["reason"], defer["until"]) == (2, "recent_outreach", at(61))
