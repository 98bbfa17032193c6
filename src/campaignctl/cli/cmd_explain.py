"""`campaignctl explain PHONE`: what was decided and done about one number, and why its
next messages wait now."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import click

from campaignctl.app.waiting import next_step
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.core.phones import InvalidPhone, normalize
from campaignctl.errors import CampaignctlError
from campaignctl.render.status import explain_json, explain_text
from campaignctl.store import HistoryEvent, Store

LINE_AND_COLUMN = re.compile(r"(?P<line>.+:\d+):\d+")  # file:line:column


def phone_argument(raw: str) -> str:
    """A phone number as typed (any format; US without +country) -> E.164."""
    try:
        return normalize(raw, default_region="US").e164
    except InvalidPhone as exc:
        raise click.BadParameter(f"{raw!r}: {exc.reason}", param_hint="PHONE") from None


def readable_source(source: str) -> str:
    """Where a contact came from, as a line of text: `contacts.csv:12:1` -> `from
    contacts.csv:12` (the line finds the contact; its column adds nothing)."""
    match = LINE_AND_COLUMN.fullmatch(source)
    return f"from {match['line'] if match else source}"


def readable_events(events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """The events as the text output shows them: an enrollment's detail says its source."""
    return [
        replace(ev, detail=readable_source(ev.detail))
        if ev.kind == "enrolled" and ev.detail
        else ev
        for ev in events
    ]


@cli.command()
@click.argument("phone")
@global_options()
@pass_app
def explain(app: AppContext, phone: str) -> None:
    """Explain what campaignctl decided and did about one number, and what waits now.

    Lists, across campaigns and in time order: its enrollments (with where the contact
    came from), the decisions kept about it (sends, skips, ends, with the rule), every
    send attempt and its outcome, opt-outs, and its replies (what each did, and its
    text). Then, for each live enrollment, what happens
    to its next step now, as the next apply would decide it: due later (and when), due
    now, waiting (the rule and until when, e.g. quiet hours) or skipped. PHONE may be
    written in any usual form; numbers without a country code are taken as US. Exits 1
    when the state has never seen the number.

    \b
    Examples:
      campaignctl explain "(415) 555-0100"
      campaignctl explain +14155550100 --format json
    """
    e164 = phone_argument(phone)
    with Store.open_for_reading(app.state_path) as store:
        optout = store.optout_of(e164)
        enrollments = store.enrollments_of(e164)
        events = store.explain(e164)
        if not events and optout is None:
            raise CampaignctlError(f"{e164}: unknown number (the state has no record of it)")
        waiting = next_step(app.config_dir, store, e164, app.clock.now())
    if app.format == "json":
        click.echo(explain_json(e164, optout, enrollments, events, waiting))
    else:
        click.echo(explain_text(e164, optout, enrollments, readable_events(events), waiting))
