"""The validation report in three forms: text (grouped by file), JSON, and GitHub Actions.

GitHub shows only the first annotations of a step, so the github form also returns a Markdown
report of every issue for `$GITHUB_STEP_SUMMARY`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from campaignctl.errors import Issue


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def count_line(issues: Sequence[Issue], file_count: int) -> str:
    """ "2 errors, 5 warnings in 14 files"."""
    errors = sum(1 for issue in issues if issue.severity == "error")
    warnings = len(issues) - errors
    return (
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in "
        f"{_plural(file_count, 'file')}"
    )


def render_text(issues: Sequence[Issue], file_count: int) -> str:
    """One `path:line:col: severity: message` line per issue, a blank line between files."""
    lines: list[str] = []
    current: str | None = None
    for issue in issues:
        file = issue.location.file if issue.location else ""
        if current is not None and file != current:
            lines.append("")
        current = file
        lines.append(str(issue))
    if lines:
        lines.append("")
    lines.append(count_line(issues, file_count))
    return "\n".join(lines) + "\n"


def issue_record(issue: Issue) -> dict[str, Any]:
    where = issue.location
    return {
        "severity": issue.severity,
        "file": where.file if where else None,
        "line": where.line if where else None,
        "col": where.col if where else None,
        "message": issue.message,
        "code": issue.code,
    }


def render_json(issues: Sequence[Issue], files: Sequence[str]) -> str:
    errors = sum(1 for issue in issues if issue.severity == "error")
    report = {
        "valid": errors == 0,
        "errors": errors,
        "warnings": len(issues) - errors,
        "files": len(files),
        "issues": [issue_record(issue) for issue in issues],
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(issues: Sequence[Issue], file_count: int) -> str:
    """`::error file=F,line=L,col=C::message` workflow commands, then the count line."""
    lines: list[str] = []
    for issue in issues:
        where = issue.location
        properties: list[str] = []
        if where is not None:
            properties.append(f"file={_escape_property(where.file)}")
            if where.line is not None:
                properties.append(f"line={where.line}")
                if where.col is not None:
                    properties.append(f"col={where.col}")
        head = f"::{issue.severity}"
        if properties:
            head += " " + ",".join(properties)
        lines.append(f"{head}::{_escape_data(issue.message)}")
    lines.append(count_line(issues, file_count))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(issues: Sequence[Issue], file_count: int) -> str:
    """The full report for the job summary page."""
    errors = sum(1 for issue in issues if issue.severity == "error")
    verdict = "invalid" if errors else "valid"
    lines = [
        "## campaignctl validate",
        "",
        f"**{verdict}**: {count_line(issues, file_count)}",
        "",
    ]
    if issues:
        lines += ["| severity | location | message |", "|---|---|---|"]
        for issue in issues:
            where = f"`{issue.location}`" if issue.location else ""
            lines.append(f"| {issue.severity} | {where} | {_cell(issue.message)} |")
        lines.append("")
    return "\n".join(lines) + "\n"
