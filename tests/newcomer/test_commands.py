"""credits corrections, status of drafts, and explain as a newcomer uses it: the real CLI on
a real state."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.repo import Repo

NIGHT = "2026-03-02T08:00:00Z"  # 03:00 in New York: quiet hours everywhere in the US
NOON = "2026-03-02T17:00:00Z"


def test_a_negative_correction_needs_a_note_and_shows_in_the_ledger(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    assert repo.run("credits", "add", "500", "--note", "invoice 31").exit_code == 0
    refused = repo.run("credits", "add", "-200")
    assert refused.exit_code == 1 and "--note" in refused.stderr
    done = repo.run("credits", "add", "-200", "--note", "invoice 31 entered twice")
    assert done.exit_code == 0, done.output
    assert "balance is 300" in done.stdout
    ledger = repo.json("credits", "show")
    assert ledger["balance"] == 300
    assert ledger["ledger"][-1]["amount"] == -200
    assert ledger["ledger"][-1]["note"] == "correction: invoice 31 entered twice"
    shown = repo.run("credits", "show").stdout
    assert "-200" in shown and "correction: invoice 31 entered twice" in shown
    below = repo.run("credits", "add", "-301", "--note", "too much")
    assert below.exit_code == 1 and "below zero" in below.stderr
    assert repo.run("credits", "add", "0").exit_code == 1


def test_status_shows_draft_campaigns_and_finds_them_by_status(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    repo.template("seller")
    repo.group("sellers", rows=[("+13125550111", "Cy")])
    repo.campaign("fall-sellers", status="draft", template="seller", group="sellers")
    repo.run("credits", "add", "50")
    assert repo.run("apply", now=NOON).exit_code == 0
    text = repo.run("status").stdout
    assert "fall-sellers" in text and "draft" in text and "spring-buyers" in text
    drafts = repo.json("status", "--status", "draft")
    assert [c["name"] for c in drafts["campaigns"]] == ["fall-sellers"]
    assert drafts["campaigns"][0]["status"] == "draft"
    active = repo.json("status", "--status", "active")
    assert [c["name"] for c in active["campaigns"]] == ["spring-buyers"]


def test_explain_takes_an_invalid_number_as_written_and_shows_its_skip(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    repo.group(rows=[("+12125550100", "Ana"), ("555-0199", "Bad")])
    repo.run("credits", "add", "50")
    assert repo.run("apply", now=NOON).exit_code == 0
    shown = repo.run("explain", "555-0199", now=NOON)
    assert shown.exit_code == 0, shown.output
    assert "invalid_phone" in shown.stdout
    data = repo.json("explain", "555-0199", now=NOON)
    assert any(ev["reason"] == "invalid_phone" for ev in data["history"])
    unknown = repo.run("explain", "555-0142", now=NOON)
    assert unknown.exit_code == 1 and "not a valid phone number" in unknown.stderr


def test_explain_names_the_do_not_call_list_that_matched(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    repo.write(
        "dnc-house.yaml",
        "apiVersion: campaignctl/v1\nkind: DoNotCallList\nmetadata:\n  name: house-list\n"
        'spec:\n  numbers: ["+13125550101"]\n',
    )
    repo.run("credits", "add", "50")
    assert repo.run("apply", now=NOON).exit_code == 0
    shown = repo.run("explain", "+13125550101", now=NOON)
    assert shown.exit_code == 0, shown.output
    assert "dnc" in shown.stdout and "'house-list'" in shown.stdout
    data = repo.json("explain", "+13125550101", now=NOON)
    assert any("'house-list'" in (ev["detail"] or "") for ev in data["history"])


def test_explain_never_shows_step_0_for_an_enrollment_ended_before_its_first_message(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path).standard()
    repo.run("credits", "add", "50")
    assert repo.run("apply", now=NIGHT).exit_code == 0  # enrolled, deferred by quiet hours
    repo.group(rows=[("+12125550100", "Ana")])  # Bo leaves the group before any message
    assert repo.run("apply", now=NIGHT).exit_code == 0
    shown = repo.run("explain", "+13125550101", now=NIGHT)
    assert shown.exit_code == 0, shown.output
    assert "removed" in shown.stdout
    assert "step 0" not in shown.stdout
    data = repo.json("explain", "+13125550101", now=NIGHT)
    assert all(ev["step"] != 0 for ev in data["history"]), json.dumps(data["history"])
