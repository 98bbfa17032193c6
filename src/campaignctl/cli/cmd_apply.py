"""`campaignctl apply [PLANFILE]`: carry out a fresh plan, or a saved one that is still current."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from campaignctl.app.apply import apply_now
from campaignctl.app.executor import ApplyOptions
from campaignctl.app.savedplan import read_plan
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.held import report_held
from campaignctl.cli.main import cli
from campaignctl.core.planjson import plan_to_json
from campaignctl.core.types import Plan
from campaignctl.errors import EXIT_SENDING_STOPPED, PlanError
from campaignctl.providers.select import provider_from_env
from campaignctl.render.plan import render_plan
from campaignctl.store import Store


def terminal_progress() -> Callable[[int, int], None]:
    """A one-line counter on the terminal while a long apply sends."""

    def show(done: int, total: int) -> None:
        if not total:  # not known ahead: a streamed apply
            if done % 25 == 0:
                click.echo(f"\r  sent {done}", nl=False, err=True)
        elif total >= 50 and (done % 25 == 0 or done == total):
            click.echo(f"\r  sending {done}/{total}", nl=done == total, err=True)

    return show


def terminal_import() -> Callable[[str, int, int], None]:
    """A one-line counter on the terminal while a large group is read."""

    def show(campaign: str, read: int, enrolled: int) -> None:
        click.echo(
            f"\r  {campaign}: {read:,} numbers of its group read, {enrolled:,} enrolled",
            nl=False,
            err=True,
        )

    return show


def read_plan_file(path: Path) -> Plan:
    try:
        return read_plan(path)
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the plan: {exc.strerror}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: not a campaignctl plan: {exc}") from exc


@cli.command()
@click.argument("planfile", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Apply even when the configuration has no campaigns but the state has live ones.",
)
@click.option(
    "--wait",
    "wait_seconds",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait for another apply or controller to finish.",
)
@click.option("--verbose", "-v", is_flag=True, help="List every action carried out.")
@global_options()
@pass_app
def apply(
    app: AppContext, planfile: Path | None, allow_empty: bool, wait_seconds: float, verbose: bool
) -> None:
    """Carry out the plan: record each send before handing it to the provider.

    Without PLANFILE, plans afresh and applies at once, a batch at a time: a group of any
    size is checked for errors first, then read, enrolled and considered 50,000 contacts at
    a time (each batch a transaction; an apply cut short goes on at the next one). With
    PLANFILE (from `plan --out`), applies it only if the configuration, the state and what
    is due are unchanged and it has not expired; otherwise refuses and says why. Sends
    through Twilio when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set, else records them
    in the outbox (`campaignctl outbox`).

    Each message is checked against the clock at the moment it is handed over: one whose
    recipient's window (quiet hours) closed meanwhile is not sent and goes out in the next
    window. The summary counts what really went out and what it cost.

    \b
    Exit status: 0 done; 1 an error (nothing half-done: every completed send is recorded);
    1 also when a broken file holds campaigns (the others were applied);
    3 sending stopped early (the provider is down, refused the credentials or kept
    throttling, or a signal asked to stop): what was not sent is still due, and the JSON
    report says why under "stopped".

    \b
    Examples:
      campaignctl apply
      campaignctl plan --out plan.json && campaignctl apply plan.json
    """
    saved = read_plan_file(planfile) if planfile is not None else None
    terminal = sys.stderr.isatty()
    options = ApplyOptions(
        wait_seconds=wait_seconds,
        allow_empty=allow_empty,
        progress=terminal_progress() if terminal else None,
        importing=terminal_import() if terminal else None,
    )
    with Store.open(app.state_path) as store:
        provider = provider_from_env(store, os.environ, app.clock)
        planned, report = apply_now(
            app.config_dir, store, provider, app.clock, options, saved=saved
        )
        balance = store.balance()
    if terminal:
        click.echo("\r\033[K", nl=False, err=True)  # the counter line, cleared
    if app.format == "json":
        document = plan_to_json(planned.plan)
        document["applied"] = {
            "counts": report.counts,
            "outcomes": report.outcomes,
            "sent": report.sent,
            "debited": report.debited,
            "balance": balance,
            "stopped": report.stopped,
        }
        document["stopped"] = report.stopped
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(render_plan(planned.desired, planned.snapshot, planned.plan, verbose=verbose))
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(report.outcomes.items()))
        click.echo(
            f"Applied via {provider.name}: {outcomes or 'no sends'}; "
            f"{report.debited} credits debited, balance {balance}."
        )
    if report.stopped:
        click.echo(
            f"Sending stopped early: {report.stopped}. What was not sent is still due "
            f"(exit status {EXIT_SENDING_STOPPED}).",
            err=True,
        )
        sys.exit(EXIT_SENDING_STOPPED)
    if report_held(planned.plan, done="applied"):
        sys.exit(1)
