"""The `campaignctl` entry point: the command group, command registration, and the one place
where expected errors become a clean message and exit 1 (click's usage errors included)."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from campaignctl import __version__
from campaignctl.cli.common import FORMATS, AppContext, global_options
from campaignctl.errors import CampaignctlError

_LOCATED = re.compile(r"^[^\s:]+:\d+(:\d+)?: ")


def error_text(exc: CampaignctlError) -> str:
    """`file:line:col: message` lines stand as they are; anything else reads `error: ...`."""
    text = str(exc)
    return text if _LOCATED.match(text) else f"error: {text}"


class CampaignctlGroup(click.Group):
    """Maps every expected error to one line on stderr and exit 1 (usage errors included:
    click's own exit 2 would read as "changes present" to a CI script)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            exc.show()
            sys.exit(1)
        except CampaignctlError as exc:
            click.echo(error_text(exc), err=True)
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
