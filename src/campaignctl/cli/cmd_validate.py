"""`campaignctl validate`: schema and cross-file checks of campaigns.d/, for people and CI."""

from __future__ import annotations

import os
import sys

import click

from campaignctl.app.validate import live_edit_issues
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.config import load
from campaignctl.config.loader import issue_order
from campaignctl.core.types import Desired
from campaignctl.errors import Issue, StateError
from campaignctl.render.validation import (
    render_github,
    render_json,
    render_markdown,
    render_text,
)
from campaignctl.store import Store


@cli.command("validate")
@global_options(formats=("text", "json", "github"))
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 when there is any).")
@pass_app
def validate(app: AppContext, strict: bool) -> None:
    """Check every file of the config directory, without touching the state.

    Reads every *.yaml/*.yml file (recursively), the contact CSVs and do-not-call files they
    name, checks each document against its JSON Schema and model, then across files:
    references resolve, templates are published, one campaign per group, waitDays >= 30,
    placeholders name existing fields, quiet hours inside 08:00-21:00. Warnings (exit 0):
    more than 3 segments, characters forcing UCS-2, no opt-out wording, invalid phone
    numbers, contacts with an empty placeholder field.

    With a state to read (--state, CAMPAIGNCTL_STATE, or .campaignctl/state.db beside the
    config directory), also checks what may change once a campaign has left draft, as
    `plan` does, without writing to it: a changed sender or group, a rewritten template, a
    template switch that drops a step or shortens a gap.

    Every finding is one line, `path:line:col: severity: message`. Exit 0 when valid
    (warnings allowed), 1 when not.

    \b
    Examples:
      campaignctl validate
      campaignctl validate --dir path/to/campaigns.d --format json
      campaignctl validate --format github    # annotations + $GITHUB_STEP_SUMMARY
    """
    result = load(app.config_dir)
    found = list(result.issues)
    if result.desired is not None:
        found += _live_edits(app, result.desired)
    issues = sorted(found, key=issue_order)
    invalid = any(issue.severity == "error" for issue in issues)
    files = len(result.files)
    if app.format == "json":
        click.echo(render_json(issues, result.files), nl=False)
    elif app.format == "github":
        click.echo(render_github(issues, files), nl=False)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(render_markdown(issues, files))
    else:
        click.echo(render_text(issues, files), nl=False)
    if invalid or (strict and result.warnings):
        sys.exit(1)


def _live_edits(app: AppContext, desired: Desired) -> list[Issue]:
    """The refused edits to launched campaigns, when a state can be read (`--state`, or
    the default file exists); a warning when the one named cannot be."""
    try:
        with Store.open_for_reading(app.state_path) as store:
            return live_edit_issues(desired, store, app.clock.now())
    except StateError as exc:
        message = f"the state could not be read, so edits to live campaigns were not checked: {exc}"
        return [Issue("warning", message, None, "state")]
