"""`campaignctl state copy SRC DST`: move a whole state to another database (SQLite to
PostgreSQL and back)."""

from __future__ import annotations

import json
import sys

import click

from campaignctl.cli.common import STATE, AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.store.copy import CopyReport, Progress, copy_between
from campaignctl.store.location import StateLocation


@cli.group("state")
def state() -> None:
    """The state database itself: moving it to another one."""


def _terminal_progress() -> Progress | None:
    """A line on stderr, rewritten as each batch lands, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(table: str, done: int, total: int) -> None:
        end = "\n" if done == total else ""
        click.echo(f"\r  {table}: {done:,} of {total:,} rows", err=True, nl=False)
        click.echo(end, err=True, nl=False)

    return show


def report_text(report: CopyReport, source: StateLocation, destination: StateLocation) -> str:
    rows = ", ".join(f"{count:,} {name}" for name, count in report.tables.items())
    return (
        f"Copied {source} to {destination} and verified it (rows and a digest per table): "
        f"{rows}; serial {report.serial}, balance {report.balance}."
    )


def report_json(report: CopyReport, source: StateLocation, destination: StateLocation) -> str:
    return json.dumps(
        {
            "source": str(source),
            "destination": str(destination),
            "tables": report.tables,
            "serial": report.serial,
            "balance": report.balance,
            "digests": report.digests,
            "verified": True,
        },
        indent=2,
    )


@state.command("copy")
@click.argument("source", type=STATE, metavar="SRC")
@click.argument("destination", type=STATE, metavar="DST")
@global_options()
@pass_app
def copy(app: AppContext, source: StateLocation, destination: StateLocation) -> None:
    """Copy the whole state at SRC into DST, a new file or an empty PostgreSQL database.

    Everything is copied, ids kept: campaigns, enrollments, attempts, the ledger, opt-outs
    and their history, decisions, runs, the outbox, webhook events, the serial and the
    suspension; not the apply lease (the copy starts free). DST must hold no state yet.
    The copy is written in one transaction, read back and compared with SRC (rows and a
    digest per table) before it is kept. Stop the controller and the webhook servers
    first: what they write to SRC during the copy is not in it.

    \b
    Examples:
      campaignctl state copy .campaignctl/state.db postgresql://campaignctl@db/campaigns
      campaignctl state copy postgresql://campaignctl@db/campaigns backup.db --format json
    """
    report = copy_between(source, destination, _terminal_progress())
    render = report_json if app.format == "json" else report_text
    click.echo(render(report, source, destination))
