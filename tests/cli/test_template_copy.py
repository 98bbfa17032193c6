"""`campaignctl template copy OLD NEW`: a draft copy beside the original, comments kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from campaignctl.cli.main import _register, cli
from campaignctl.config import load
from tests.config.helpers import make_repo, write

EXAMPLE = Path(__file__).resolve().parents[2] / "campaigns.d"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _register()
    monkeypatch.chdir(tmp_path)
    shutil.copytree(EXAMPLE, tmp_path / "campaigns.d")
    return Path("campaigns.d")


def copy(*args: str) -> Result:
    return CliRunner().invoke(cli, ["template", "copy", *args])


def test_copy_of_a_published_template(repo: Path) -> None:
    result = copy("buyer-followup", "buyer-followup-v2")
    assert result.exit_code == 0
    assert result.output.startswith("campaigns.d/templates/buyer-followup-v2.yaml\nNext:\n")
    assert "campaignctl plan" in result.output
    original = (repo / "templates/buyer-followup.yaml").read_text()
    text = (repo / "templates/buyer-followup-v2.yaml").read_text()
    assert text.startswith(
        "# Draft copy of template 'buyer-followup' (templates/buyer-followup.yaml)"
    )
    assert "# yaml-language-server: $schema=../../schemas/template.schema.json" in text
    assert "  name: buyer-followup-v2\n" in text and "  status: draft\n" in text
    assert text.count("\n") == original.count("\n") + 1  # only the header line is added
    loaded = load(repo).require()
    copied, source = loaded.templates["buyer-followup-v2"], loaded.templates["buyer-followup"]
    assert copied.status == "draft" and source.status == "published"
    assert copied.steps == source.steps


def test_status_is_added_when_the_original_has_none(repo: Path) -> None:
    write(
        repo,
        "templates/plain.yaml",
        "apiVersion: campaignctl/v1\nkind: Template\nmetadata:\n  name: plain\nspec:\n"
        "    steps:\n      - body: Hi. Reply STOP to opt out.\n",
    )
    assert copy("plain", "plain-2").exit_code == 0
    text = (repo / "templates/plain-2.yaml").read_text()
    assert "spec:\n    status: draft\n    steps:\n" in text
    assert load(repo).require().templates["plain-2"].status == "draft"


def test_copy_out_of_a_multi_document_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _register()
    monkeypatch.chdir(tmp_path)
    root = make_repo(Path("campaigns.d"))
    template = (root / "templates/welcome.yaml").read_text()
    write(
        root,
        "templates/welcome.yaml",
        "# yaml-language-server: $schema=../../schemas/campaignctl.schema.json\n"
        + template.replace("status: published", "status: 'published'")
        + "---\n"
        + template.replace("name: welcome", "name: other").replace(
            "status: published", "status: draft"
        ),
    )
    result = copy("welcome", "welcome-2")
    assert result.exit_code == 0, result.output
    text = (root / "templates/welcome-2.yaml").read_text()
    assert text.count("kind: Template") == 1 and "name: other" not in text
    assert text.startswith(
        "# yaml-language-server: $schema=../../schemas/campaignctl.schema.json\n"
    )
    assert load(root).require().templates["welcome-2"].status == "draft"


def test_flow_style_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _register()
    monkeypatch.chdir(tmp_path)
    root = make_repo(Path("campaigns.d"))
    write(
        root,
        "templates/short.yaml",
        "apiVersion: campaignctl/v1\nkind: Template\nmetadata: {name: short}\n"
        "spec: {steps: [{body: 'Hi. Reply STOP to opt out.'}]}\n",
    )
    assert copy("short", "short-2").exit_code == 0
    assert load(root).require().templates["short-2"].status == "draft"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("nope", "x", "no template named 'nope' under campaigns.d"),
        ("buyer-followup", "seller-nurture", "a template named 'seller-nurture' exists"),
        ("buyer-followup", "Bad_Name", "'Bad_Name' is not a valid name"),
    ],
)
def test_refusals(repo: Path, old: str, new: str, message: str) -> None:
    before = sorted(p.name for p in (repo / "templates").iterdir())
    result = copy(old, new)
    assert result.exit_code == 1
    assert message in result.stderr
    assert sorted(p.name for p in (repo / "templates").iterdir()) == before


def test_refuses_when_the_file_exists(repo: Path) -> None:
    write(repo, "templates/spare.yaml", "# someone else's notes\n")
    result = copy("buyer-followup", "spare")
    assert result.exit_code == 1
    assert "campaigns.d/templates/spare.yaml: file exists" in result.stderr
    assert (repo / "templates/spare.yaml").read_text() == "# someone else's notes\n"
