"""A live campaign switches to a copied template: `plan` shows the switch (the wording's
diff, step by step, and how many enrollments move), `apply` records it, the live
enrollments go on at their next step with the new wording and wait the longer gaps, and the
next switch is compared with the template the campaign runs with now."""

from __future__ import annotations

from pathlib import Path

from tests.liveedit.helpers import (
    ANA,
    BO,
    FIRST,
    FIXED,
    LATER,
    SECOND,
    THIRD,
    Live,
    campaign,
    days_after_noon,
    template,
)

V2 = "templates/buyer-followup-v2.yaml"


def launched(tmp_path: Path, state: str) -> Live:
    live = Live.standard(tmp_path, state)
    assert live.run("credits", "add", "100").exit_code == 0
    applied = live.json("apply")
    assert [s[1:3] for s in live.sends(applied)] == [(ANA, 1), (BO, 1)]
    return live


def test_switch_is_planned_applied_and_becomes_the_record(tmp_path: Path, state: str) -> None:
    live = launched(tmp_path, state)
    copied = live.run("template", "copy", "buyer-followup", "buyer-followup-v2")
    assert copied.exit_code == 0, copied.output
    assert "Next:" in copied.stdout and "campaignctl plan" in copied.stdout
    assert "point campaign spring-buyers at it: `template: buyer-followup-v2`" in copied.stdout
    # the fixed wording, a longer wait before step 2, and a third step
    live.write(V2, template("buyer-followup-v2", [(0, FIRST), (45, FIXED), (30, THIRD)]))
    live.write("campaigns/spring-buyers.yaml", campaign(template_name="buyer-followup-v2"))

    shown = live.run("plan", now=LATER)
    assert shown.exit_code == 0, shown.output
    assert (
        "Switching spring-buyers: template buyer-followup -> buyer-followup-v2 (2 -> 3 steps); "
        "2 live enrollments continue at their next step with the new wording"
    ) in shown.stdout
    assert "  step 1: unchanged" in shown.stdout
    assert "  step 2: waitDays 30 -> 45" in shown.stdout
    assert f"    -{SECOND}" in shown.stdout and f"    +{FIXED}" in shown.stdout
    assert "  step 3: added, at least 30 days after step 2" in shown.stdout
    plan = live.json("plan", now=LATER)
    (switch,) = plan["template_switches"]
    assert (switch["campaign"], switch["from"], switch["to"], switch["enrollments"]) == (
        "spring-buyers",
        "buyer-followup",
        "buyer-followup-v2",
        2,
    )
    assert [s["changed"] for s in switch["steps"]] == [False, True, True]
    assert live.json("validate")["valid"] is True  # validate reads the state: accepted

    live.json("apply", now=LATER)
    # the old gap (30 days) has passed, the new one (45) has not: nothing is due
    assert live.sends(live.json("plan", now=days_after_noon(31))) == []
    due = live.json("apply", now=days_after_noon(46))
    assert live.sends(due) == [
        ("spring-buyers", ANA, 2, FIXED.replace("{{ first_name | default('there') }}", "Ana")),
        ("spring-buyers", BO, 2, FIXED.replace("{{ first_name | default('there') }}", "Bo")),
    ]

    # the record is now v2: it is immutable, and going back would drop step 3
    live.write("campaigns/spring-buyers.yaml", campaign(template_name="buyer-followup"))
    back = live.process("plan", now=days_after_noon(46))
    assert back.returncode == 1
    assert (
        "campaign 'spring-buyers': spec.template cannot switch from \"buyer-followup-v2\" to "
        '"buyer-followup": it has 2 steps and would drop step 3'
    ) in back.stderr
    assert "campaigns/spring-buyers.yaml:6:" in back.stderr and "Traceback" not in back.stderr


def test_switch_that_drops_a_step_is_refused_by_plan_and_validate(
    tmp_path: Path, state: str
) -> None:
    live = launched(tmp_path, state)
    live.write(V2, template("buyer-followup-v2", [(0, FIRST)]))
    live.write("campaigns/spring-buyers.yaml", campaign(template_name="buyer-followup-v2"))
    dropped = live.process("plan", now=LATER)
    assert dropped.returncode == 1
    assert "it has 1 step and would drop step 2; 2 live enrollments may still wait" in (
        dropped.stderr
    )
    assert "each waitDays no shorter than the old one's" in dropped.stderr
    # validate finds the same with the state, at the campaign's template line
    checked = live.process("validate", now=LATER)
    assert checked.returncode == 1
    assert "campaigns/spring-buyers.yaml:6:13: error: campaign 'spring-buyers'" in checked.stdout
    # a draft copy cannot back a live campaign
    live.write(V2, template("buyer-followup-v2", [(0, FIRST), (30, FIXED)], status="draft"))
    draft = live.process("plan", now=LATER)
    assert draft.returncode == 1 and "'buyer-followup-v2' is a draft" in draft.stderr


def test_switch_that_shortens_a_gap_is_refused(tmp_path: Path, state: str) -> None:
    live = Live.standard(tmp_path, state)
    live.write(
        "templates/buyer-followup.yaml", template("buyer-followup", [(0, FIRST), (60, SECOND)])
    )
    assert live.run("credits", "add", "100").exit_code == 0
    live.json("apply")
    live.write(V2, template("buyer-followup-v2", [(0, FIRST), (30, FIXED)]))
    live.write("campaigns/spring-buyers.yaml", campaign(template_name="buyer-followup-v2"))
    refused = live.process("plan", now=LATER)
    assert refused.returncode == 1
    assert (
        "step 2 would wait 30 days instead of 60, a shorter gap than the enrollments were promised"
    ) in refused.stderr
