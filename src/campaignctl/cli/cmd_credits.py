"""`campaignctl credits add|show`: the credit balance and its ledger."""

from __future__ import annotations

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


@credits.command("add")
@click.argument("amount", type=click.IntRange(min=1), metavar="N")
@click.option("--note", help="Why (an invoice number, a grant...); kept in the ledger.")
@global_options()
@pass_app
def credits_add(app: AppContext, amount: int, note: str | None) -> None:
    """Add N credits to the balance (a ledger entry, dated --now if given).

    \b
    Example:
      campaignctl credits add 5000 --note "invoice 2026-031"
    """
    with Store.open(app.state_path) as store:
        balance = store.add_credits(amount, note, app.clock.now())
        entries = store.ledger(limit=1)
    if app.format == "json":
        click.echo(credits_json(balance, entries))
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
