"""`campaignctl optout add|remove|list` through the real CLI on a real state file."""

from __future__ import annotations

import json
from pathlib import Path

from campaignctl.store import Store
from tests.store.helpers import cli, later, run


def test_add_list_remove(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = cli(path, "optout", "add", "(415) 555-0100", "--note", "asked by phone")
    assert first.output == "+14155550100 opted out.\n"
    assert (
        cli(path, "optout", "add", "+14155550100").output == "+14155550100 was already opted out.\n"
    )
    cli(path, "optout", "add", "212-555-0199", now=later(1))
    listed = cli(path, "optout", "list").output.splitlines()
    assert listed[1].split() == [
        "+14155550100",
        "2026-03-02T15:00:00Z",
        "manual",
        "asked",
        "by",
        "phone",
    ]
    assert listed[2].split()[:3] == ["+12125550199", "2026-03-03T15:00:00Z", "manual"]
    assert listed[-1] == "2 opted out"

    removed = cli(path, "optout", "remove", "4155550100", "--reason", "texted START", now=later(2))
    assert removed.output == "+14155550100 may be texted again (texted START).\n"
    document = json.loads(cli(path, "optout", "list", "--format", "json").output)
    assert [o["phone"] for o in document["optouts"]] == ["+12125550199"]
    again = cli(path, "optout", "remove", "4155550100", "--reason", "x", "--format", "json")
    assert json.loads(again.output) == {"phone": "+14155550100", "removed": False, "reason": "x"}
    with Store.open(path) as store:
        history = [(e.kind, e.reason) for e in store.explain("+14155550100")]
    assert history == [("optout", "asked by phone"), ("optin", "texted START")]


def test_remove_needs_a_reason_and_a_valid_number(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    no_reason = run(path, "optout", "remove", "+14155550100")
    assert no_reason.returncode == 1 and "Missing option '--reason'" in no_reason.stderr
    bad = run(path, "optout", "add", "555")
    assert bad.returncode == 1 and "Invalid value for PHONE" in bad.stderr
    assert not path.exists()


def test_add_json(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    document = json.loads(cli(path, "optout", "add", "+14155550100", "--format", "json").output)
    assert document["added"] is True
    assert document["optout"] == {"phone": "+14155550100", "at": "2026-03-02T15:00:00Z",
                                  "source": "manual", "note": None}  # fmt: skip
