"""`campaignctl plan`: what an apply would do now, and why the rest waits."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from campaignctl.app.forecast import plan_forecast, worth_forecasting
from campaignctl.app.plan import Planned, load_desired
from campaignctl.app.planstream import ActionsSpool, stream_plan
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.held import report_held
from campaignctl.cli.main import cli
from campaignctl.core.planjson import plan_to_json
from campaignctl.errors import ConfigError, PlanError
from campaignctl.render.forecast import runs_out_text
from campaignctl.render.markdown import render_plan_markdown, render_refusal_markdown
from campaignctl.render.plan import render_plan
from campaignctl.render.planfile import write_plan_json
from campaignctl.store import Store

# how to see every action of a plan that counts most of them
EVERY_ACTION = "Every action: add --all-actions to --format json or --out FILE."
# the forecast of a large plan would hold every contact it enrolls: `forecast` makes it
NOT_FORECAST = "not forecast with a plan this large (run `campaignctl forecast` after the apply)"


def forecast_line(app: AppContext, planned: Planned, store: Store) -> str | None:
    """How long the credits last, for the review, when the plan is worth a forecast: the
    forecast simulates the groups whole, so it is made for a plan that lists every action
    (the groups it reads are small), not for one that counts most of them."""
    if not worth_forecasting(planned.plan):
        return None
    if planned.plan.tallies:
        return NOT_FORECAST
    desired = load_desired(app.config_dir, store)
    forecast = plan_forecast(replace(planned, desired=desired), store)
    return runs_out_text(forecast) if forecast is not None else None


@cli.command()
@click.option(
    "--out",
    "-o",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save the plan as JSON, for `campaignctl apply PLANFILE`.",
)
@click.option("--verbose", "-v", is_flag=True, help="List the actions, not only the summary.")
@click.option(
    "--all-actions",
    is_flag=True,
    help="Write every action into the JSON plan (--format json, --out), however many: they "
    "are streamed out, never held. Without it a plan lists its first 10,000 actions and "
    "counts the rest under `unlisted`.",
)
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
    all_actions: bool,
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

    A group is read a batch at a time and nothing is held whole, so a launch of a million
    contacts plans in little memory. Above 10,000 actions the plan lists the first 10,000
    and counts the rest (`summary`, and `unlisted` in JSON), as `apply` reports; the saved
    plan carries the digest of every action, and `apply PLANFILE` checks it against what
    is due then. --all-actions writes every action into the JSON.

    \b
    Examples:
      campaignctl plan
      campaignctl plan --verbose --now 2026-03-02T15:00:00Z
      campaignctl plan --format json --out plan.json && campaignctl apply plan.json
      campaignctl plan --format markdown > comment.md
      campaignctl plan --format json --all-actions > every-action.json
    """
    if all_actions and out is None and app.format != "json":
        raise click.UsageError("--all-actions writes the JSON plan: add --format json or --out")
    now = app.clock.now()
    spool = ActionsSpool() if all_actions else None
    with Store.open_for_reading(app.state_path) as store:
        try:
            planned = stream_plan(app.config_dir, store, now, allow_empty=allow_empty, spool=spool)
            credits_last = forecast_line(app, planned, store) if app.format != "json" else None
        except (ConfigError, PlanError) as exc:
            if app.format == "markdown":
                serial = store.serial
                click.echo(
                    render_refusal_markdown(str(exc), serial, now, show_numbers=show_numbers),
                    nl=False,
                )
            raise
    document = plan_to_json(planned.plan)
    if out is not None:
        try:
            with out.open("w", encoding="utf-8") as handle:
                write_plan_json(handle, document, spool.lines() if spool else None)
        except OSError as exc:
            raise PlanError(f"{out}: cannot write the plan: {exc.strerror}") from exc
    if app.format == "json":
        write_plan_json(sys.stdout, document, spool.lines() if spool else None)
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
        if planned.plan.tallies and spool is None:
            click.echo(EVERY_ACTION)
        if out is not None:
            click.echo(f"Saved the plan to {out}; apply it with `campaignctl apply {out}`.")
    if spool is not None:
        spool.close()
    if report_held(planned.plan):
        sys.exit(1)
    if detailed_exitcode and planned.plan.has_changes:
        sys.exit(2)
