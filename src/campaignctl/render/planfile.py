"""The plan JSON written out, whole or with every action streamed into it.

A plan lists its first 10,000 actions and counts the rest (`unlisted`); with every action
asked for (`plan --all-actions`), they are written one line each into the document's
`actions` array as they are read from where they were spooled, so a launch of a million
contacts is written without being held; the document stays one valid JSON object in the
format of SPEC section 4.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

_EMPTY = '"actions": []'


def write_plan_json(out: TextIO, document: dict[str, Any], every: Iterable[str] | None) -> None:
    """Write the plan document (indented). `every`: each action's JSON text, in plan order,
    to write as its `actions` instead of those it lists (then nothing is `unlisted`)."""
    if every is None:
        out.write(json.dumps(document, indent=2) + "\n")
        return
    whole = {k: ([] if k == "actions" else v) for k, v in document.items() if k != "unlisted"}
    text = json.dumps(whole, indent=2)
    cut = text.index(_EMPTY) + len(_EMPTY) - 1  # just before the closing "]"
    out.write(text[:cut])
    separator = "\n    "
    written = False
    for line in every:
        out.write(separator + line)
        separator = ",\n    "
        written = True
    out.write(("\n  " if written else "") + text[cut:] + "\n")
