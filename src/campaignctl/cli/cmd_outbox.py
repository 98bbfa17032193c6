"""`campaignctl outbox`: the messages the outbox provider recorded instead of sending."""

from __future__ import annotations

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.render.status import outbox_json, outbox_text
from campaignctl.store import Store


@cli.command()
@click.option("--campaign", help="Only the messages of this campaign.")
@click.option(
    "--limit", type=click.IntRange(min=0), default=0, help="Only the last N messages (0: all)."
)
@global_options()
@pass_app
def outbox(app: AppContext, campaign: str | None, limit: int) -> None:
    """List the messages recorded by the outbox provider: time, campaign, to, step, body.

    The outbox provider is used when no Twilio credentials are set: every message an
    apply would send is recorded here instead, so a whole campaign can be rehearsed with
    no account and no network.

    \b
    Examples:
      campaignctl outbox
      campaignctl outbox --campaign spring-buyers --limit 20 --format json
    """
    with Store.open_for_reading(app.state_path) as store:
        records = store.outbox(limit=limit or None, campaign=campaign)
    click.echo(outbox_json(records) if app.format == "json" else outbox_text(records))
