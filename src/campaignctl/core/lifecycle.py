"""Campaign lifecycle: desired vs observed status, the edit lock on launched campaigns, and the
guard against an empty config. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from campaignctl.core.actions import StatusChange
from campaignctl.core.edits import EditProblem, field_location, launch_record, review_edit
from campaignctl.core.types import (
    Action,
    CampaignSpec,
    CampaignState,
    CampaignStatus,
    Desired,
    Relaunch,
    Snapshot,
)

__all__ = ["EditProblem", "edit_problems", "edit_review", "launch_record"]

LIVE_STATUSES: frozenset[str] = frozenset({"active", "paused"})
CREDIT_PAUSE = "insufficient_credits"
# the reason recorded when the controller completes a campaign (`completeWhen: allEnded`)
AUTO_COMPLETED = "completeWhen: allEnded"
# the reason an earlier version recorded when it completed every campaign whose enrollments
# had all ended: such a campaign whose file still says active is active again
OLD_RULE_COMPLETED = "all enrollments ended"
CONTROLLER_COMPLETED = frozenset({AUTO_COMPLETED, OLD_RULE_COMPLETED})
IDLE = "idle"  # the observed reason of an active campaign whose enrollments have all ended


def edit_problems(desired: Desired, snapshot: Snapshot) -> list[EditProblem]:
    """Every change to a launched campaign (or the template it runs with) that is refused."""
    return edit_review(desired, snapshot)[0]


def edit_review(
    desired: Desired, snapshot: Snapshot
) -> tuple[list[EditProblem], dict[str, Relaunch]]:
    """The changes to launched campaigns: those refused, and the accepted ones (a template
    switch, a change that only makes sending safer or slower) as the records they make."""
    problems: list[EditProblem] = []
    relaunches: dict[str, Relaunch] = {}
    for name, spec in sorted(desired.campaigns.items()):
        state = snapshot.campaigns.get(name)
        if state is None or state.status == "draft" or state.launch is None:
            continue
        if spec.status == "draft":
            problems.append(
                EditProblem(
                    field_location(spec.locations, "spec.status", spec.source),
                    f"campaign {name!r} is {state.status}: it cannot go back to draft. "
                    "Set status active, paused or completed, or create a new campaign.",
                )
            )
        elif (
            state.status == "completed"
            and spec.status != "completed"
            and not reactivated(spec, state)  # else live again: checked as such
        ):
            if state.reason not in CONTROLLER_COMPLETED:
                problems.append(
                    EditProblem(
                        field_location(spec.locations, "spec.status", spec.source),
                        f"campaign {name!r} was completed: that is final and no change to it "
                        f"is accepted (status {spec.status!r}). Create a new campaign instead.",
                    )
                )
            continue  # completed by the controller: reported as a note, not an error
        found, relaunch = review_edit(spec, state, desired.templates)
        problems.extend(found)
        if relaunch is not None:
            relaunches[name] = relaunch
    return problems, relaunches


def empty_config_problem(desired: Desired, snapshot: Snapshot) -> str | None:
    """An empty checkout must never look like "stop everything"."""
    if desired.campaigns or desired.held:
        return None
    live = sorted(n for n, c in snapshot.campaigns.items() if c.status in LIVE_STATUSES)
    if not live:
        return None
    return (
        f"the configuration has no campaigns but the state has {len(live)} live "
        f"({', '.join(live[:5])}{', ...' if len(live) > 5 else ''}); refusing to plan. "
        "Check --dir, or pass --allow-empty if every campaign was really deleted."
    )


@dataclass(frozen=True)
class Transition:
    """The status a campaign has for the rest of this plan, and the action that gets it there."""

    status: CampaignStatus
    action: Action | None
    credit_paused: bool = False  # paused by the controller for credits; may resume in this plan


def reactivated(spec: CampaignSpec, state: CampaignState) -> bool:
    """Whether a campaign completed by the earlier rule (every enrollment ended) is live
    again: its file still says active (or paused) and does not ask for `completeWhen`."""
    return (
        state.status == "completed"
        and state.reason == OLD_RULE_COMPLETED
        and spec.status in LIVE_STATUSES
        and spec.complete_when is None
    )


def transition(spec: CampaignSpec, state: CampaignState | None) -> Transition:
    observed: CampaignStatus = state.status if state else "draft"
    if state is not None and reactivated(spec, state):
        detail = "completed only because its enrollments had ended: live again"
        return Transition(spec.status, StatusChange(spec.name, observed, spec.status, detail))
    if observed == "completed":
        return Transition("completed", None)
    want = spec.status
    if (
        state is not None
        and observed == "paused"
        and state.reason == CREDIT_PAUSE
        and want == "active"
    ):
        return Transition("paused", None, credit_paused=True)
    if want == observed or (want == "draft" and observed != "draft"):
        return Transition(observed, None)
    action = StatusChange(
        spec.name, observed, want, detail="launch" if observed == "draft" else None
    )
    return Transition(want, action)


def observed_reason(status: str, reason: str | None, launched: bool, live: int) -> str | None:
    """The reason a campaign is observed with: `idle` for an active one whose enrollments
    have all ended (it enrolls the rows added to its group later)."""
    if status == "active" and reason is None and launched and live == 0:
        return IDLE
    return reason
