"""How a command that fails says so: one line on stderr, or, with `--format json`, one JSON
object on stderr (stdout stays for data, so a script reading it never mistakes an error for
output). A usage error adds the command's usage as a hint; the exit status is 1 either way
(click's own 2 would read as "changes present" to a CI script)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import click

from campaignctl.errors import CampaignctlError, ConfigError, Issue

_LOCATED = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<message>.*)$")


def error_text(exc: CampaignctlError) -> str:
    """`file:line:col: message` lines stand as they are (a message of several such lines
    too); anything else reads `error: ...`."""
    text = str(exc)
    return text if _LOCATED.match(text.split("\n", 1)[0]) else f"error: {text}"


def wants_json(args: Sequence[str]) -> bool:
    """True when the command line asks for `--format json` (the last --format given wins),
    read from the words themselves: a usage error can come before any option is parsed."""
    chosen = None
    for index, word in enumerate(args):
        if word == "--format" and index + 1 < len(args):
            chosen = args[index + 1]
        elif word.startswith("--format="):
            chosen = word.partition("=")[2]
    return chosen == "json"


def located(line: str) -> dict[str, object]:
    """One error line as JSON fields: `file`, `line` and `column` where it names them."""
    match = _LOCATED.match(line)
    if match is None:
        return {"error": line}
    fields: dict[str, object] = {"error": match["message"], "file": match["file"]}
    fields["line"] = int(match["line"])
    if match["col"]:
        fields["column"] = int(match["col"])
    return fields


def issue_fields(issue: Issue) -> dict[str, object]:
    fields: dict[str, object] = {"error": issue.message}
    if issue.location is not None:
        fields["file"] = issue.location.file
        if issue.location.line is not None:
            fields["line"] = issue.location.line
        if issue.location.col is not None:
            fields["column"] = issue.location.col
    return fields


def error_json(exc: CampaignctlError) -> str:
    """The error as one JSON object: the first error's fields, and every error under
    `errors` when there are several (an invalid configuration)."""
    if isinstance(exc, ConfigError):
        entries = [issue_fields(i) for i in exc.issues if i.severity == "error"]
    else:
        entries = [located(line) for line in str(exc).splitlines() if line.strip()]
    entries = entries or [{"error": str(exc)}]
    body: dict[str, object] = dict(entries[0])
    if len(entries) > 1:
        body["errors"] = entries
    return json.dumps(body)


def usage(exc: click.UsageError) -> str:
    """`campaignctl status [OPTIONS] [CAMPAIGN]`: how the command is written."""
    if exc.ctx is None:
        return "campaignctl [OPTIONS] COMMAND [ARGS]..."
    return exc.ctx.get_usage().removeprefix("Usage: ")


def usage_hint(exc: click.UsageError) -> str:
    """`Usage: campaignctl status [OPTIONS] [CAMPAIGN] (campaignctl status --help explains)`."""
    path = exc.ctx.command_path if exc.ctx is not None else "campaignctl"
    return f"Usage: {usage(exc)} ({path} --help explains)"


def one_line(text: str) -> str:
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def report_usage(exc: click.UsageError, as_json: bool) -> None:
    message = one_line(exc.format_message())
    if as_json:
        click.echo(json.dumps({"error": message, "usage": usage(exc)}), err=True)
    else:
        click.echo(f"error: {message}", err=True)
        click.echo(usage_hint(exc), err=True)


def report_click(exc: click.ClickException, as_json: bool) -> None:
    message = one_line(exc.format_message())
    click.echo(json.dumps({"error": message}) if as_json else f"error: {message}", err=True)


def report(exc: CampaignctlError, as_json: bool) -> None:
    click.echo(error_json(exc) if as_json else error_text(exc), err=True)
