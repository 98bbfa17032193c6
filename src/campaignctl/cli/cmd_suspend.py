"""`campaignctl suspend` / `resume`: the global emergency stop, kept in the state."""

from __future__ import annotations

import json

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.core.instants import format_instant
from campaignctl.store import Store, Suspension


def _echo_state(app: AppContext, store: Suspension, message: str) -> None:
    reason, since = store.suspended(), store.suspended_at()
    if app.format == "json":
        document = {
            "suspended": reason is not None,
            "reason": reason,
            "since": format_instant(since) if since else None,
        }
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(message)


@cli.command()
@click.option("--reason", required=True, help="Why sending stops (shown by status and plan).")
@global_options()
@pass_app
def suspend(app: AppContext, reason: str) -> None:
    """Stop ALL sending, in every campaign, until `campaignctl resume`.

    The flag lives in the state: a running controller sees it at its next tick, and it
    survives restarts. Nothing is lost: due messages wait (reason suspended).

    \b
    Example:
      campaignctl suspend --reason "wrong link in the spring template"
    """
    with Store.open(app.state_path) as store:
        store.suspend(reason, app.clock.now())
        _echo_state(app, store, f"Sending suspended: {reason}. Lift with `campaignctl resume`.")


@cli.command()
@global_options()
@pass_app
def resume(app: AppContext) -> None:
    """Lift a `campaignctl suspend`: due messages go out from the next apply.

    \b
    Example:
      campaignctl resume
    """
    with Store.open(app.state_path) as store:
        was = store.suspended()
        if was is not None:
            store.resume(app.clock.now())
        message = (
            f"Sending resumed (was suspended: {was})." if was else "Sending was not suspended."
        )
        _echo_state(app, store, message)
