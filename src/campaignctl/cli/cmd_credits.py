"""`campaignctl credits add|show`: the credit balance and its ledger."""

from __future__ import annotations

from typing import Any

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.render.status import credits_json, credits_text
from campaignctl.store import Store


@cli.group()
@global_options()
def credits() -> None:
    """The credit balance: every message costs segments x creditsPerSegment.

    A campaign that cannot pay for its next message pauses (insufficient_credits) and
    resumes by itself once a top-up covers it.

    \b
    Examples:
      campaignctl credits add 5000 --note "invoice 2026-031"
      campaignctl credits show
    """


class CreditAmount(click.ParamType[int, Any]):
    """N: a whole number other than 0; a negative one (`-50`) corrects the balance down."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            amount = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if amount == 0:
            self.fail("0 changes nothing: give a number of credits to add (or -N to remove)")
        return amount


@credits.command(
    "add", context_settings={"ignore_unknown_options": True}
)  # so that `-50` is N, not an option
@click.argument("amount", type=CreditAmount(), metavar="N")
@click.option(
    "--note",
    help="Why (an invoice number, a grant...); kept in the ledger. Required for a "
    "negative N (a correction).",
)
@global_options()
@pass_app
def credits_add(app: AppContext, amount: int, note: str | None) -> None:
    """Add N credits to the balance (a ledger entry, dated --now if given).

    A negative N corrects the balance down (credits added by mistake, a refund owed back):
    it needs --note, shows in the ledger as `correction: NOTE`, and cannot take the balance
    below zero.

    \b
    Examples:
      campaignctl credits add 5000 --note "invoice 2026-031"
      campaignctl credits add -500 --note "invoice 2026-031 was entered twice"
    """
    if amount < 0 and not (note or "").strip():
        raise click.BadParameter(
            f"a correction ({amount}) needs --note saying why; it is kept in the ledger",
            param_hint="'N'",
        )
    with Store.open(app.state_path) as store:
        balance = store.add_credits(amount, note, app.clock.now())
        entries = store.ledger(limit=1)
    if app.format == "json":
        click.echo(credits_json(balance, entries))
    elif amount < 0:
        click.echo(f"Removed {-amount} credits ({note}); the balance is {balance}.")
    else:
        click.echo(f"Added {amount} credits; the balance is {balance}.")


@credits.command("show")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Show the last N ledger entries (0: all).",
)
@global_options()
@pass_app
def credits_show(app: AppContext, limit: int) -> None:
    """Show the balance and the ledger (top-ups, debits per message, refunds).

    \b
    Examples:
      campaignctl credits show
      campaignctl credits show --limit 0 --format json
    """
    with Store.open_for_reading(app.state_path) as store:
        balance = store.balance()
        entries = store.ledger(limit=limit or None)
        total = store.ledger_size()
    if app.format == "json":
        click.echo(credits_json(balance, entries))
    else:
        click.echo(credits_text(balance, entries, total))
