"""`campaignctl consent export`: where and when each enrolled contact consented, as kept
with its enrollment, for a regulator, a carrier or an audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.errors import CampaignctlError
from campaignctl.render.consent import consent_csv, consent_json_lines
from campaignctl.store import ConsentRecord, Store

EXPORT_FORMATS = ("text", "csv", "json")


@cli.group()
@global_options(formats=EXPORT_FORMATS)
def consent() -> None:
    """Consent records (consentSource, consentAt) kept with the enrollments.

    \b
    Examples:
      campaignctl consent export > consent.csv
      campaignctl consent export --campaign spring-buyers --missing
    """


@consent.command("export")
@click.option("--campaign", help="Only the enrollments of this campaign.")
@click.option("--missing", is_flag=True, help="Only the enrollments without a consent record.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
@global_options(formats=EXPORT_FORMATS)
@pass_app
def consent_export(app: AppContext, campaign: str | None, missing: bool, out: Path | None) -> None:
    """Write every enrollment's consent record as CSV, one row an enrollment:
    phone,campaign,status,consentSource,consentAt,enrolledAt,source.

    consentSource and consentAt are the contact's columns (or inline fields) of those
    names, as they were when it was enrolled; consentAt in UTC, ISO 8601 (a date alone
    was taken as its start, 00:00 UTC). `source` is where the contact is written
    (file:line). An enrollment without them has empty cells (--missing lists only those).
    --format text and csv write CSV; json writes {"consent": [...]}. Reads the state only.

    \b
    Examples:
      campaignctl consent export > consent.csv
      campaignctl consent export --campaign spring-buyers --out spring-consent.csv
      campaignctl consent export --missing --format json
    """
    with Store.open_for_reading(app.state_path) as store:
        records = _chosen(store.consent_records(campaign), missing)
        pieces = consent_json_lines(records) if app.format == "json" else consent_csv(records)
        if out is None:
            for piece in pieces:
                click.echo(piece, nl=False)
            return
        try:
            with out.open("w", encoding="utf-8", newline="") as handle:
                for piece in pieces:
                    handle.write(piece)
        except OSError as exc:
            raise CampaignctlError(f"{out}: {exc.strerror or exc}") from None
    click.echo(f"{out}: consent records written.", err=True)


def _chosen(records: Iterator[ConsentRecord], missing: bool) -> Iterator[ConsentRecord]:
    for record in records:
        if not missing or record.consent_source is None or record.consent_at is None:
            yield record
