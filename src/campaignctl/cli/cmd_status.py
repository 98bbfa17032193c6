"""`campaignctl status`: the campaigns as the state sees them."""

from __future__ import annotations

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.errors import CampaignctlError
from campaignctl.render.status import status_json, status_text
from campaignctl.store import Store

STATUS_FILTERS = ("draft", "active", "paused", "completed", "all")


@cli.command()
@click.argument("campaign", required=False)
@click.option(
    "--status",
    "status_filter",
    type=click.Choice(STATUS_FILTERS),
    help="Show only campaigns observed in this status; `all` includes completed ones. "
    "Default: every campaign not completed.",
)
@global_options()
@pass_app
def status(app: AppContext, campaign: str | None, status_filter: str | None) -> None:
    """Show campaigns: observed status and reason, enrollments, messages sent, credits.

    One line per campaign: its observed status (and why, e.g. paused for
    insufficient_credits), enrollments (live, done, and ended by reason), steps sent,
    credits spent and replies received (`campaignctl replies` lists them); then the credit balance and whether sending is suspended.

    Completed campaigns are hidden unless asked for (--status all or --status completed),
    or named. Reads the state only; never creates it.

    \b
    Examples:
      campaignctl status
      campaignctl status spring-buyers
      campaignctl status --status all --format json
    """
    with Store.open_for_reading(app.state_path) as store:
        rows = store.campaign_status_rows()
        balance, suspended = store.balance(), store.suspended()
        suspended_at, serial = store.suspended_at(), store.serial
    hidden = 0
    if campaign is not None:
        rows = [r for r in rows if r.name == campaign]
        if not rows:
            raise CampaignctlError(f"no campaign {campaign!r} in the state {app.state_path}")
    elif status_filter is None:
        hidden = sum(1 for r in rows if r.status == "completed")
        rows = [r for r in rows if r.status != "completed"]
    elif status_filter != "all":
        rows = [r for r in rows if r.status == status_filter]
    if app.format == "json":
        click.echo(status_json(rows, balance, suspended, suspended_at, serial))
    else:
        click.echo(status_text(rows, balance, suspended, suspended_at, hidden))
