"""The `campaignctl` entry point: the command group, command registration, and the one place
where expected errors become a clean message and exit 1 (click's usage errors included)."""

from __future__ import annotations

import sys
from typing import Any

import click

from campaignctl import __version__
from campaignctl.cli.common import FORMATS, AppContext, add_global_params, global_options
from campaignctl.cli.failure import report, report_click, report_usage, wants_json
from campaignctl.errors import CampaignctlError


class CampaignctlGroup(click.Group):
    """Every command and group added gets the global options (so they work before or after
    any command name, subcommand groups included), and every expected error becomes one
    line on stderr (a JSON object with `--format json`) and exit 1: failure.py."""

    group_class = type  # groups declared under this one are CampaignctlGroups too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        add_global_params(cmd)
        super().add_command(cmd, name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        words = kwargs.get("args")
        as_json = wants_json(sys.argv[1:] if words is None else list(words))
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.UsageError as exc:
            report_usage(exc, as_json)
            sys.exit(1)
        except click.ClickException as exc:
            report_click(exc, as_json)
            sys.exit(1)
        except CampaignctlError as exc:
            report(exc, as_json)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(
    cls=CampaignctlGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="campaignctl")
@global_options(formats=FORMATS)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """SMS outreach campaigns as code.

    Templates, campaigns, prospect groups and do-not-call lists live as YAML in
    campaigns.d/. `validate` and `plan` check a change in CI; `apply` carries a plan
    out; `reconcile` runs the controller that plans and applies every interval.

    \b
    Typical use:
      campaignctl validate                 # schema and cross-file checks
      campaignctl plan                     # what would be sent now, and why not the rest
      campaignctl apply                    # do it (outbox provider unless Twilio is set up)
      campaignctl reconcile                # run the controller
    """
    ctx.ensure_object(AppContext)


def _register() -> None:
    """Import the command modules; each adds its commands to `cli`."""
    import importlib
    import pkgutil

    import campaignctl.cli as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"campaignctl.cli.{info.name}")


def main(argv: list[str] | None = None) -> None:
    _register()
    cli.main(args=argv, prog_name="campaignctl")
