"""`campaignctl replies`: the incoming messages kept, newest first."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import click

from campaignctl.cli.cmd_review import mount
from campaignctl.cli.common import INSTANT, AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.render.replies import replies_csv, replies_json, replies_text
from campaignctl.store import Store
from campaignctl.store.replies import DIDS

REPLY_FORMATS = ("text", "json", "csv")
_AGO = re.compile(r"^(\d{1,6})(m|h|d|w)$")
_AGO_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Moment(click.ParamType[datetime | timedelta, Any]):
    """An instant (ISO 8601), or a span back from now (`90m`, `24h`, `7d`, `2w`)."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime | timedelta:
        if isinstance(value, datetime | timedelta):
            return value
        match = _AGO.fullmatch(str(value).strip())
        if match is not None:
            return timedelta(**{_AGO_UNITS[match[2]]: int(match[1])})
        return INSTANT.convert(value, param, ctx)


def _at(moment: datetime | timedelta | None, now: datetime) -> datetime | None:
    return now - moment if isinstance(moment, timedelta) else moment


@cli.group(invoke_without_command=True)
@click.option("--campaign", help="Only the replies attributed to this campaign.")
@click.option(
    "--since", type=Moment(), help="Only replies received at or after T (ISO 8601, or 24h, 7d)."
)
@click.option("--until", type=Moment(), help="Only replies received before T.")
@click.option("--did", type=click.Choice(DIDS), help="Only the replies that did this.")
@click.option(
    "--limit", type=click.IntRange(min=0), default=0, help="Only the newest N replies (0: all)."
)
@global_options(formats=REPLY_FORMATS)
@pass_app
def replies(
    app: AppContext,
    campaign: str | None,
    since: datetime | timedelta | None,
    until: datetime | timedelta | None,
    did: str | None,
    limit: int,
) -> None:
    """List the replies received, newest first: time, number, campaign, step, what they
    did, and their text.

    `replies review` lists the numbers held because a reply may revoke consent, and
    decides them.

    Every incoming SMS is kept, with the campaign the number was in and the last step sent
    to it there. DID says what it did: opted_out (STOP and its like), opted_in (START),
    help, ended (the sequence stopped, stopOnReply), kept (nothing ended), review (held
    for a person to read), wrong_number. --since and --until take an instant or a span
    back from now (90m, 24h, 7d, 2w). --format json and csv give every reply whole, with
    where its forward to replies.forwardUrl stands; in CSV a text that a spreadsheet would
    read as a formula starts with an apostrophe. Reads the state only.

    \b
    Examples:
      campaignctl replies --since 24h
      campaignctl replies --campaign spring-buyers --did ended
      campaignctl replies --since 2026-03-01 --until 2026-04-01 --format csv > march.csv
    """
    if click.get_current_context().invoked_subcommand is not None:
        return
    now = app.clock.now()
    with Store.open_for_reading(app.state_path) as store:
        found = store.replies(
            campaign=campaign,
            since=_at(since, now),
            until=_at(until, now),
            did=did,
            limit=limit or None,
        )
        backlog = store.forward_backlog() if app.format == "text" else None
    if app.format == "json":
        click.echo(replies_json(found))
    elif app.format == "csv":
        click.echo(replies_csv(found))
    else:
        filtered = any(v is not None for v in (campaign, since, until, did))
        click.echo(replies_text(found, filtered, backlog))


mount(replies)
