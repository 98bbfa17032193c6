"""The campaigns a configuration error holds, told on stderr by the commands that plan."""

from __future__ import annotations

from collections.abc import Mapping

import click

from campaignctl.core.types import Plan


def report_held(held: Plan | Mapping[str, str], done: str = "planned") -> bool:
    """One `error: file:line: message` line per error holding campaigns (naming them) on
    stderr; True when any campaign is held. `held`: a plan's, or campaign -> error."""
    by_error: dict[str, list[str]] = {}
    for name, error in sorted((held.held if isinstance(held, Plan) else held).items()):
        by_error.setdefault(error, []).append(name)
    for error, names in by_error.items():
        listed = ", ".join(repr(name) for name in names)
        click.echo(
            f"error: {error} (holds campaign{'s' if len(names) > 1 else ''} {listed}: it sends "
            f"nothing until the file is fixed; the other campaigns were {done})",
            err=True,
        )
    return bool(by_error)
