"""`campaignctl schema export`, and the committed schemas/ staying in step with the models."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from campaignctl.cli.main import _register, cli
from campaignctl.config.loader import iter_documents
from campaignctl.config.schema import combined_schema, render_schema, schema_files, validator_for

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "schemas"


def test_committed_schemas_match_the_models() -> None:
    """Fails when a model changed without `make schemas` (campaignctl schema export schemas)."""
    expected = schema_files()
    committed = {path.name for path in COMMITTED.glob("*.json")}
    assert committed == set(expected), "run: campaignctl schema export schemas"
    for name, schema in expected.items():
        text = (COMMITTED / name).read_text(encoding="utf-8")
        assert text == render_schema(schema), f"schemas/{name} is stale: run `make schemas`"


@pytest.mark.parametrize("name", sorted(schema_files()))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(json.loads((COMMITTED / name).read_text()))


def test_every_example_document_matches_one_branch_of_the_combined_schema() -> None:
    combined = Draft202012Validator(combined_schema())
    documents = list(iter_documents(REPO / "campaigns.d"))
    assert len(documents) == 8
    for document in documents:
        assert combined.is_valid(document.data), document.file
        assert validator_for(document.data["kind"]).is_valid(document.data)
    wrong = dict(documents[0].data, kind="Campaign")
    assert not combined.is_valid(wrong)


def test_export_writes_every_file_and_check_detects_staleness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register()
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    stale = runner.invoke(cli, ["schema", "export", "out", "--check"])
    assert stale.exit_code == 1
    written = runner.invoke(cli, ["schema", "export", "out"])
    assert written.exit_code == 0
    assert sorted(written.output.split()) == sorted(f"out/{name}" for name in schema_files())
    fresh = runner.invoke(cli, ["schema", "export", "out", "--check"])
    assert (fresh.exit_code, fresh.output) == (0, "out: up to date\n")
    (tmp_path / "out" / "template.schema.json").write_text("{}\n")
    assert runner.invoke(cli, ["schema", "export", "out", "--check"]).exit_code == 1


def test_check_message_names_the_stale_files(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "campaignctl", "schema", "export", "out", "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: out: out of date: template.schema.json, ")
    assert "campaignctl schema export out" in done.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("check_jsonschema") is None, reason="check-jsonschema not installed"
)
def test_editor_schema_agrees_with_check_jsonschema(tmp_path: Path) -> None:
    """The committed schema, used by a third-party tool, accepts the example and rejects a typo."""
    schema = COMMITTED / "campaignctl.schema.json"
    examples = sorted(str(p) for p in (REPO / "campaigns.d").rglob("*.yaml"))
    typo = tmp_path / "typo.yaml"
    typo.write_text(
        "apiVersion: campaignctl/v1\nkind: Campaign\nmetadata: {name: x}\n"
        "spec: {template: t, prospectGroup: g, sender: {from: '+15125550100'}, stopOnReplay: true}\n"
    )
    command = [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema)]
    good = subprocess.run([*command, *examples], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = subprocess.run([*command, str(typo)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
