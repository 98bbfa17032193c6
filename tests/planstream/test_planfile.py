"""The saved plan file: it carries the digest of every action; a file that lists every
action is read only when they match that digest, one that lists some only with it, and a
file written before the digest existed is still read (and checked as before)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest

from campaignctl.core.actions import Defer, Enroll, Send, StatusChange
from campaignctl.core.instants import parse_instant
from campaignctl.core.planjson import ActionsDigest, plan_from_json, plan_to_json
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
