"""The JSON Schema and the pydantic models accept the same documents (the editor and the CLI
agree), apart from the rules only a model can check (real time zones, start before end)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from campaignctl.config import load
from campaignctl.config.holds import document_owner
from campaignctl.config.models import MODELS
from campaignctl.config.schema import validator_for
from tests.config.helpers import make_repo

VALID: dict[str, dict[str, Any]] = {
    "Template": {
        "apiVersion": "campaignctl/v1",
        "kind": "Template",
        "metadata": {"name": "welcome", "labels": {"team": "east"}, "description": "d"},
        "spec": {
            "status": "published",
            "steps": [{"body": "Hi. Reply STOP"}, {"waitDays": 30, "body": "Again"}],
        },
    },
    "Campaign": {
        "apiVersion": "campaignctl/v1",
        "kind": "Campaign",
        "metadata": {"name": "spring"},
        "spec": {
            "template": "welcome",
            "prospectGroup": "leads",
            "status": "active",
            "sender": {"from": "+15125550100", "messagesPerSecond": 1, "dailyLimit": 100},
            "quietHours": {"start": "08:00", "end": "21:00"},
            "stopOnReply": True,
        },
    },
    "ProspectGroup": {
        "apiVersion": "campaignctl/v1",
        "kind": "ProspectGroup",
        "metadata": {"name": "leads"},
        "spec": {
            "defaultRegion": "US",
            "csv": "leads.csv",
            "contacts": [{"phones": ["4155550100"], "fields": {"first_name": "Ana"}}],
        },
    },
    "DoNotCallList": {
        "apiVersion": "campaignctl/v1",
        "kind": "DoNotCallList",
        "metadata": {"name": "dnc"},
        "spec": {"numbers": ["+14155550123"], "files": ["registry.txt"]},
    },
    "Settings": {
        "apiVersion": "campaignctl/v1",
        "kind": "Settings",
        "metadata": {"name": "settings"},
        "spec": {
            "creditsPerSegment": 2,
            "reconcileInterval": "15m",
            "stateQuietHours": False,
            "timezoneFallback": "America/Chicago",
        },
    },
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=100),
    st.floats(min_value=-2, max_value=50, allow_nan=False),
    st.sampled_from(
        [
            "",
            "30",
            "draft",
            "active",
            "published",
            "08:00",
            "20:59",
            "21:00",
            "22:00",
            "7:00",
            "15m",
            "1h",
            "0m",
            "+15125550100",
            "MG" + "a" * 32,
            "US",
            "us",
            "campaignctl/v1",
            "a-b",
            "Ab",
            "x" * 64,
            "America/Chicago",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "body", "waitDays"]), inner, max_size=2)
    ),
    max_leaves=4,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(VALID)))
    document = copy.deepcopy(VALID[kind])
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        path = draw(st.sampled_from(paths(document)))
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "waitDays", "timezone", "from"]))] = draw(values)
        else:
            parent[path[-1]] = draw(values)
    return kind, document


def model_accepts(kind: str, document: dict[str, Any]) -> bool:
    try:
        MODELS[kind].model_validate(document)
    except ValidationError:
        return False
    return True


def test_the_valid_documents_are_valid() -> None:
    for kind, document in VALID.items():
        assert validator_for(kind).is_valid(document), kind
        assert model_accepts(kind, document), kind


@given(mutated())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_schema_and_model_agree(case: tuple[str, dict[str, Any]]) -> None:
    kind, document = case
    by_schema = validator_for(kind).is_valid(document)
    by_model = model_accepts(kind, document)
    if by_schema and not by_model:
        # what only the model checks: a real time zone, and quiet hours start before end
        spec = document.get("spec", {})
        zones = [spec.get("timezoneFallback")] + [
            c.get("timezone") for c in spec.get("contacts", [])
        ]
        hours = spec.get("quietHours", {})
        assert any(isinstance(z, str) for z in zones) or hours.get("start", "08:00") >= hours.get(
            "end", "21:00"
        ), document
    else:
        assert by_schema == by_model, document


@given(mutated())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_loading_any_mutation_never_raises(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, dict[str, Any]]
) -> None:
    """Whatever a document holds, load() answers with issues, never an exception; a campaign
    is held exactly when an error lies in something it depends on."""
    _, document = case
    root = make_repo(tmp_path_factory.mktemp("repo"), {"mutated.yaml": yaml.safe_dump(document)})
    result = load(root)
    assert result.desired is not None  # the good part, a campaign with an error held
    assert result.ok == (not result.errors)
    assert result.errors or not result.desired.held
    # the base repo's campaign `spring` uses template `welcome` and group `leads`: a broken
    # document of those names, or of a kind every campaign depends on, holds it; a broken
    # group or template no campaign uses holds nothing
    owner = document_owner(document)
    if result.errors and (owner is None or owner[1] in {"spring", "welcome", "leads"}):
        assert "spring" in result.desired.held
    assert all(issue.location is not None for issue in result.issues)
