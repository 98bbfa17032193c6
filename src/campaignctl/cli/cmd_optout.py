"""`campaignctl optout add|remove|list`: manual opt-outs, kept in the state."""

from __future__ import annotations

import json
from pathlib import Path

import click

from campaignctl.app.optout_files import export_rows, read_optout_file
from campaignctl.cli.cmd_explain import phone_argument
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.errors import CampaignctlError
from campaignctl.render.status import optout_json, optouts_json, optouts_text
from campaignctl.store import Store
from campaignctl.store.optout_bulk import BulkOptOut


@cli.group()
@global_options()
def optout() -> None:
    """Opt-outs: numbers that are never sent to, whatever the files say.

    Contacts opt out by texting STOP or asking in other words (or a provider reports it);
    these commands record one by hand (a phone call, an email), lift one when the contact
    asks, with a reason, or move them in bulk as CSV (import, export). Nothing in the YAML
    files can lift an opt-out.

    \b
    Examples:
      campaignctl optout add "(415) 555-0100" --note "asked by phone"
      campaignctl optout remove +14155550100 --reason "texted START from a new phone"
      campaignctl optout list
      campaignctl optout import old-crm-optouts.csv
      campaignctl optout export > optouts.csv
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


@optout.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@global_options()
@pass_app
def optout_import(app: AppContext, file: Path) -> None:
    """Opt out every number of the CSV FILE, keeping each one's time and source.

    FILE is campaignctl's own layout (what `optout export` writes), with a header row:
    number,time,source[,note] (phone or phone_number for number, at or date for time; a
    number in any common form; time ISO 8601, empty for now). Twilio's consent layout
    (Consent Management API items: contact_id,status,source,date_of_consent...) is read
    too: only its opt-out rows are imported; an import never lifts an opt-out.

    The whole file is checked first: a bad row is reported as FILE:LINE and nothing is
    imported. A number already opted out is left as it is, so importing the same file
    twice changes nothing the second time. Live enrollments of the numbers end.

    \b
    Examples:
      campaignctl optout import old-crm-optouts.csv
      campaignctl optout export > optouts.csv && campaignctl --state new.db optout import optouts.csv
    """
    read = read_optout_file(file)
    now = app.clock.now()
    bulk = [
        BulkOptOut(o.phone, o.at or now, o.source, o.note, str(o.location)) for o in read.optouts
    ]
    with Store.open(app.state_path) as store:
        result = store.import_optouts(bulk, now)
    left_out = [{"where": str(where), "why": why} for where, why in read.left_out]
    if app.format == "json":
        document = {
            "file": str(file),
            "added": result.added,
            "already_opted_out": result.already,
            "enrollments_ended": result.ended,
            "left_out": left_out,
        }
        click.echo(json.dumps(document, indent=2))
        return
    for row in left_out:
        click.echo(f"{row['where']}: left out: {row['why']}")
    click.echo(
        f"{file}: {result.added} opted out, {result.already} already opted out"
        f" ({result.ended} live enrollment(s) ended)."
    )


@optout.command("export")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
@global_options(formats=("text",))
@pass_app
def optout_export(app: AppContext, out: Path | None) -> None:
    """Write every opt-out as CSV: number,time,source,note (`optout import` reads it back).

    \b
    Examples:
      campaignctl optout export > optouts.csv
      campaignctl optout export --out optouts.csv
    """
    with Store.open_for_reading(app.state_path) as store:
        records = store.optouts()
    text = export_rows((r.phone, r.at, r.source, r.note) for r in records)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CampaignctlError(f"{out}: {exc.strerror or exc}") from None
    click.echo(f"{out}: {len(records)} opt-out(s) written.", err=True)
