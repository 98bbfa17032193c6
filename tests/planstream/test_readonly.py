"""The streamed plan writes nothing: with the read-only role CI plans with (the README's
GRANTs), a plan that syncs a changed group of a running campaign (enrollments, numbers
that left it), enrolls a number freed for the campaign waiting for it, and streams every
action out, is the plan the owner gets, and the state is left as it was."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.repo import Repo
from tests.cli.test_readonly_role import ANA, campaignctl, contents, readonly

__all__ = ["readonly"]  # the fixture: a state with a run in it, and the read-only role

BO = "+13125550101"
DEE = "+14155550102"
EVE = "+16025550103"
FAY = "+13035550104"


def test_a_plan_that_syncs_ends_and_rejoins_reads_only(
    readonly: tuple[Repo, str, str],
) -> None:
    repo, owner, ci = readonly
    repo.group("autumn-house", [(ANA, "Ana"), (DEE, "Dee")])
    repo.campaign("autumn", group="autumn-house", sender="+15125550148")
    assert campaignctl(repo, owner, "apply").returncode == 0  # Ana waits for spring-buyers
    repo.group("open-house", [(BO, "Bo"), (EVE, "Eve")])
    assert campaignctl(repo, owner, "apply").returncode == 0  # Ana left it: free for autumn
    repo.group("open-house", [(EVE, "Eve"), (FAY, "Fay")])  # Bo leaves, Fay joins
    before = contents(owner)
    planned: dict[str, Any] = {}
    for who, url in (("owner", owner), ("ci", ci)):
        done = campaignctl(repo, url, "plan", "--format", "json", "--all-actions")
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        planned[who] = json.loads(done.stdout)
    assert planned["ci"] == planned["owner"]
    actions = [(a["type"], a["campaign"], a.get("phone")) for a in planned["ci"]["actions"]]
    assert ("enroll", "autumn", ANA) in actions  # freed, enrolled by the campaign waiting
    assert ("end", "spring-buyers", BO) in actions  # left the group
    assert ("enroll", "spring-buyers", FAY) in actions
    assert contents(owner) == before
