"""`campaignctl explain PHONE`: what was decided and done about one number, and why its
next messages wait now."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from campaignctl import config
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


def phone_key(raw: str) -> tuple[str, str | None]:
    """The number as the state keys it: its E.164 form when it is a valid number (written
    in any usual form; US without +country), else the text as written, which is how the
    skip of an invalid number is kept. The second value says why it is not valid."""
    text = raw.strip()
    if not text:
        raise click.BadParameter("an empty phone number", param_hint="PHONE")
    try:
        return normalize(text, default_region="US").e164, None
    except InvalidPhone as exc:
        return text, exc.reason


def dnc_lists_of(config_dir: Path, phone: str) -> list[str]:
    """The names of the do-not-call lists in the config that hold `phone` (none when the
    config cannot be read)."""
    if not config_dir.is_dir():
        return []
    loaded = config.load(config_dir, parse_contacts=lambda name, digest: False)
    return sorted(name for name, numbers in loaded.dnc_lists.items() if phone in numbers)


def dnc_detail(detail: str | None, lists: Sequence[str]) -> str | None:
    """ "on a do-not-call list" made precise: which of the config's lists holds the number."""
    if not lists:
        return detail
    names = ", ".join(repr(name) for name in lists)
    which = f"on the do-not-call list {names}" if len(lists) == 1 else f"on the lists {names}"
    return which if detail in (None, "", DNC_DETAIL) else f"{which}: {detail}"


DNC_DETAIL = "on a do-not-call list"


def precise_events(events: Sequence[HistoryEvent], lists: Sequence[str]) -> list[HistoryEvent]:
    """The events with the do-not-call list named, and no step on the end of an enrollment
    that ended before its first message (its `step` counts the steps sent: 0)."""
    out: list[HistoryEvent] = []
    for ev in events:
        if ev.reason == "dnc":
            ev = replace(ev, detail=dnc_detail(ev.detail, lists))
        if ev.kind in ("ended", "done") and ev.step == 0:
            ev = replace(ev, step=None)
        out.append(ev)
    return out


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
    text). A number held for review (a reply that may revoke consent) says so first,
    with the reply and since when; each enrollment's consent record (consentSource,
    consentAt) follows. Then, for each live enrollment, what happens
    to its next step now, as the next apply would decide it: due later (and when), due
    now, waiting (the rule and until when, e.g. quiet hours) or skipped; a do-not-call
    skip names the list that holds the number.

    PHONE may be written in any usual form, as in the CSV; numbers without a country code
    are taken as US. A number that is not valid is looked up as written, to show why it was
    skipped (invalid_phone). Exits 1 when the state has never seen the number.

    \b
    Examples:
      campaignctl explain "(415) 555-0100"
      campaignctl explain +14155550100 --format json
      campaignctl explain "555-0199"            # an invalid number, as in the CSV
    """
    key, invalid = phone_key(phone)
    with Store.open_for_reading(app.state_path) as store:
        optout = store.optout_of(key)
        enrollments = store.enrollments_of(key)
        events = store.explain(key)
        consent = store.consent_of(key)
        hold = next((h for h in store.review_holds() if h.phone == key), None)
        if not events and optout is None and hold is None:
            if invalid is not None:
                raise CampaignctlError(
                    f"{key!r} is not a valid phone number ({invalid}), and the state has no "
                    "record of it as written"
                )
            raise CampaignctlError(f"{key}: unknown number (the state has no record of it)")
        waiting = next_step(app.config_dir, store, key, app.clock.now()) if invalid is None else []
    matched = any(ev.reason == "dnc" for ev in events) or any(w.reason == "dnc" for w in waiting)
    lists = dnc_lists_of(app.config_dir, key) if matched else []
    events = precise_events(events, lists)
    waiting = [replace(w, detail=dnc_detail(w.detail, lists)) if w.reason == "dnc" else w
               for w in waiting]  # fmt: skip
    if app.format == "json":
        click.echo(explain_json(key, optout, enrollments, events, waiting, hold, consent))
    else:
        events = readable_events(events)
        click.echo(explain_text(key, optout, enrollments, events, waiting, hold, consent))
