"""Consent and sendWithin through the real CLI on real files and a real state: validate
and plan name the file and line, apply keeps the consent, `consent export` and `explain`
show it, and a step held past its sendWithin is passed over and explained."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from campaignctl.core.instants import parse_instant
from campaignctl.core.keywords import classify
from campaignctl.store import Store
from campaignctl.store.inbound import InboundEvent
from tests.cli.repo import SETTINGS, Repo

ANA, BO, CY = "+12125550100", "+13125550101", "+14155550102"
CSV = (
    "phone,first_name,consentSource,consentAt\n"
    f"{ANA},Ana,open-house sign-in sheet,2026-03-01\n"
    f"{BO},Bo,web form /buy,2026-03-01T09:30:00-05:00\n"
    f"{CY},Cy,,\n"
)
REQUIRE = SETTINGS + "  requireConsent: true\n"
NIGHT = "2026-03-02T05:00:00Z"  # midnight in New York: nothing goes out before 08:00
DAY = "2026-03-02T17:00:00Z"


def _repo(tmp_path: Path, contacts: str = CSV, settings: str = SETTINGS) -> Repo:
    repo = Repo(tmp_path).standard()
    repo.write("groups/open-house.csv", contacts)
    repo.write("settings.yaml", settings)
    return repo


def test_a_consent_at_that_is_not_an_instant_is_an_error_at_its_line(tmp_path: Path) -> None:
    repo = _repo(tmp_path, CSV.replace("2026-03-01T09:30:00-05:00", "last Tuesday"))
    result = repo.run("validate")
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if "consentAt" in x)
    assert "open-house.csv:3:1: error: consentAt 'last Tuesday' is not an instant" in line
    inline = (
        "apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata:\n  name: open-house\n"
        "spec:\n  contacts:\n    - phones: ['+12125550100']\n"
        "      fields: {first_name: Ana, consentSource: call, consentAt: '2026-13-01'}\n"
    )
    repo.write("groups/open-house.yaml", inline)
    result = repo.run("validate")
    assert result.exit_code == 1
    assert "open-house.yaml:8:" in result.output and "consentAt '2026-13-01'" in result.output


def test_require_consent_skips_contacts_without_it_in_validate_and_plan(tmp_path: Path) -> None:
    repo = _repo(tmp_path, settings=REQUIRE)
    result = repo.run("validate")
    assert result.exit_code == 0, result.output
    [warning] = [x for x in result.output.splitlines() if "no_consent" in x]
    assert "open-house.csv:4:1: warning: contact +14155550102 has no consentSource and " in warning
    plan = repo.json("plan", now=DAY)
    skips = [a for a in plan["actions"] if a["type"] == "skip"]
    assert [(a["phone"], a["reason"]) for a in skips] == [(CY, "no_consent")]
    assert "open-house.csv:4" in skips[0]["detail"]
    assert sorted(a["phone"] for a in plan["actions"] if a["type"] == "enroll") == [ANA, BO]


def test_consent_is_kept_exported_and_explained(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert repo.run("apply", now=NIGHT).exit_code == 0
    out = repo.run("consent", "export", now=NIGHT)
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert [(r["phone"], r["consentSource"], r["consentAt"]) for r in rows] == [
        (ANA, "open-house sign-in sheet", "2026-03-01T00:00:00Z"),  # a date: its start, UTC
        (BO, "web form /buy", "2026-03-01T14:30:00Z"),
        (CY, "", ""),
    ]
    assert rows[0]["source"].endswith("open-house.csv:2:1")
    missing = json.loads(repo.run("consent", "export", "--missing", "--format", "json").output)
    assert [r["phone"] for r in missing["consent"]] == [CY]
    explained = repo.run("explain", ANA, now=NIGHT).output
    assert "Consent:\n  spring-buyers  open-house sign-in sheet, 2026-03-01T00:00:00Z" in explained
    assert "no consent record" in repo.run("explain", CY, now=NIGHT).output
    assert "campaignctl consent export" in repo.run("consent", "export", "--help").output


def test_explain_shows_a_number_held_for_review(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert repo.run("apply", now=NIGHT).exit_code == 0
    with Store.open(repo.state) as store:
        meaning = classify("who is this?")
        event = InboundEvent("SM1", BO, meaning.kind, None, "who is this?")
        store.record_inbound(event, parse_instant(NIGHT))
    text = repo.run("explain", BO, now=DAY).output
    assert text.splitlines()[1].startswith(
        'HELD FOR REVIEW since 2026-03-02T05:00:00Z: reply "who is this?" may revoke consent'
    )
    held = repo.json("explain", BO, now=DAY)["held_for_review"]
    assert (held["since"], held["text"]) == ("2026-03-02T05:00:00Z", "who is this?")
    assert repo.json("explain", ANA, now=DAY)["held_for_review"] is None


def test_a_step_held_past_its_send_within_is_passed_over_and_explained(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    template = repo.dir / "templates/buyer-followup.yaml"
    text = template.read_text().replace("    - body:", "    - sendWithin: 7d\n      body:")
    template.write_text(text)
    assert repo.run("validate").exit_code == 0
    assert repo.run("apply", now=NIGHT).exit_code == 0
    repo.campaign(status="paused")
    assert repo.run("apply", now="2026-03-02T06:00:00Z").exit_code == 0
    repo.campaign(status="active")
    plan = repo.json("plan", now="2026-04-11T15:00:00Z")  # 40 days later
    skips = {a["phone"]: a for a in plan["actions"] if a["type"] == "skip"}
    assert {p: a["reason"] for p, a in skips.items()} == dict.fromkeys((ANA, BO, CY), "expired")
    assert skips[ANA]["expired_at"] == "2026-03-09T13:00:00Z"
    assert not [a for a in plan["actions"] if a["type"] == "send"]
    saved = tmp_path / "plan.json"  # a saved plan carries when each step expired
    assert repo.run("plan", "--out", str(saved), now="2026-04-11T15:00:00Z").exit_code == 0
    assert repo.run("apply", str(saved), now="2026-04-11T15:00:00Z").exit_code == 0
    explained = repo.run("explain", ANA, now="2026-04-11T15:00:00Z").output
    assert "expired" in explained and "not sent within sendWithin 7d" in explained
    # the sequence went on from the expiry: step 2 is due 30 days after it
    assert "0 steps sent, 1 passed over (expired), next step due 2026-04-08T13:00:00Z" in explained
    template.write_text(text.replace("sendWithin: 7d", "sendWithin: 2w"))
    refused = repo.run("validate")
    assert refused.exit_code == 1 and "36h or 7d" in refused.output
