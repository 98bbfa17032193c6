"""The saved plan file: it carries the digest of every action; a file that lists every
action is read only when they match that digest, one that lists some only with it, and a
file written before the digest existed is still read (and checked as before)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from campaignctl.app.executor import LISTED
from campaignctl.app.savedplan import read_plan
from campaignctl.core.actions import Defer, Enroll, Send, StatusChange
from campaignctl.core.instants import parse_instant
from campaignctl.core.planjson import ActionsDigest, action_to_json, plan_from_json, plan_to_json
from campaignctl.core.types import Plan, Tally
from campaignctl.render.planfile import write_plan_json

NOW = parse_instant("2026-03-02T17:00:00Z")
ACTIONS = (
    StatusChange("spring", "draft", "active"),
    Enroll("spring", "+12125550100", "a.csv:2"),
    Enroll("spring", "+12125550101", "a.csv:3"),
    Send("spring", "+12125550100", 1, "Hi Ana", 1, 1, None),
    Defer("spring", "+12125550101", 1, "rate_limit", NOW + timedelta(minutes=15)),
)


def saved(actions: tuple[Any, ...] = ACTIONS, **fields: Any) -> Plan:
    digest = ActionsDigest()
    digest.add(ACTIONS)
    values: dict[str, Any] = {"actions_digest": digest.hexdigest(), **fields}
    return Plan(NOW, NOW + timedelta(minutes=15), "sha256:c", 3, actions, **values)


def test_the_digest_is_the_same_in_the_order_decided_or_the_order_listed() -> None:
    decided, listed = ActionsDigest(), ActionsDigest()
    decided.add([ACTIONS[0], ACTIONS[1], ACTIONS[3], ACTIONS[4]])
    decided.add([ACTIONS[2]])  # a later stage enrolls again: listed with the enrollments
    listed.add(ACTIONS)
    assert decided.hexdigest() == listed.hexdigest()
    swapped = ActionsDigest()
    swapped.add([ACTIONS[0], ACTIONS[2], ACTIONS[1], ACTIONS[3]])
    assert swapped.hexdigest() != listed.hexdigest()  # the order of a kind counts


def test_a_file_listing_every_action_reads_when_they_match_its_digest() -> None:
    plan = saved()
    assert plan_from_json(plan_to_json(plan)) == plan


def test_a_file_whose_actions_were_edited_is_refused() -> None:
    data = plan_to_json(saved())
    data["actions"][3]["body"] = "Hi Bo"
    with pytest.raises(ValueError, match="do not match its actions_digest"):
        plan_from_json(data)


def test_a_file_listing_some_actions_needs_its_digest() -> None:
    counted = (Tally("spring", "enroll", None, 20_000),)
    data = plan_to_json(saved(ACTIONS[:2], tallies=counted))
    read = plan_from_json(data)
    assert read.tallies == counted and read.actions == ACTIONS[:2]
    del data["actions_digest"]
    with pytest.raises(ValueError, match="no actions_digest"):
        plan_from_json(data)


def test_a_file_written_before_the_digest_is_still_read() -> None:
    data = plan_to_json(saved(actions_digest=None))
    assert "actions_digest" not in data
    assert plan_from_json(data).actions == ACTIONS


@pytest.mark.parametrize("every", [[], ['{"type": "enroll"}'], ['{"a": 1}', '{"b": 2}']])
def test_the_document_with_every_action_streamed_in_is_valid_json(every: list[str]) -> None:
    counted = (Tally("spring", "enroll", None, 20_000),)
    document = plan_to_json(saved(ACTIONS[:2], tallies=counted))
    out = io.StringIO()
    write_plan_json(out, document, iter(every))
    data = json.loads(out.getvalue())
    assert data["actions"] == [json.loads(line) for line in every]
    assert "unlisted" not in data
    assert list(data) == [k for k in document if k != "unlisted"]


def written(tmp_path: Path, plan: Plan, every: bool) -> Path:
    """The plan's file as `plan --out` writes it, with every action a line or indented."""
    out = io.StringIO()
    lines = (json.dumps(action_to_json(a)) for a in plan.actions) if every else None
    write_plan_json(out, plan_to_json(plan), lines)
    path = tmp_path / "plan.json"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_a_plan_file_with_every_action_is_read_a_line_at_a_time(tmp_path: Path) -> None:
    """A line at a time: the first LISTED kept and the rest counted, as `plan` saves a
    plan without --all-actions; laid out otherwise, read whole (every action kept)."""
    many = tuple(Enroll("spring", f"+1212555{n:04d}", f"a.csv:{n + 2}") for n in range(LISTED + 50))
    digest = ActionsDigest()
    digest.add(many)
    plan = Plan(NOW, NOW + timedelta(minutes=15), "sha256:c", 3, many,
                actions_digest=digest.hexdigest())  # fmt: skip
    read = read_plan(written(tmp_path, plan, every=True))
    assert read.actions == many[:LISTED]
    assert read.tallies == (Tally("spring", "enroll", None, 50),)
    assert read == replace(plan, actions=many[:LISTED], tallies=read.tallies)
    again = tmp_path / "indented.json"
    again.write_text(
        json.dumps(json.loads(written(tmp_path, plan, every=True).read_text()), indent=4)
    )
    assert read_plan(again) == plan
    assert read_plan(written(tmp_path, saved(), every=False)) == saved()


def test_a_plan_file_whose_action_line_was_edited_is_refused(tmp_path: Path) -> None:
    path = written(tmp_path, saved(), every=True)
    path.write_text(path.read_text().replace("Hi Ana", "Hi Bo"))
    with pytest.raises(ValueError, match="do not match its actions_digest"):
        read_plan(path)
    cut = path.read_text().split("  ],\n")[0]  # the file cut inside the array
    path.write_text(cut)
    with pytest.raises(ValueError, match="not closed"):
        read_plan(path)
