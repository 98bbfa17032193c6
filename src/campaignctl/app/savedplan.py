"""A saved plan read from its file, a large one without holding its actions.

A plan written with every action (`plan --all-actions`, render/planfile.py) has them one a
line in its `actions` array: a launch of a million contacts makes a file of hundreds of
megabytes. It is read a line at a time: each action is checked and hashed into the plan's
digest as it is read, the first LISTED are kept and the rest counted (`unlisted`): it is
read as a plan that lists some of its actions, which the apply checks the same way (the
digest of what is due now, streamed: app/planstream.py). Memory stays that of the kept
actions, whatever the file's size.

Any other layout (a plan saved without --all-actions, a file indented again by a tool) is
read whole, as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from campaignctl.app.executor import Report
from campaignctl.core.actions import Action
from campaignctl.core.planjson import (
    ActionsDigest,
    action_from_json,
    check_actions_digest,
    plan_fields_from_json,
    plan_from_json,
)
from campaignctl.core.types import Plan

_OPEN = '  "actions": ['  # where the array of a plan with every action begins, on its own line
_CLOSE = ("  ]", "  ],")  # and ends
BATCH = 10_000  # actions hashed at a time


class OtherLayout(Exception):
    """The file is not laid out an action a line: it is read whole."""


def read_plan(path: Path) -> Plan:
    """The saved plan in `path`. Raises OSError when it cannot be read, ValueError (and
    UnicodeDecodeError) when it is not a plan or its actions do not match its digest."""
    try:
        with path.open(encoding="utf-8") as handle:
            return _streamed(handle)
    except OtherLayout:
        return plan_from_json(json.loads(path.read_text(encoding="utf-8")))


def _streamed(lines: Iterable[str]) -> Plan:
    head: list[str] = []
    done = Report()
    digest = ActionsDigest()
    found = False
    rows = iter(lines)
    for line in rows:
        if line.rstrip("\n") == _OPEN:
            found = True
            head.append(_OPEN + "]" + _read_actions(rows, done, digest))
        else:
            head.append(line)
    if not found:
        raise OtherLayout
    plan = plan_fields_from_json(json.loads("".join(head)))
    if plan.actions_digest is None or plan.tallies:
        raise OtherLayout  # a plan made whole, or not as `plan` writes one: read it whole
    check_actions_digest(digest, plan.actions_digest)
    return replace(plan, actions=tuple(done.listed), tallies=done.tallies())


def _read_actions(rows: Iterator[str], done: Report, digest: ActionsDigest) -> str:
    """Read the actions' lines up to the array's end: each hashed, kept or counted. Returns
    what follows the array on its closing line (its comma, if any) and the newline."""
    batch: list[Action] = []
    for line in rows:
        text = line.rstrip("\n")
        if text in _CLOSE:
            _add(batch, done, digest)
            return text[3:] + "\n"
        text = text.strip().removesuffix(",")
        if not text.startswith("{") or not text.endswith("}"):
            raise OtherLayout
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise OtherLayout from exc
        batch.append(action_from_json(value))
        if len(batch) >= BATCH:
            _add(batch, done, digest)
            batch = []
    raise ValueError("the actions array is not closed")


def _add(batch: list[Action], done: Report, digest: ActionsDigest) -> None:
    digest.add(batch)
    done.add(batch)
