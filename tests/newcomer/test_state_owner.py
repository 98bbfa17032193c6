"""A state belongs to one config directory (SPEC section 3): two sibling directories never
share the state beside them by accident, on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import Result

from tests.cli.repo import Repo
from tests.newcomer.helpers import cli

NOON = "2026-03-02T17:00:00Z"


def teams(root: Path) -> tuple[Repo, Repo]:
    """Two sibling config directories, teamA and teamB, each a whole configuration."""
    a, b = Repo(root / "a"), Repo(root / "b")
    a.standard()
    b.standard(group="open-house")
    for repo, name in ((a, "teamA"), (b, "teamB")):
        shutil.move(repo.dir, root / name)
    return a, b


def run(root: Path, directory: str, state: str | None, *args: str) -> Result:
    base = ["--dir", str(root / directory), "--now", NOON]
    if state is not None:
        base += ["--state", state]
    return cli(*base, *args)


def test_a_sibling_directory_is_refused_the_state_of_another(tmp_path: Path, state: str) -> None:
    teams(tmp_path)
    assert run(tmp_path, "teamA", state, "credits", "add", "10").exit_code == 0
    applied = run(tmp_path, "teamA", state, "apply")
    assert applied.exit_code == 0, applied.output
    for command in (["plan"], ["apply"], ["status"], ["explain", "+12125550100"],
                    ["credits", "add", "5"]):  # fmt: skip
        refused = run(tmp_path, "teamB", state, *command)
        assert refused.exit_code == 1, (command, refused.output)
        line = refused.stderr.strip()
        assert "\n" not in line
        assert "belongs to the config directory teamA" in line
        assert f"not to teamB ({(tmp_path / 'teamB').resolve()})" in line
        assert str((tmp_path / "teamA").resolve()) in line
        assert "--adopt-dir" in line and "--state" in line
    # nothing of teamA's was touched by teamB's attempts
    assert run(tmp_path, "teamA", state, "plan", "--detailed-exitcode").exit_code == 0


def test_the_default_state_of_two_siblings_is_never_shared(tmp_path: Path) -> None:
    """Without --state both would use ./.campaignctl/state.db beside them."""
    teams(tmp_path)
    assert run(tmp_path, "teamA", None, "apply").exit_code == 0
    assert (tmp_path / ".campaignctl" / "state.db").exists()
    refused = run(tmp_path, "teamB", None, "apply")
    assert refused.exit_code == 1
    assert "--state .campaignctl/teamB.db" in refused.stderr or "teamB.db" in refused.stderr


def test_adopt_dir_takes_the_state_over_and_records_the_new_name(
    tmp_path: Path, state: str
) -> None:
    teams(tmp_path)
    assert run(tmp_path, "teamA", state, "apply").exit_code == 0
    shutil.move(tmp_path / "teamA", tmp_path / "team-a")  # renamed
    assert run(tmp_path, "team-a", state, "plan").exit_code == 1
    adopted = run(tmp_path, "team-a", state, "apply", "--adopt-dir")
    assert adopted.exit_code == 0, adopted.output
    assert run(tmp_path, "team-a", state, "plan").exit_code == 0  # recorded: no flag needed
    assert run(tmp_path, "teamB", state, "plan").exit_code == 1


def test_a_checkout_moved_elsewhere_keeps_its_state(tmp_path: Path, state: str) -> None:
    """CI plans against the live state from a checkout of another path, same directory name."""
    teams(tmp_path)
    assert run(tmp_path, "teamA", state, "apply").exit_code == 0
    (tmp_path / "ci").mkdir()
    shutil.copytree(tmp_path / "teamA", tmp_path / "ci" / "teamA")
    planned = run(tmp_path / "ci", "teamA", state, "plan")
    assert planned.exit_code == 0, planned.output


def test_read_commands_never_record_an_owner(tmp_path: Path, state: str) -> None:
    """plan against a state nobody applied yet records nothing (CI's role may only read)."""
    teams(tmp_path)
    assert run(tmp_path, "teamA", state, "credits", "add", "10").exit_code == 0
    assert run(tmp_path, "teamA", state, "plan").exit_code == 0
    assert run(tmp_path, "teamB", state, "apply").exit_code == 0  # the first apply owns it
    assert run(tmp_path, "teamA", state, "plan").exit_code == 1


def test_plan_and_apply_name_their_state_in_their_first_line(tmp_path: Path, state: str) -> None:
    teams(tmp_path)
    shown = state if "://" not in state else state.rsplit("/", 1)[-1].split("?")[0]
    for command in ("plan", "apply"):
        result = run(tmp_path, "teamA", state, command)
        assert result.exit_code == 0, result.output
        first = result.stdout.splitlines()[0]
        assert first.startswith("State: "), first
        assert shown in first and "teamA" in first
