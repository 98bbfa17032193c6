"""`campaignctl status`: the campaigns as the state sees them."""

from __future__ import annotations

from pathlib import Path

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.config.loader import iter_documents
from campaignctl.errors import CampaignctlError
from campaignctl.render.status import status_json, status_text
from campaignctl.store import CampaignStatusRow, ConfigOwner, Store

STATUS_FILTERS = ("draft", "active", "paused", "completed", "all")


NOT_LAUNCHED = "not launched: draft in its file"


def reads_drafts(app: AppContext, owner: ConfigOwner | None) -> bool:
    """Whether the config directory in effect is the state's own, so its drafts belong in
    the list: named (--dir), beside the state by default, or the one the state records. A
    state named alone (--state) is never shown with the drafts of whatever folder it is run
    from."""
    if app.dir_given or not app.state_given:
        return True
    return owner is not None and owner.name == app.config_dir.resolve().name


def draft_rows(config_dir: Path, known: set[str]) -> list[CampaignStatusRow]:
    """The draft campaigns of the config that the state does not hold: a draft is never
    applied to the state, yet it is a campaign a user looks for. None when the config
    directory is missing; what loads of a broken config still counts."""
    if not config_dir.is_dir():
        return []
    rows: list[CampaignStatusRow] = []
    for document in iter_documents(config_dir):
        data = document.data
        if not isinstance(data, dict) or data.get("kind") != "Campaign":
            continue
        metadata, spec = data.get("metadata"), data.get("spec")
        if not isinstance(metadata, dict) or not isinstance(spec, dict):
            continue
        name = metadata.get("name")
        if not isinstance(name, str) or name in known or spec.get("status", "draft") != "draft":
            continue
        template, group = spec.get("template"), spec.get("prospectGroup")
        rows.append(
            CampaignStatusRow(
                name,
                "draft",
                NOT_LAUNCHED,
                template if isinstance(template, str) else None,
                group if isinstance(group, str) else None,
                live=0,
                done=0,
            )
        )
        known.add(name)
    return sorted(rows, key=lambda row: row.name)


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

    Draft campaigns, which the state holds only once launched, are read from their files
    (reason: not launched). Completed campaigns are hidden unless asked for (--status all or
    --status completed), or named. Never creates the state.

    \b
    Examples:
      campaignctl status
      campaignctl status spring-buyers
      campaignctl status --status draft
      campaignctl status --status all --format json
    """
    with Store.open_for_reading(app.state_path) as store:
        rows = store.campaign_status_rows()
        if reads_drafts(app, store.config_owner()):
            rows += draft_rows(app.config_dir, {r.name for r in rows})
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
