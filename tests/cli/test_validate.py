"""`campaignctl validate`: output formats, exit codes, and hostile input through the real CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaignctl.cli.main import _register, cli
from tests.config.helpers import make_repo

EXAMPLE = Path(__file__).resolve().parents[2] / "campaigns.d"
BAD_CAMPAIGN = """\
apiVersion: campaignctl/v1
kind: Campaign
metadata: {name: spring}
spec:
  template: welcom
  prospectGroup: leads
  sender: {from: "+15125550100"}
"""


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    _register()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("CAMPAIGNCTL_DIR", raising=False)
    return CliRunner()


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_example_text_report(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "campaigns.d")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "0 errors, 4 warnings in 10 files"
    findings = [line for line in lines[:-1] if line]
    assert all(": warning: " in line for line in findings)
    assert findings[0].startswith("campaigns.d/campaigns/fall-sellers.yaml:9:13: warning: ")
    # grouped by file: a blank line between files, none inside a file's group
    files = [line.split(":")[0] if line else "" for line in lines[:-2]]
    groups = "|".join(files).split("||")
    assert len(groups) == len({g.split("|")[0] for g in groups}) == 3


def test_errors_exit_1_with_file_line_col(runner: CliRunner, tmp_path: Path) -> None:
    make_repo(tmp_path / "campaigns.d", {"campaigns/spring.yaml": BAD_CAMPAIGN})
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "campaigns.d/campaigns/spring.yaml:5:13: error: unknown template 'welcom' "
        "(did you mean 'welcome'?)",
        "",
        "1 error, 0 warnings in 3 files",
    ]


def test_json_report(runner: CliRunner, tmp_path: Path) -> None:
    make_repo(tmp_path / "repo", {"campaigns/spring.yaml": BAD_CAMPAIGN})
    result = runner.invoke(cli, ["validate", "--dir", "repo", "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False
    assert (report["errors"], report["warnings"], report["files"]) == (1, 0, 3)
    assert report["issues"] == [
        {
            "severity": "error",
            "file": "repo/campaigns/spring.yaml",
            "line": 5,
            "col": 13,
            "message": "unknown template 'welcom' (did you mean 'welcome'?)",
            "code": "unknown_reference",
        }
    ]


def test_github_annotations_and_step_summary(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "campaigns.d")
    (tmp_path / "campaigns.d/campaigns/extra.yaml").write_text(
        BAD_CAMPAIGN.replace("spring", "extra").replace("leads", "walk-ins")
        + "---\napiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata: {name: walk-ins}\n"
        "spec: {contacts: [{phones: ['4155550100'], fields: {first_name: Ana, city: Austin}}]}\n"
    )
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = runner.invoke(cli, ["--format", "github", "validate"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        "::error file=campaigns.d/campaigns/extra.yaml,line=5,col=13::unknown template "
        "'welcom' (defined: buyer-followup, seller-nurture)"
    )
    assert sum(line.startswith("::warning file=") for line in lines) == 4
    assert lines[-1] == "1 error, 4 warnings in 11 files"
    report = summary.read_text()
    assert report.startswith("earlier step\n## campaignctl validate")
    assert "**invalid**: 1 error, 4 warnings in 11 files" in report
    assert "| error | `campaigns.d/campaigns/extra.yaml:5:13` | unknown template" in report
    assert report.count("| warning |") == 4


def test_strict_fails_on_warnings(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "campaigns.d")
    assert runner.invoke(cli, ["validate", "--strict"]).exit_code == 1


def test_directory_from_environment(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path / "elsewhere")
    monkeypatch.setenv("CAMPAIGNCTL_DIR", "elsewhere")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0
    assert result.output == "0 errors, 0 warnings in 3 files\n"


def test_usage_error_exits_1(tmp_path: Path) -> None:
    for args in (["validate", "--format", "xml"], ["validate", "--bogus"]):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 1, args
        assert "Traceback" not in done.stderr


HOSTILE: dict[str, tuple[str, bytes]] = {
    "empty": ("empty.yaml", b""),
    "binary": ("logo.yaml", bytes(range(256))),
    "ten megabytes": ("huge.yaml", b"a: '" + b"x" * 10_000_000 + b"'\n"),
    "billion laughs": (
        "bomb.yaml",
        b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + b"".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
            for i in range(9)
        ),
    ),
    "deep nesting": ("deep.yaml", b"[" * 5000 + b"]" * 5000),
    "duplicate keys": ("dup.yaml", b"kind: Template\nkind: Campaign\n"),
    "tabs": ("tabs.yaml", b"spec:\n\tstatus: draft\n"),
    "non-utf8 csv": (
        "groups/contacts/leads.csv",
        "first_name,phone\nJosé,4155550100\n".encode("cp1252"),
    ),
}
CSV_GROUP = b"apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata: {name: leads}\nspec: {csv: contacts/leads.csv}\n"


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_one_line_and_exit_1(case: str, tmp_path: Path) -> None:
    relative, content = HOSTILE[case]
    extra: dict[str, str | bytes] = {relative: content}
    if relative.endswith(".csv"):
        extra["groups/leads.yaml"] = CSV_GROUP
    make_repo(tmp_path / "campaigns.d", extra)
    done = run("validate", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in done.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 1, done.stdout
    assert errors[0].startswith(f"campaigns.d/{relative}:")
