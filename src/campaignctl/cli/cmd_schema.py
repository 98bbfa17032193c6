"""`campaignctl schema export DIR`: the JSON Schemas of every kind, for editors and CI."""

from __future__ import annotations

from pathlib import Path

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.config.paths import display_path
from campaignctl.config.schema import export_schemas, render_schema, schema_files
from campaignctl.errors import CampaignctlError


@cli.group("schema")
def schema() -> None:
    """The JSON Schemas of the configuration language."""


@schema.command("export")
@global_options()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when DIRECTORY differs from what would be written.",
)
@pass_app
def export(app: AppContext, directory: Path, check: bool) -> None:
    """Write one JSON Schema per kind, plus campaignctl.schema.json for all kinds.

    The schemas are generated from the same models `validate` uses; point an editor
    (yaml-language-server) at them to see the same problems while typing.

    \b
    Examples:
      campaignctl schema export schemas
      campaignctl schema export schemas --check     # in CI: fail when they are stale
    """
    if check:
        stale = [
            name
            for name, content in schema_files().items()
            if not (directory / name).is_file()
            or (directory / name).read_text(encoding="utf-8") != render_schema(content)
        ]
        if stale:
            where = display_path(directory)
            raise CampaignctlError(
                f"{where}: out of date: {', '.join(stale)} "
                f"(run `campaignctl schema export {where}`)"
            )
        click.echo(f"{display_path(directory)}: up to date")
        return
    try:
        written = export_schemas(directory)
    except OSError as exc:
        raise CampaignctlError(f"{display_path(directory)}: cannot write: {exc.strerror}") from exc
    for path in written:
        click.echo(display_path(path))
