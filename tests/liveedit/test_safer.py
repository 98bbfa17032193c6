"""Changes that only make sending safer or slower are accepted on a live campaign and become
its record; any other change is refused naming the file, the field, the old and the new
value as YAML writes them, and what is allowed instead."""

from __future__ import annotations

from pathlib import Path

from tests.liveedit.helpers import LATER, Live, campaign, days_after_noon

SAFER = """\
    messagesPerSecond: 0.5
    dailyLimit: 100
  quietHours: {start: "09:00", end: "20:00"}
"""


def test_safer_changes_are_accepted_and_recorded(tmp_path: Path, state: str) -> None:
    live = Live.standard(tmp_path, state)
    assert live.run("credits", "add", "100").exit_code == 0
    live.json("apply")
    live.write("campaigns/spring-buyers.yaml", campaign(extra=SAFER))
    shown = live.run("plan", now=LATER)
    assert shown.exit_code == 0, shown.output
    assert (
        "Changing spring-buyers (accepted: sending only gets safer or slower): "
        "spec.sender.messagesPerSecond: 1 -> 0.5; spec.sender.dailyLimit: null -> 100; "
        'spec.quietHours.start: "08:00" -> "09:00"; spec.quietHours.end: "21:00" -> "20:00"'
    ) in shown.stdout
    plan = live.json("plan", now=LATER)
    assert plan["edits"][0]["campaign"] == "spring-buyers"
    live.json("apply", now=LATER)

    # the record is the slower one now: going back up is refused, with YAML spellings
    live.write("campaigns/spring-buyers.yaml", campaign())
    refused = live.process("plan", now=days_after_noon(1))
    assert refused.returncode == 1
    lines = refused.stderr
    assert (
        "campaign 'spring-buyers': spec.sender.dailyLimit may only be added or lowered once launched (was 100, now null)"
    ) in lines
    assert (
        "spec.sender.messagesPerSecond may only go down once launched (was 0.5, now 1)"
    ) in lines
    assert "None" not in lines and "Traceback" not in lines


def test_other_changes_are_refused_with_yaml_values(tmp_path: Path, state: str) -> None:
    live = Live.standard(tmp_path, state)
    assert live.run("credits", "add", "100").exit_code == 0
    live.json("apply")
    live.write(
        "campaigns/spring-buyers.yaml",
        campaign(sender="+15125550199", extra="  stopOnReply: false\n"),
    )
    refused = live.process("plan", now=LATER)
    assert refused.returncode == 1
    assert (
        "campaigns/spring-buyers.yaml:10:11: campaign 'spring-buyers': spec.sender.from cannot "
        'change once launched (was "+15125550147", now "+15125550199"); allowed: status, '
        "metadata.labels, metadata.description, narrower quietHours"
    ) in refused.stderr
    assert "to change it, create a new campaign" in refused.stderr
    assert (
        "spec.stopOnReply may only be turned on once launched (was true, now false)"
    ) in refused.stderr
    # validate, reading the state, refuses the same edit
    checked = live.process("validate", now=LATER)
    assert checked.returncode == 1
    assert "spec.sender.from cannot change once launched" in checked.stdout
