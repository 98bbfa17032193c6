"""How a plan shows the accepted edits of launched campaigns: a template switch step by
step (the wording's diff, each longer wait, each added step, how many enrollments move),
and the changes that only make sending safer or slower."""

from __future__ import annotations

import difflib

from campaignctl.core.types import Relaunch, Step, TemplateSwitch


def _preview(body: str) -> str:
    return repr(body if len(body) <= 60 else body[:57] + "...")


def _step_lines(index: int, old: Step | None, new: Step) -> list[str]:
    name = f"step {index + 1}"
    if old is None:
        when = f"at least {new.wait_days} days after step {index}"
        return [f"  {name}: added, {when}: {_preview(new.body)}"]
    if old == new:
        return [f"  {name}: unchanged"]
    lines = [f"  {name}:"]
    if old.wait_days != new.wait_days:
        lines[0] += f" waitDays {old.wait_days} -> {new.wait_days}"
    if old.body != new.body:
        diff = difflib.unified_diff(old.body.splitlines(), new.body.splitlines(), lineterm="", n=0)
        lines += [f"    {line}" for line in diff if not line.startswith(("---", "+++", "@@"))]
    return lines


def switch_lines(campaign: str, switch: TemplateSwitch) -> list[str]:
    """The review of one template switch."""
    moves = (
        f"{switch.enrollments} live enrollment{'s' if switch.enrollments != 1 else ''} "
        "continue at their next step with the new wording"
    )
    lines = [
        f"Switching {campaign}: template {switch.old} -> {switch.new} "
        f"({len(switch.old_steps)} -> {len(switch.new_steps)} steps); {moves}"
    ]
    for index, new in enumerate(switch.new_steps):
        old = switch.old_steps[index] if index < len(switch.old_steps) else None
        lines += _step_lines(index, old, new)
    return lines


def relaunch_lines(relaunch: Relaunch) -> list[str]:
    """What an accepted edit of a launched campaign changes, as a plan shows it."""
    lines = switch_lines(relaunch.campaign, relaunch.switch) if relaunch.switch else []
    others = [change for change in relaunch.changes if not change.startswith("spec.template:")]
    if others:
        lines.append(
            f"Changing {relaunch.campaign} (accepted: sending only gets safer or slower): "
            + "; ".join(others)
        )
    return lines
