"""One bad file holds one campaign: a broken template, group or CSV row holds only the
campaigns that depend on it (observed `config_error` with file:line in `status` and in the
tick log), while the others go on sending through `reconcile --once` and `apply`; a broken
DoNotCallList holds every campaign."""

from __future__ import annotations

from pathlib import Path

from tests.liveedit.helpers import ANA, BO, LATER, Live, campaign, days_after_noon, template

CARL, DAN = "+14155550102", "+12125550103"
BROKEN = "Hi {{ first_name , it's Sam at Acme Realty. Reply STOP to opt out."
FINE = "Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out."


def two_campaigns(tmp_path: Path, state: str, seller_body: str) -> Live:
    live = Live.standard(tmp_path, state)
    live.write("templates/seller-nurture.yaml", template("seller-nurture", [(0, seller_body)]))
    live.repo.group("expired", [(CARL, "Carl")])
    live.write(
        "campaigns/fall-sellers.yaml",
        campaign("fall-sellers", "seller-nurture", "expired", sender="+15125550148"),
    )
    assert live.run("credits", "add", "100").exit_code == 0
    return live


def status_of(live: Live, name: str, now: str) -> dict[str, object]:
    rows = live.json("status", now=now)["campaigns"]
    (row,) = [r for r in rows if r["name"] == name]
    return dict(row)


def test_broken_template_holds_only_its_campaign(tmp_path: Path, state: str) -> None:
    live = two_campaigns(tmp_path, state, BROKEN)
    assert live.process("validate").returncode == 1  # CI still fails on the broken file

    planned = live.process("plan")
    assert planned.returncode == 1
    assert "templates/seller-nurture.yaml:8:" in planned.stderr
    assert "holds campaign 'fall-sellers'" in planned.stderr
    assert "spring-buyers" in planned.stdout and "send 2" in planned.stdout
    assert "held (config_error)" in planned.stdout

    ticked = live.process("reconcile", "--once")
    assert ticked.returncode == 1, ticked.stderr  # the others applied; a campaign is held
    assert "fall-sellers: held (config_error: " in ticked.stderr
    assert "seller-nurture.yaml:8:" in ticked.stderr
    outbox = live.json("outbox")
    assert sorted(m["to"] for m in outbox["messages"]) == [ANA, BO]

    held = status_of(live, "fall-sellers", NOW_AFTER)
    assert held["reason"] == "config_error"
    assert "seller-nurture.yaml:8:" in str(held["config_error"])
    text = live.run("status", now=NOW_AFTER).stdout
    assert "fall-sellers is held, sending nothing until the file is fixed:" in text

    # a contact added to the good campaign's group is enrolled and sent to by `apply`
    live.repo.group(rows=[(ANA, "Ana"), (BO, "Bo"), (DAN, "Dan")])
    applied = live.process("apply", "--format", "json", now=LATER)
    assert applied.returncode == 1  # a campaign is held: said on stderr, and exit 1
    assert "holds campaign 'fall-sellers'" in applied.stderr
    assert '"phone": "+12125550103"' in applied.stdout

    # fixed: the campaign launches, and nothing holds it any more
    live.write("templates/seller-nurture.yaml", template("seller-nurture", [(0, FINE)]))
    fixed = live.json("apply", now=days_after_noon(1))
    assert [s[:2] for s in live.sends(fixed)] == [("fall-sellers", CARL)]
    # its one-step sequence went out: it stays active, idle, and nothing holds it
    assert status_of(live, "fall-sellers", days_after_noon(1))["reason"] == "idle"


NOW_AFTER = "2026-03-02T17:05:00Z"


def test_broken_csv_row_holds_its_campaign_in_a_streamed_apply(tmp_path: Path, state: str) -> None:
    live = two_campaigns(tmp_path, state, FINE)
    csv = live.repo.dir / "groups/expired.csv"
    csv.write_text(csv.read_text() + "+14155550109,Eve,Austin,surplus\n", encoding="utf-8")
    applied = live.process("apply", "--format", "json")
    assert applied.returncode == 1
    assert "groups/expired.csv:3:" in applied.stderr
    assert "holds campaign 'fall-sellers'" in applied.stderr
    assert '"phone": "+12125550100"' in applied.stdout and CARL not in applied.stdout
    assert status_of(live, "fall-sellers", LATER)["reason"] == "config_error"
    assert status_of(live, "spring-buyers", LATER)["reason"] is None


def test_broken_do_not_call_list_holds_every_campaign(tmp_path: Path, state: str) -> None:
    live = two_campaigns(tmp_path, state, FINE)
    live.write(
        "dnc.yaml",
        "apiVersion: campaignctl/v1\nkind: DoNotCallList\nmetadata:\n  name: house\n"
        'spec:\n  numbers: ["not a number"]\n',
    )
    applied = live.process("apply", "--format", "json")
    assert applied.returncode == 1
    assert "holds campaigns 'fall-sellers', 'spring-buyers'" in applied.stderr
    assert '"type": "send"' not in applied.stdout
    for name in ("fall-sellers", "spring-buyers"):
        assert "dnc.yaml:6:" in str(status_of(live, name, LATER)["config_error"])
