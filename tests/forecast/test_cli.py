"""`campaignctl forecast` as a user meets it (text, JSON, CSV, errors, a suspended state, the
state left untouched) and its one line in the launch review of `plan`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from campaignctl.cli.main import cli
from campaignctl.core.types import Desired, Settings
from campaignctl.store import Store
from tests.cli.repo import Repo

NOON = "2026-03-02T17:00:00Z"  # 12:00 in New York, 11:00 in Chicago
LATER = "2026-03-03T17:00:00Z"
_NOTHING = Desired({}, {}, {}, frozenset(), Settings(), "sha256:none")


def funded(tmp_path: Path, credits: int = 3) -> Repo:
    """Two contacts (New York, Chicago), a two-step sequence 30 days apart, and credits
    for three of its four messages: the second step of the second contact finds the
    balance short on 2026-04-01."""
    repo = Repo(tmp_path).standard()
    assert repo.run("credits", "add", str(credits), now="2026-03-01T00:00:00Z").exit_code == 0
    return repo


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_help_teaches_with_examples(tmp_path: Path) -> None:
    shown = Repo(tmp_path).run("forecast", "--help").output
    assert "Examples:" in shown
    assert "campaignctl forecast --days 30 --now 2026-03-02T15:00:00Z" in shown
    assert "--format csv" in shown


def test_text_is_a_table_a_summary_and_the_assumptions(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    result = repo.run("forecast", "--days", "40", now=NOON)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Forecast for 40 days from 2026-03-02 (UTC days)",
        "",
        "  day         campaign       messages  credits",
        "  2026-03-02  spring-buyers         2        2",
        "  2026-04-01  spring-buyers         1        1",
        "",
        "Summary: 3 messages, 3 credits from 2026-03-02 to 2026-04-10; balance 3: credits last "
        "until 2026-04-01.",
        "Assumes nothing new happens: no contact is added, no one replies or opts out, no "
        "credits are added and the files stay as they are (a number waiting for another "
        "campaign to end is not counted joining it); the controller ticks every 15m.",
    ]


def test_json_and_csv_carry_the_same_figures(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    document = repo.json("forecast", "--days", "40", now=NOON)
    assert document["runs_out"] == "2026-04-01"
    assert document["balance"] == 3 and document["messages"] == 3
    assert document["rows"] == [
        {"day": "2026-03-02", "campaign": "spring-buyers", "messages": 2, "credits": 2},
        {"day": "2026-04-01", "campaign": "spring-buyers", "messages": 1, "credits": 1},
    ]
    assert len(document["per_day"]) == 40
    assert document["per_day"][0] == {"day": "2026-03-02", "messages": 2, "credits": 2}
    assert document["per_day"][1] == {"day": "2026-03-03", "messages": 0, "credits": 0}
    shown = repo.run("forecast", "--days", "40", "--format", "csv", now=NOON)
    assert shown.exit_code == 0
    assert list(csv.reader(io.StringIO(shown.output))) == [
        ["day", "campaign", "messages", "credits"],
        ["2026-03-02", "spring-buyers", "2", "2"],
        ["2026-04-01", "spring-buyers", "1", "1"],
    ]


def test_credits_that_last_are_said_to_last(tmp_path: Path) -> None:
    repo = funded(tmp_path, credits=100)
    document = repo.json("forecast", now=NOON)
    assert document["runs_out"] is None and document["messages"] == 4
    assert "credits last beyond the 90 days forecast" in repo.run("forecast", now=NOON).output


def test_the_forecast_writes_nothing(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    before = digest(repo.state)
    assert repo.run("forecast", now=NOON).exit_code == 0
    assert digest(repo.state) == before
    fresh = Repo(tmp_path / "fresh").standard()
    assert fresh.run("forecast", now=NOON).exit_code == 0
    assert not fresh.state.exists()


def test_a_suspended_state_sends_nothing_and_says_why(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    assert repo.run("suspend", "--reason", "wrong link", now=NOON).exit_code == 0
    document = repo.json("forecast", now=NOON)
    assert document["rows"] == [] and document["messages"] == 0
    assert "All sending is suspended (wrong link)" in document["assumptions"]


def test_errors_are_one_line(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.write("campaigns/broken.yaml", "apiVersion: campaignctl/v1\nkind: Campaign\n")
    done = repo.process("forecast", "--now", NOON)  # the others forecast; the error told
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "broken.yaml" in done.stderr and "the other campaigns were forecast" in done.stderr
    bad = repo.process("forecast", "--days", "0")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr


def test_other_commands_refuse_csv_in_one_line(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    done = repo.process("status", "--format", "csv")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: --format csv: `campaignctl status` writes only text or json"
    ]


def test_the_launch_review_says_how_long_the_credits_last(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    text = repo.run("plan", now=NOON)
    assert text.exit_code == 0, text.output
    assert "  forecast: credits last until 2026-04-01" in text.output.splitlines()
    markdown = repo.run("plan", "--format", "markdown", now=NOON)
    assert "  forecast: credits last until 2026-04-01" in markdown.output
    assert "forecast" not in json.dumps(repo.json("plan", now=NOON))
    assert repo.run("apply", now=NOON).exit_code == 0
    assert "orecast" not in repo.run("plan", now=LATER).output  # nothing to review


def test_a_plan_short_of_credits_says_when_they_ran_out(tmp_path: Path) -> None:
    repo = funded(tmp_path, credits=1)
    assert repo.run("apply", now=NOON).exit_code == 0  # one sent; the other is short
    text = repo.run("plan", now=LATER).output
    assert "Forecast: credits last until 2026-03-03" in text
    markdown = repo.run("plan", "--format", "markdown", now=LATER).output
    assert "**Forecast:** credits last until 2026-03-03." in markdown


def test_a_store_reads_what_is_due_in_the_planners_order(state: str, tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    base = ["--dir", str(repo.dir), "--state", state]
    runner = CliRunner()
    funds = runner.invoke(cli, [*base, "--now", "2026-03-01T00:00:00Z", "credits", "add", "1"])
    assert funds.exit_code == 0, funds.output
    done = runner.invoke(cli, [*base, "--now", NOON, "apply"])  # one sent, one short
    assert done.exit_code == 0, done.output
    noon = datetime(2026, 3, 2, 17, tzinfo=UTC)
    with Store.open(state) as store:
        serial = store.snapshot(_NOTHING, noon, with_due=False).serial
        now = store.upcoming(noon)
        ahead = store.upcoming(noon + timedelta(days=40))
    assert now.serial == ahead.serial == serial
    assert [e.phone for _, e in now.due] == ["+13125550101"]  # step 1, short of credits
    # the number sent to waits 30 days for step 2: after the other, due since noon
    assert [(e.phone, e.steps_sent) for _, e in ahead.due] == [
        ("+13125550101", 0),
        ("+12125550100", 1),
    ]
    rows = {e.phone: row for row, e in ahead.due}
    assert rows["+12125550100"] < rows["+13125550101"]  # enrolled first
    assert ahead.last_sent == {"+12125550100": noon}
