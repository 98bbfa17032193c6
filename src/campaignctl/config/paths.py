"""Small helpers about where things are: file paths as users see them, and field paths.

A *field path* is the tuple of keys and indexes from a document's root to a value, as in
``("spec", "steps", 1, "body")``; its dotted form is ``spec.steps[1].body`` (indexes count
from 0, as in JSONPath). The dotted form keys `TemplateSpec.locations` and
`CampaignSpec.locations`.
"""

from __future__ import annotations

import os
from pathlib import Path

FieldPath = tuple[str | int, ...]


def display_path(path: Path, cwd: str | None = None) -> str:
    """The path relative to the working directory when it is under it, else absolute."""
    absolute = os.path.abspath(path)
    base = cwd if cwd is not None else os.getcwd()
    if absolute == base:
        return "."
    if absolute.startswith(base.rstrip(os.sep) + os.sep):
        return Path(os.path.relpath(absolute, base)).as_posix()
    return Path(absolute).as_posix()


def dotted(path: FieldPath) -> str:
    """``("spec", "steps", 1, "body")`` -> ``spec.steps[1].body``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(f".{part}" if out else part)
    return "".join(out)


def is_inside(path: Path, directory: Path) -> bool:
    """True when `path` (after resolving links and ``..``) lies under `directory`."""
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def outside_text(path: Path, directory: Path) -> str:
    """Why a file inside `directory` that links outside it is not read."""
    target = display_path(path.resolve())
    return (
        f"a link to {target}, outside {display_path(directory)}: only files inside the "
        "config directory are read (copy the file in instead)"
    )
