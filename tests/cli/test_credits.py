"""`campaignctl credits add|show` through the real CLI on a real state file."""

from __future__ import annotations

import json
from pathlib import Path

from campaignctl.store import Store
from tests.store.helpers import T0, cli, later, run


def test_add_then_show(tmp_path: Path) -> None:
    path = tmp_path / ".campaignctl" / "state.db"
    added = cli(path, "credits", "add", "500", "--note", "invoice 31")
    assert added.exit_code == 0 and added.output == "Added 500 credits; the balance is 500.\n"
    cli(path, "credits", "add", "25", now=later(1))
    shown = cli(path, "credits", "show")
    assert shown.output.splitlines() == [
        "Balance: 525 credits",
        "Ledger:",
        "TIME                  AMOUNT  BALANCE  NOTE",
        "2026-03-02T15:00:00Z  +500    500      invoice 31",
        "2026-03-03T15:00:00Z  +25     525      top-up",
    ]
    with Store.open(path) as store:
        assert store.balance() == 525


def test_show_json_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    for day in range(3):
        cli(path, "credits", "add", str(10 * (day + 1)), now=later(day))
    document = json.loads(cli(path, "credits", "show", "--limit", "2", "--format", "json").output)
    assert document["balance"] == 60
    assert [(e["amount"], e["balance_after"], e["at"]) for e in document["ledger"]] == [
        (20, 30, "2026-03-03T15:00:00Z"),
        (30, 60, "2026-03-04T15:00:00Z"),
    ]
    text = cli(path, "credits", "show", "--limit", "1").output
    assert "Ledger (last 1 of 3):" in text


def test_show_on_a_new_state(tmp_path: Path) -> None:
    result = cli(tmp_path / "state.db", "credits", "show")
    assert result.output.startswith("Balance: 0 credits\nThe ledger is empty")
    assert not (tmp_path / "state.db").exists()


def test_bad_amounts_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    for amount in ("0", "-5", "ten"):
        result = run(path, "credits", "add", amount, "--now", T0.isoformat())
        assert result.returncode == 1, amount
        assert "Invalid value for 'N'" in result.stderr or "No such option" in result.stderr
