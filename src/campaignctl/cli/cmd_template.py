"""`campaignctl template copy OLD NEW`: a draft copy of a template, to change its wording."""

from __future__ import annotations

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.config.paths import display_path
from campaignctl.config.template_copy import copy_template


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
    the wording: copy it, edit the copy, publish it (status: published), and point a new
    campaign at it. Comments and layout of the original are kept. Refuses when a file or a
    template named NEW exists already. Prints the path written.

    \b
    Example:
      campaignctl template copy buyer-followup buyer-followup-v2
    """
    path = copy_template(app.config_dir, old, new)
    click.echo(display_path(path))
