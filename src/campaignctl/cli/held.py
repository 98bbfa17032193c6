"""The campaigns a configuration error holds, told on stderr by the commands that plan."""

from __future__ import annotations

import click

from campaignctl.core.types import Plan


def report_held(plan: Plan, done: str = "planned") -> bool:
    """One `error: file:line: message` line per error holding campaigns (naming them) on
    stderr; True when any campaign is held."""
    by_error: dict[str, list[str]] = {}
    for name, error in sorted(plan.held.items()):
        by_error.setdefault(error, []).append(name)
    for error, names in by_error.items():
        held = ", ".join(repr(name) for name in names)
        click.echo(
            f"error: {error} (holds campaign{'s' if len(names) > 1 else ''} {held}: it sends "
            f"nothing until the file is fixed; the other campaigns were {done})",
            err=True,
        )
    return bool(by_error)
