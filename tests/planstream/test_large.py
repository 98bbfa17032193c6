"""A plan above 10,000 actions: it lists the first 10,000 (of the kinds that can number in
the millions; every send and status change) and counts the rest, exactly as an apply's
report does with the same actions in the same order; `--all-actions` writes every one of
them into a valid plan document; a saved plan that lists only some is applied after its
digest is checked against the state, and refused when the state or what is due changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from campaignctl.app.executor import BULK, LISTED, Report
from campaignctl.app.plan import make_plan
from campaignctl.app.planstream import stream_plan
from campaignctl.app.savedplan import read_plan
from campaignctl.cli.main import cli
from campaignctl.core.instants import parse_instant
from campaignctl.core.planjson import action_key, plan_from_json, plan_to_json
from campaignctl.core.planner import Planning, stages
from campaignctl.core.types import Plan
from campaignctl.store import Store
from tests.cli.repo import SETTINGS, Repo

NIGHT = "2026-03-04T08:00:00Z"  # 03:00 in New York: every first message waits
BEFORE_EIGHT = "2026-03-02T12:55:00Z"  # 07:55 in New York
AFTER_EIGHT = "2026-03-02T13:05:00Z"  # 08:05: the same plan's sends are due now
ROWS = 10_040


def large_repo(root: Path) -> Repo:
    """A campaign on a group of ROWS New York numbers, with a few rows refused (a blank
    name, a number twice, two rows that are no number)."""
    repo = Repo(root)
    repo.template()
    repo.write("settings.yaml", SETTINGS)
    rows = [f"+1212{2_000_000 + n:07d},Ana{n},Austin" for n in range(ROWS)]
    rows[7] = rows[7].replace(",Ana7,", ",,")  # missing_field
    rows += [rows[3], "12,Bo,Austin", "not a number,Cy,Austin"]
    repo.write("groups/open-house.csv", "phone,first_name,city\n" + "\n".join(rows) + "\n")
    repo.write(
        "groups/open-house.yaml",
        "apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata:\n  name: open-house\n"
        "spec:\n  defaultRegion: US\n  csv: open-house.csv\n",
    )
    repo.campaign()
    return repo


def run(repo: Repo, state: str, *args: str, now: str | None = None) -> Result:
    """The CLI, in this process, on the repository and the state (SQLite or PostgreSQL)."""
    at = ["--now", now] if now is not None else []
    base = ["--dir", str(repo.dir), "--state", state, *at]
    return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)


def whole_listing(repo: Repo, state: str, now: str) -> tuple[Plan, Plan]:
    """The whole plan in memory, and what an apply's report lists and counts of the same
    actions in the order they are decided."""
    at = parse_instant(now)
    with Store.open_for_reading(state) as store:
        planned = make_plan(repo.dir, store, at)
    planning = Planning(planned.desired, planned.snapshot, at)
    report = Report()
    for stage in stages(planned.desired, planned.snapshot, planning):
        report.add(stage.actions)
    return planned.plan, planning.result(report.listed, report.tallies())


def without_digest(plan: Plan) -> dict[str, Any]:
    data = plan_to_json(plan)
    data.pop("actions_digest", None)
    return data


def test_above_10000_actions_the_first_are_listed_and_the_rest_counted(
    tmp_path: Path, state: str
) -> None:
    repo = large_repo(tmp_path)
    whole, listed = whole_listing(repo, state, NIGHT)
    assert len(whole.actions) > 2 * LISTED  # an enrollment and a defer a contact
    with Store.open_for_reading(state) as store:
        streamed = stream_plan(repo.dir, store, parse_instant(NIGHT)).plan
    assert without_digest(streamed) == without_digest(listed)
    assert len(streamed.actions) == LISTED  # the launch, then the first 9,999 of the bulk
    assert sum(1 for a in streamed.actions if a.type not in BULK) == 1
    assert streamed.summary() == whole.summary()
    assert sum(t.count for t in streamed.tallies) + len(streamed.actions) == len(whole.actions)


def test_all_actions_writes_every_action_into_a_valid_document(tmp_path: Path, state: str) -> None:
    repo = large_repo(tmp_path)
    whole, _ = whole_listing(repo, state, NIGHT)
    saved = tmp_path / "every.json"
    result = run(repo, state, "plan", "--format", "json", "--all-actions", "--out", str(saved),
                 now=NIGHT)  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    expected = without_digest(whole)
    for data in (printed, json.loads(saved.read_text(encoding="utf-8"))):
        assert "unlisted" not in data
        assert data["actions"] == expected["actions"]
        assert data["summary"] == expected["summary"]
    read = plan_from_json(printed)  # its actions match its digest
    assert [action_key(a) for a in read.actions] == [action_key(a) for a in whole.actions]


def plan_out(repo: Repo, state: str, path: Path, now: str) -> dict[str, Any]:
    result = run(repo, state, "plan", "--out", str(path), now=now)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def enrollments(state: str) -> int:
    with Store.open(state, read_only=True) as store:
        return int(store._conn.execute("SELECT count(*) FROM enrollments").fetchone()[0])


def test_a_saved_plan_that_lists_some_actions_is_checked_and_applied(
    tmp_path: Path, state: str
) -> None:
    repo = large_repo(tmp_path)
    saved = plan_out(repo, state, tmp_path / "plan.json", NIGHT)
    assert saved["unlisted"] and saved["actions_digest"].startswith("sha256:")
    assert len(saved["actions"]) == LISTED
    applied = run(repo, state, "apply", str(tmp_path / "plan.json"), now=NIGHT)
    assert applied.exit_code == 0, applied.output
    assert enrollments(state) == saved["summary"]["enroll"] == ROWS - 1


def test_a_saved_plan_with_every_action_is_read_as_one_that_counts_them_and_applied(
    tmp_path: Path, state: str
) -> None:
    repo = large_repo(tmp_path)
    some = tmp_path / "plan.json"
    plan_out(repo, state, some, NIGHT)
    every = tmp_path / "every.json"
    result = run(repo, state, "plan", "--all-actions", "--out", str(every), now=NIGHT)
    assert result.exit_code == 0, result.output
    written = len(json.loads(every.read_text(encoding="utf-8"))["actions"])
    assert written > 2 * LISTED
    read, listing = read_plan(every), read_plan(some)
    assert len(read.actions) == LISTED  # the first of the file's, the rest counted
    assert len(read.actions) + sum(t.count for t in read.tallies) == written
    assert read.summary() == listing.summary()
    assert read.actions_digest == listing.actions_digest
    applied = run(repo, state, "apply", str(every), now=NIGHT)
    assert applied.exit_code == 0, applied.output
    assert enrollments(state) == ROWS - 1


def test_a_saved_plan_is_refused_when_the_state_changed(tmp_path: Path, state: str) -> None:
    repo = large_repo(tmp_path)
    plan_out(repo, state, tmp_path / "plan.json", NIGHT)
    assert run(repo, state, "optout", "add", "+12122000001", now=NIGHT).exit_code == 0
    refused = run(repo, state, "apply", str(tmp_path / "plan.json"), now=NIGHT)
    assert refused.exit_code == 1
    assert "the state changed since the plan was made" in refused.output
    assert enrollments(state) == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_saved_plan_is_refused_when_what_is_due_changed(tmp_path: Path, state: str) -> None:
    """Planned at 07:55 in New York (every first message waits for 08:00) and applied at
    08:05, within its quarter of an hour: the digest of what is due now differs."""
    repo = large_repo(tmp_path)
    assert run(repo, state, "credits", "add", "100000").exit_code == 0
    saved = plan_out(repo, state, tmp_path / "plan.json", BEFORE_EIGHT)
    assert "send" not in saved["summary"]
    refused = run(repo, state, "apply", str(tmp_path / "plan.json"), now=AFTER_EIGHT)
    assert refused.exit_code == 1
    assert "what is due now differs" in refused.output
    assert enrollments(state) == 0


def test_all_actions_needs_the_json_plan(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    result = run(repo, str(repo.state), "plan", "--all-actions", now=NIGHT)
    assert result.exit_code == 1
    assert "error: --all-actions writes the JSON plan: add --format json or --out" in result.output
    assert "Traceback" not in result.output


def test_o_is_short_for_out(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    state = str(repo.state)
    short, long = tmp_path / "short.json", tmp_path / "long.json"
    assert run(repo, state, "plan", "-o", str(short), now=NIGHT).exit_code == 0
    assert run(repo, state, "plan", "--out", str(long), now=NIGHT).exit_code == 0
    assert short.read_text(encoding="utf-8") == long.read_text(encoding="utf-8")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_large_plan_says_how_to_see_every_action(tmp_path: Path, state: str) -> None:
    """--verbose lists the first 10,000: the text and the markdown say so, and how to get
    every action."""
    repo = large_repo(tmp_path)
    summary = json.loads(run(repo, state, "plan", "--format", "json", now=NIGHT).stdout)["summary"]
    counted = sum(n for kind, n in summary.items() if kind != "credits") - LISTED
    text = run(repo, state, "plan", now=NIGHT).output
    assert (
        f"Run with --verbose to list the first {LISTED} actions (the other {counted} are "
        "counted above).\nEvery action: add --all-actions to --format json or --out FILE.\n"
    ) in text
    markdown = run(repo, state, "plan", "--format", "markdown", now=NIGHT).output
    assert "more actions: `campaignctl plan --verbose` lists them." in markdown
    assert (
        f"… and {counted} more enrollments, defers and skips, counted above "
        "(`campaignctl plan --format json --all-actions` lists every action;"
    ) in markdown
