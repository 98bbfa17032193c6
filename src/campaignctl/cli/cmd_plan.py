"""`campaignctl plan`: what an apply would do now, and why the rest waits."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from campaignctl.app.forecast import plan_forecast
from campaignctl.app.plan import make_plan
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.held import report_held
from campaignctl.cli.main import cli
from campaignctl.core.planjson import plan_to_json
from campaignctl.errors import ConfigError, PlanError
from campaignctl.render.forecast import runs_out_text
from campaignctl.render.markdown import render_plan_markdown, render_refusal_markdown
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
@click.option(
    "--show-numbers",
    is_flag=True,
    help="With --format markdown: write phone numbers in full (masked by default, as "
    "+1212555****: a pull-request comment is read widely).",
)
@global_options(formats=("text", "json", "markdown"))
@pass_app
def plan(
    app: AppContext,
    out: Path | None,
    verbose: bool,
    detailed_exitcode: bool,
    allow_empty: bool,
    show_numbers: bool,
) -> None:
    """Show what an apply would do now: enrollments, sends, and why the rest waits.

    Reads the files under --dir and the state, and writes nothing to the state. The text form
    leads with one line per campaign; a campaign going live gets a launch review (its
    sequence, audience and credits). The markdown form is a pull-request comment: a table of
    the campaigns, the launch reviews, what is refused (shown, then exit 1), the notes, and
    the actions folded away, with phone numbers masked.

    A file that fails to load or check holds only the campaigns that depend on it (its
    campaign, template or group; a DoNotCallList or Settings holds all): the plan shows the
    others, and each error is printed on stderr with the campaigns it holds; the exit
    status is then 1, so CI fails on a broken file.

    \b
    Examples:
      campaignctl plan
      campaignctl plan --verbose --now 2026-03-02T15:00:00Z
      campaignctl plan --format json --out plan.json && campaignctl apply plan.json
      campaignctl plan --format markdown > comment.md
    """
    now = app.clock.now()
    with Store.open_for_reading(app.state_path) as store:
        try:
            planned = make_plan(app.config_dir, store, now, allow_empty=allow_empty)
            forecast = plan_forecast(planned, store) if app.format != "json" else None
        except (ConfigError, PlanError) as exc:
            if app.format == "markdown":
                serial = store.serial
                click.echo(
                    render_refusal_markdown(str(exc), serial, now, show_numbers=show_numbers),
                    nl=False,
                )
            raise
    credits_last = runs_out_text(forecast) if forecast is not None else None
    document = plan_to_json(planned.plan)
    if out is not None:
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if app.format == "json":
        click.echo(json.dumps(document, indent=2))
    elif app.format == "markdown":
        click.echo(
            render_plan_markdown(
                planned.desired,
                planned.snapshot,
                planned.plan,
                show_numbers=show_numbers,
                credits_last=credits_last,
            ),
            nl=False,
        )
    else:
        click.echo(
            render_plan(
                planned.desired,
                planned.snapshot,
                planned.plan,
                verbose=verbose,
                credits_last=credits_last,
            )
        )
        if out is not None:
            click.echo(f"Saved the plan to {out}; apply it with `campaignctl apply {out}`.")
    if report_held(planned.plan):
        sys.exit(1)
    if detailed_exitcode and planned.plan.has_changes:
        sys.exit(2)
