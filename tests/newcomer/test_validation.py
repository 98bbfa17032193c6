"""What `validate` tells a newcomer, and that the exported JSON Schemas flag what it flags."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest
import yaml

from tests.cli.repo import Repo

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def findings(repo: Repo) -> list[str]:
    result = repo.run("validate")
    return result.stdout.splitlines()


def test_a_sender_that_is_not_a_valid_number_is_an_error(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard(sender="+15555550100")  # area code 555 does not exist
    result = repo.run("validate")
    assert result.exit_code == 1
    line = next(f for f in result.stdout.splitlines() if "sender" in f)
    assert line.startswith("campaigns.d/campaigns/spring-buyers.yaml:10:") or ":10:" in line
    assert "error:" in line and "'+15555550100' is not a valid phone number" in line


def test_a_placeholder_close_to_a_field_gets_did_you_mean(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    repo.write(
        "templates/buyer-followup.yaml",
        "apiVersion: campaignctl/v1\nkind: Template\nmetadata:\n  name: buyer-followup\n"
        "spec:\n  status: published\n  steps:\n"
        '    - body: "Hi {{ firstname }}, it\'s Sam at Acme Realty. Reply STOP to opt out."\n',
    )
    result = repo.run("validate")
    assert result.exit_code == 1
    assert "did you mean {{ first_name }}?" in result.stdout


def test_a_tab_in_the_indentation_is_named(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    repo.write(
        "settings.yaml",
        "apiVersion: campaignctl/v1\nkind: Settings\nmetadata:\n\tname: settings\nspec: {}\n",
    )
    result = repo.run("validate")
    assert result.exit_code == 1
    line = next(f for f in result.stdout.splitlines() if "settings.yaml" in f)
    assert "settings.yaml:4:1: error: a tab in the indentation" in line
    assert "spaces" in line


def test_a_semicolon_separated_csv_is_named(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    repo.write("groups/open-house.csv", "phone;first_name;city\n+12125550100;Ana;Austin\n")
    result = repo.run("validate")
    assert result.exit_code == 1
    line = next(f for f in result.stdout.splitlines() if "open-house.csv" in f)
    assert "open-house.csv:1:" in line
    assert "separated by semicolons (';'), not commas" in line


@pytest.mark.parametrize(
    ("kind", "path", "bad"),
    [
        ("campaign", ("spec", "sender", "dailyLimit"), 0),
        ("template", ("spec", "steps", 0, "body"), ""),
        ("settings", ("spec", "creditsPerSegment"), 0),
    ],
)
def test_the_exported_schemas_flag_what_validate_flags(
    tmp_path: Path, kind: str, path: tuple[str | int, ...], bad: object
) -> None:
    """An editor (any JSON Schema validator) reads only standard keywords: a bound written
    as pydantic's `ge` is not one, and would let `dailyLimit: 0` through."""
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    combined = json.loads((SCHEMAS / "campaignctl.schema.json").read_text())
    repo = Repo(tmp_path).standard()
    file = {"campaign": "campaigns/spring-buyers.yaml", "template": "templates/buyer-followup.yaml",
            "settings": "settings.yaml"}[kind]  # fmt: skip
    document = yaml.safe_load((repo.dir / file).read_text())
    jsonschema.validate(document, schema)  # the good one passes
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    for each in (schema, combined):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(document, each)
    (repo.dir / file).write_text(yaml.safe_dump(document))
    assert repo.run("validate").exit_code == 1
