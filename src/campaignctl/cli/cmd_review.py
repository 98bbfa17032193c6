"""`campaignctl replies review`: the numbers held because a reply may revoke consent ("not
interested", "who is this?"), and a person's decision on each: keep or opt out, with a
reason. `review` is a command of its own, mounted under the `replies` group."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from campaignctl.cli.cmd_explain import phone_argument
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.core.instants import format_instant
from campaignctl.store import Store
from campaignctl.store.review import Decision, ReviewHold

TEXT_WIDTH = 60  # characters of a reply shown in the text list


@click.command("review")
@click.option("--keep", "keep", metavar="PHONE", help="Keep sending to PHONE (needs --reason).")
@click.option("--optout", "optout", metavar="PHONE", help="Opt PHONE out (needs --reason).")
@click.option("--reason", help="Why: kept with the decision (required with --keep/--optout).")
@click.option("--all", "show_all", is_flag=True, help="List decided holds too, with decisions.")
@global_options()
@pass_app
def review(
    app: AppContext, keep: str | None, optout: str | None, reason: str | None, show_all: bool
) -> None:
    """The numbers held for review, and a person's decision on each.

    A reply that may revoke consent ("not interested", "who is this?", "how did you get my
    number?", "no me interesa") holds its number: no campaign sends to it until someone
    decides. --keep lets campaigns send to it again (a sequence the reply itself ended, with
    stopOnReply, stays ended); --optout opts it out. A clear revocation ("please stop
    texting me") opts out at once and a wrong number ends for good: neither waits here.

    \b
    Examples:
      campaignctl replies review
      campaignctl replies review --keep +14155550100 --reason "called back, wants listings"
      campaignctl replies review --optout "(415) 555-0100" --reason "read as a revocation"
      campaignctl replies review --all --format json
    """
    if keep is not None and optout is not None:
        raise click.UsageError("give either --keep or --optout, not both")
    target = keep if keep is not None else optout
    if target is None:
        if reason is not None:
            raise click.UsageError("--reason goes with --keep PHONE or --optout PHONE")
        with Store.open_for_reading(app.state_path) as store:
            holds = store.review_holds(decided=show_all)
        click.echo(_holds_json(holds) if app.format == "json" else _holds_text(holds, show_all))
        return
    if reason is None or not reason.strip():
        raise click.UsageError("a decision needs --reason (it is kept with the decision)")
    decision: Decision = "keep" if keep is not None else "optout"
    phone = phone_argument(target)
    with Store.open(app.state_path) as store:
        hold = store.decide(phone, decision, reason, app.clock.now())
    if app.format == "json":
        click.echo(json.dumps(_hold_json(hold), indent=2, ensure_ascii=False))
    elif decision == "keep":
        click.echo(
            f"{phone}: kept ({reason}); no longer held (a sequence its reply ended stays ended)."
        )
    else:
        click.echo(f"{phone}: opted out ({reason}); its live enrollments end.")


def mount(group: click.Group) -> None:
    """Put `review` under the `replies` group."""
    group.add_command(review)


def _hold_json(hold: ReviewHold) -> dict[str, Any]:
    return {
        "phone": hold.phone,
        "since": format_instant(hold.since),
        "text": hold.text,
        "verdict": hold.verdict,
        "decided_at": None if hold.decided_at is None else format_instant(hold.decided_at),
        "decision": hold.decision,
        "reason": hold.reason,
    }


def _holds_json(holds: Sequence[ReviewHold]) -> str:
    return json.dumps({"held": [_hold_json(h) for h in holds]}, indent=2, ensure_ascii=False)


def _holds_text(holds: Sequence[ReviewHold], show_all: bool) -> str:
    if not holds:
        return "Nothing is held for review." if not show_all else "No holds, open or decided."
    lines = []
    for hold in holds:
        text = " ".join(hold.text.split())
        shown = text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 3] + "..."
        status = "held" if hold.decision is None else f"{hold.decision}: {hold.reason}"
        lines.append(f"{format_instant(hold.since)}  {hold.phone:<16} {status}")
        lines.append(f"    {shown!r}  ({hold.verdict})")
    still = sum(1 for hold in holds if hold.decision is None)
    lines.append(
        f"{still} number(s) held: nothing is sent to them until decided "
        "(--keep PHONE or --optout PHONE, with --reason)."
    )
    return "\n".join(lines)
