"""`campaignctl plan`: what an apply would do now, and why the rest waits."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from campaignctl.app.plan import make_plan
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.core.planjson import plan_to_json
from campaignctl.render.plan import render_plan
from campaignctl.store import Store


@cli.command()
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save the plan as JSON, for `campaignctl apply PLANFILE`.",
)
@click.option("--verbose", "-v", is_flag=True, help="List every action, not only the summary.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing would change, 2 when something would (any action but "
    "defer), 1 on error.",
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Plan even when the configuration has no campaigns but the state has live ones.",
)
@global_options()
@pass_app
def plan(
    app: AppContext, out: Path | None, verbose: bool, detailed_exitcode: bool, allow_empty: bool
) -> None:
    """Show what an apply would do now: enrollments, sends, and why the rest waits.

    Reads the files under --dir and the state, and writes nothing to the state. The text form
    leads with one line per campaign; a campaign going live gets a launch review (its
    sequence, audience and credits).

    \b
    Examples:
      campaignctl plan
      campaignctl plan --verbose --now 2026-03-02T15:00:00Z
      campaignctl plan --format json --out plan.json && campaignctl apply plan.json
    """
    with Store.open_for_reading(app.state_path) as store:
        planned = make_plan(app.config_dir, store, app.clock.now(), allow_empty=allow_empty)
    document = plan_to_json(planned.plan)
    if out is not None:
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if app.format == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(render_plan(planned.desired, planned.snapshot, planned.plan, verbose=verbose))
        if out is not None:
            click.echo(f"Saved the plan to {out}; apply it with `campaignctl apply {out}`.")
    if detailed_exitcode and planned.plan.has_changes:
        sys.exit(2)
