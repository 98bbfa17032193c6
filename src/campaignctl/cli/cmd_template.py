"""`campaignctl template copy OLD NEW`: a draft copy of a template, to change its wording."""

from __future__ import annotations

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.config.paths import display_path
from campaignctl.config.template_copy import copy_template, next_steps


@cli.group("template")
def template() -> None:
    """Work with templates."""


@template.command("copy")
@global_options()
@click.argument("old")
@click.argument("new")
@pass_app
def copy(app: AppContext, old: str, new: str) -> None:
    """Write a draft copy of template OLD, named NEW, next to OLD's file.

    A published template used by a campaign that has left draft cannot change. To change
    the wording: copy it, edit the copy, publish it (status: published), and point the
    campaign at it: a live campaign switches templates when the copy has every step of
    the old one, each waiting at least as long (more steps and longer waits are fine);
    its live enrollments continue at their next step with the new wording, and `plan`
    shows the switch first. Comments and layout of the original are kept. Refuses when a
    file or a template named NEW exists already. Prints the path written, then the next
    commands to run.

    \b
    Example:
      campaignctl template copy buyer-followup buyer-followup-v2
      $EDITOR campaigns.d/templates/buyer-followup-v2.yaml   # wording; status: published
      campaignctl plan                                       # shows the switch
    """
    path = copy_template(app.config_dir, old, new)
    click.echo(display_path(path))
    click.echo("\n".join(next_steps(app.config_dir, old, new, path)))
