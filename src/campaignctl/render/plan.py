"""Plans for people: one summary line per campaign, a launch review for each campaign going
live, then (with --verbose) every action. The JSON form is core.planjson."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from campaignctl.core import content
from campaignctl.core.actions import until_of
from campaignctl.core.instants import format_instant
from campaignctl.core.planner import SAMPLE
from campaignctl.core.segments import count_segments
from campaignctl.core.templates import MissingField, TemplateProblem, render
from campaignctl.core.types import Action, Desired, Plan, Snapshot, Tally, TemplateSpec
from campaignctl.render.edits import relaunch_lines


def _reasons(actions: Iterable[Action], tallies: Iterable[Tally] = ()) -> str:
    counts = Counter(a.reason or "?" for a in actions)
    for tally in tallies:
        counts[tally.reason or "?"] += tally.count
    return ", ".join(f"{reason} {n}" for reason, n in counts.most_common())


def campaign_parts(actions: list[Action], tallies: Iterable[Tally] = ()) -> list[str]:
    """What one campaign does, a piece of text per kind of action (`enroll 2`, `send 2 (2
    credits)`), with the counted actions of a large apply; empty when it does nothing."""
    by_type: dict[str, list[Action]] = {}
    for action in actions:
        by_type.setdefault(action.type, []).append(action)
    counted: dict[str, list[Tally]] = {}
    for tally in tallies:
        counted.setdefault(tally.type, []).append(tally)

    def number(kind: str) -> int:
        return len(by_type.get(kind, [])) + sum(t.count for t in counted.get(kind, []))

    parts: list[str] = []
    for action in actions:
        if action.type != "campaign_status":
            continue
        launch = " (launch)" if action.from_status == "draft" else ""
        parts.append(f"{action.from_status} -> {action.to_status}{launch}")
    for kind in ("resume", "pause", "complete"):
        if kind in by_type:
            parts.append(
                kind + (f" ({by_type[kind][0].reason})" if by_type[kind][0].reason else "")
            )
    if number("enroll"):
        parts.append(f"enroll {number('enroll')}")
    if "send" in by_type:
        credits = sum(a.credits for a in actions if a.type == "send")
        parts.append(f"send {len(by_type['send'])} ({credits} credits)")
    for kind in ("defer", "skip", "end"):
        if number(kind):
            reasons = _reasons(by_type.get(kind, []), counted.get(kind, []))
            parts.append(f"{kind} {number(kind)} ({reasons})")
    return parts


def campaign_line(
    name: str, status: str, actions: list[Action], tallies: Iterable[Tally] = ()
) -> str:
    """One campaign's summary: what it does, with the counted actions of a large apply."""
    parts = campaign_parts(actions, tallies)
    return f"  {name:<24} {status:<10} " + ("; ".join(parts) if parts else "nothing to do")


def by_campaign(plan: Plan) -> tuple[dict[str, list[Action]], dict[str, list[Tally]]]:
    """The plan's listed actions and counted ones, by campaign, each in plan order."""
    actions: dict[str, list[Action]] = {}
    for action in plan.actions:
        actions.setdefault(action.campaign, []).append(action)
    tallies: dict[str, list[Tally]] = {}
    for tally in plan.tallies:
        tallies.setdefault(tally.campaign, []).append(tally)
    return actions, tallies


def tick_parts(plan: Plan) -> dict[str, list[str]]:
    """What each campaign with an action in `plan` does (see `campaign_parts`), by name in
    order: the pieces the controller's one log line a tick is made of."""
    actions, tallies = by_campaign(plan)
    return {
        name: campaign_parts(actions.get(name, []), tallies.get(name, []))
        for name in sorted(set(actions) | set(tallies))
    }


def _segments_estimate(desired: Desired, plan: Plan, campaign: str) -> list[float]:
    spec = desired.campaigns[campaign]
    template = desired.templates.get(spec.template)
    group = desired.groups.get(spec.prospect_group)
    if template is None or group is None:
        return []
    enrolled = {a.phone for a in plan.actions if a.type == "enroll" and a.campaign == campaign}
    sample = [c for c in group.contacts if c.phone in enrolled][:SAMPLE]
    estimates: list[float] = []
    for step in template.steps:
        counts = []
        for contact in sample:
            try:
                counts.append(count_segments(render(step.body, contact.fields)).segments)
            except (MissingField, TemplateProblem):
                continue
        estimates.append(sum(counts) / len(counts) if counts else 0.0)
    return estimates


def launch_review(
    desired: Desired,
    snapshot: Snapshot,
    plan: Plan,
    campaign: str,
    credits_last: str | None = None,
) -> list[str]:
    """What a campaign going live will do; `credits_last`: the forecast's line, if made."""
    spec = desired.campaigns[campaign]
    template = desired.templates.get(spec.template)
    if template is None:
        return []
    mine = [a for a in plan.actions if a.campaign == campaign]
    counted = [t for t in plan.tallies if t.campaign == campaign]
    enrolls = sum(1 for a in mine if a.type == "enroll")
    enrolls += sum(t.count for t in counted if t.type == "enroll")
    skipped = [a for a in mine if a.type == "skip"]
    skipped_counted = [t for t in counted if t.type == "skip"]
    sends = [a for a in mine if a.type == "send"]
    sender = spec.sender.from_number or spec.sender.messaging_service_sid
    lines = [
        f"Launching {campaign}: template {template.name} ({len(template.steps)} steps), "
        f"group {spec.prospect_group}, from {sender}, quiet hours "
        f"{spec.quiet_hours.start:%H:%M}-{spec.quiet_hours.end:%H:%M} local",
    ]
    estimates = _segments_estimate(desired, plan, campaign)
    for index, step in enumerate(template.steps):
        when = (
            "on enrollment" if index == 0 else f"at least {step.wait_days} days after step {index}"
        )
        segs = f", ~{estimates[index]:.1f} segments" if index < len(estimates) else ""
        preview = step.body if len(step.body) <= 60 else step.body[:57] + "..."
        lines.append(f"  step {index + 1}: {when}{segs}: {preview!r}")
    lines.append(
        f"  audience: {enrolls} enrollable"
        + (f"; skipped: {_reasons(skipped, skipped_counted)}" if skipped or skipped_counted else "")
    )
    first = sum(a.credits for a in sends if a.type == "send")
    lines.append(f"  first tick: {len(sends)} messages, {first} credits")
    whole = sum(estimates) * enrolls * desired.settings.credits_per_segment
    verdict = "covered" if whole <= snapshot.balance else "NOT covered: add credits"
    lines.append(
        f"  whole sequence: about {whole:.0f} credits against a balance of "
        f"{snapshot.balance} ({verdict})"
    )
    if credits_last is not None:
        lines.append(f"  forecast: {credits_last}")
    return lines + [f"  warning: {m}" for m in content_warnings(template, desired.settings.brand)]


def content_warnings(template: TemplateSpec, brand: str | None) -> list[str]:
    """What `validate` warns about the template's content, repeated where a launch is read."""
    branded = content.brand_finding(template.steps[0].body, brand)
    found = [branded.message] if branded else []
    for index, step in enumerate(template.steps):
        found += [f"step {index + 1} {f.message}" for f in content.body_findings(step.body)]
    return found


def action_facts(
    action: Action, body: Callable[[str], str] = repr, detail: Callable[[str], str] = str
) -> list[str]:
    """What one action's line tells after its kind, campaign, phone and step: the rule, until
    when it waits, a send's cost and body, and where it comes from (`body` and `detail` write
    the values taken from the files)."""
    bits: list[str] = []
    if action.reason:
        bits.append(action.reason)
    if (until := until_of(action)) is not None:
        bits.append(f"until {format_instant(until)}")
    if action.type == "send":
        bits.append(f"{action.segments} seg, {action.credits} cr: {body(action.body)}")
    if action.detail and action.type != "send":
        bits.append(f"({detail(action.detail)})")
    return bits


def action_line(action: Action) -> str:
    head = f"  {action.type:<15} {action.campaign:<20} {action.phone or '':<16}"
    if action.type == "campaign_status":
        return f"{head} {action.from_status} -> {action.to_status}"
    step = [f"step {action.step}"] if action.step is not None else []
    return f"{head} {' '.join([*step, *action_facts(action)])}".rstrip()


def render_plan(
    desired: Desired,
    snapshot: Snapshot,
    plan: Plan,
    *,
    verbose: bool = False,
    credits_last: str | None = None,
) -> str:
    """The text plan; `credits_last`: the forecast's `credits last until ...`, if made."""
    lines = [
        f"Plan at {format_instant(plan.now)} (state serial {plan.state_serial}, "
        f"valid until {format_instant(plan.expires_at)})",
        "",
    ]
    actions, tallies = by_campaign(plan)
    names = sorted(set(desired.campaigns) | set(actions) | set(tallies) | set(plan.held))
    for name in names:
        state = snapshot.campaigns.get(name)
        status = state.status if state else "new"
        line = campaign_line(name, status, actions.get(name, []), tallies.get(name, []))
        if name in plan.held:
            held = "held (config_error)"
            line = (
                line[: -len("nothing to do")] + held
                if line.endswith("nothing to do")
                else f"{line}; {held}"
            )
        lines.append(line)
    launches = [
        a.campaign
        for a in plan.actions
        if a.type == "campaign_status" and a.from_status == "draft" and a.to_status == "active"
    ]
    for name in launches:
        lines += ["", *launch_review(desired, snapshot, plan, name, credits_last)]
    for _, relaunch in sorted(plan.relaunches.items()):
        lines += ["", *relaunch_lines(relaunch)]
    if credits_last is not None and not launches:
        lines += ["", f"Forecast: {credits_last} (`campaignctl forecast` tells day by day)"]
    if plan.notes:
        lines += ["", "Notes:", *(f"  - {note}" for note in plan.notes)]
    if snapshot.suspended is not None:
        lines += ["", f"All sending is SUSPENDED: {snapshot.suspended} (`campaignctl resume`)"]
    summary = plan.summary()
    counted = ", ".join(f"{n} {k}" for k, n in summary.items() if k != "credits")
    after = snapshot.balance - summary.get("credits", 0)
    lines += [
        "",
        f"Summary: {counted or 'no actions'}; credits {summary.get('credits', 0)} "
        f"(balance {snapshot.balance} -> {after}).",
    ]
    unlisted = sum(t.count for t in plan.tallies)
    if verbose and plan.actions:
        lines += ["", "Actions:", *(action_line(a) for a in plan.actions)]
        if unlisted:
            lines.append(
                f"  ... and {unlisted} more enrollments, defers and skips, counted above "
                "(`campaignctl explain PHONE` tells about one number)"
            )
    elif verbose and unlisted:  # numbers waiting for their window, say: counted, not read
        lines += ["", f"{unlisted} counted above, none listed (`campaignctl explain PHONE` "
                  "tells about one number)."]  # fmt: skip
    elif unlisted and plan.actions:
        lines.append(
            f"Run with --verbose to list the first {len(plan.actions)} actions (the other "
            f"{unlisted} are counted above)."
        )
    elif plan.actions:
        lines.append("Run with --verbose to list every action.")
    return "\n".join(lines)
