"""`campaignctl optout add|remove|list`: manual opt-outs, kept in the state."""

from __future__ import annotations

import json

import click

from campaignctl.cli.cmd_explain import phone_argument
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.render.status import optout_json, optouts_json, optouts_text
from campaignctl.store import Store


@cli.group()
@global_options()
def optout() -> None:
    """Opt-outs: numbers that are never sent to, whatever the files say.

    Contacts opt out by texting STOP (or a provider reports it); these commands record one
    by hand (a phone call, an email) or lift one when the contact asks, with a reason.
    Nothing in the YAML files can lift an opt-out.

    \b
    Examples:
      campaignctl optout add "(415) 555-0100" --note "asked by phone"
      campaignctl optout remove +14155550100 --reason "texted START from a new phone"
      campaignctl optout list
    """


@optout.command("add")
@click.argument("phone")
@click.option("--note", help="How the contact asked; kept with the opt-out.")
@global_options()
@pass_app
def optout_add(app: AppContext, phone: str, note: str | None) -> None:
    """Opt PHONE out of every campaign (its live enrollments end at the next apply)."""
    e164 = phone_argument(phone)
    with Store.open(app.state_path) as store:
        added = store.add_optout(e164, "manual", note, app.clock.now())
        record = store.optout_of(e164)
    if app.format == "json":
        document = {"phone": e164, "added": added, "optout": optout_json(record)}
        click.echo(json.dumps(document, indent=2))
    elif added:
        click.echo(f"{e164} opted out.")
    else:
        click.echo(f"{e164} was already opted out.")


@optout.command("remove")
@click.argument("phone")
@click.option("--reason", required=True, help="Why the opt-out is lifted (required, kept).")
@global_options()
@pass_app
def optout_remove(app: AppContext, phone: str, reason: str) -> None:
    """Lift PHONE's opt-out; only when the contact asked. --reason is required and kept."""
    e164 = phone_argument(phone)
    with Store.open(app.state_path) as store:
        removed = store.remove_optout(e164, reason, "manual", app.clock.now())
    if app.format == "json":
        click.echo(json.dumps({"phone": e164, "removed": removed, "reason": reason}, indent=2))
    elif removed:
        click.echo(f"{e164} may be texted again ({reason}).")
    else:
        click.echo(f"{e164} was not opted out.")


@optout.command("list")
@global_options()
@pass_app
def optout_list(app: AppContext) -> None:
    """List every opted-out number: since when, how (sms, manual, provider), and note."""
    with Store.open_for_reading(app.state_path) as store:
        records = store.optouts()
    click.echo(optouts_json(records) if app.format == "json" else optouts_text(records))
