"""What carriers check in content: the brand in the first message, a HELP answer with the
brand and a contact, public link shorteners, SHAFT terms. Warned by `validate` at the file and
line concerned, refused by `validate --strict`, repeated in the launch review of `plan`, and
the HELP answer of `webhooks serve` taken from Settings."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignctl.core.content import body_findings, brand_finding, help_text_findings
from tests.cli.repo import Repo
from tests.delivery.cli import env_for, start_webhooks
from tests.delivery.helpers import AUTH_TOKEN, closed_port, inbound, post_signed

SETTINGS = """\
apiVersion: campaignctl/v1
kind: Settings
metadata: {{name: settings}}
spec:
  brand: Acme Realty
{help}
"""


@pytest.mark.parametrize(
    "body",
    [
        "See https://bit.ly/3xYz for photos",
        "photos: bit.ly/abc",
        "Listings at HTTPS://TinyURL.com/acme-homes",
        "www.rb.gy/q1",
    ],
)
def test_public_shorteners_are_found(body: str) -> None:
    assert [f.code for f in body_findings(body)] == ["content_shortener"]


@pytest.mark.parametrize(
    "body",
    [
        "See https://acmerealty.com/homes for photos",
        "the orbit.lyon.example site",  # a longer domain that only contains a shortener
        "email jo@bit.lyfe.com",
        "Sussex county homes, Gunnison listings, a wine-red door? no: a cellar",
    ],
)
def test_ordinary_text_and_own_domains_are_not_flagged_as_shorteners(body: str) -> None:
    assert "content_shortener" not in [f.code for f in body_findings(body)]


@pytest.mark.parametrize(
    ("body", "terms"),
    [
        ("Open house Saturday, free WINE and cheese!", "'wine' (alcohol)"),
        ("Gun-show weekend deals", "'gun show' (firearms)"),
        ("Near the CBD dispensary", "'cbd', 'dispensary' (cannabis)"),
        ("No vaping inside; e-cig users outside", "'vaping', 'e cig' (tobacco)"),
    ],
)
def test_shaft_terms_are_named_with_their_category(body: str, terms: str) -> None:
    found = [f.message for f in body_findings(body) if f.code == "content_shaft"]
    assert len(found) == 1 and found[0].startswith(f"mentions {terms}"), found


@pytest.mark.parametrize(
    "body",
    ["Sussex County homes", "Gunnison, CO listings", "Weedon Road open house", "Rumford Ave"],
)
def test_words_containing_a_term_are_not_shaft(body: str) -> None:
    assert body_findings(body) == []


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_is_judged_without_error(body: str) -> None:
    for finding in body_findings(body):
        assert finding.code in ("content_shortener", "content_shaft")


def test_the_brand_is_found_in_any_case_and_spacing() -> None:
    assert (
        brand_finding("hi, it's Sam at ACME  realty. Reply STOP to opt out", "Acme Realty") is None
    )
    assert brand_finding("hi, it's Sam. Reply STOP to opt out", "Acme Realty") is not None
    assert brand_finding("hi, it's Sam at Acme", "Acme Realty") is not None
    assert brand_finding("anything", None) is None


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("Acme Realty: call 512-555-0100 for help. Reply STOP to opt out.", 0),
        ("Acme Realty help: help@acmerealty.com", 0),
        ("Acme Realty, see acmerealty.com", 0),
        ("Acme Realty. Reply STOP to opt out.", 1),  # no contact
        ("Call 512-555-0100.", 1),  # no brand
        ("Reply STOP to opt out.", 2),
    ],
)
def test_a_help_answer_needs_the_brand_and_a_contact(text: str, problems: int) -> None:
    assert len(help_text_findings(text, "Acme Realty")) == problems


def _repo(tmp_path: Path, first_step: str, help_line: str) -> Repo:
    repo = Repo(tmp_path).standard()
    repo.write("settings.yaml", SETTINGS.format(help=help_line))
    path = repo.dir / "templates" / "buyer-followup.yaml"
    template = path.read_text()
    old = "Hi {{ first_name }}, it's Sam at Acme Realty. Still looking in {{ city | default('town') }}? Reply STOP to opt out."
    assert old in template
    path.write_text(template.replace(old, first_step))
    return repo


def _content_issues(repo: Repo) -> list[dict[str, Any]]:
    done = repo.run("validate", "--format", "json")
    assert done.exit_code == 0, done.output
    issues: list[dict[str, Any]] = json.loads(done.output)["issues"]
    return [i for i in issues if i["code"].startswith("content_")]


def test_validate_warns_at_the_line_and_strict_refuses(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        "Hi {{ first_name }}, open house with free beer: bit.ly/acme. Reply STOP to opt out.",
        '  helpText: "Reply STOP to opt out."',
    )
    issues = _content_issues(repo)
    codes = sorted(i["code"] for i in issues)
    assert codes == [
        "content_brand", "content_help", "content_help", "content_shaft", "content_shortener"
    ]  # fmt: skip
    lines = {i["code"]: (i["file"], i["line"]) for i in issues}
    assert lines["content_brand"] == (lines["content_brand"][0], 8)
    assert lines["content_brand"][0].endswith("buyer-followup.yaml")
    assert lines["content_help"] == (lines["content_help"][0], 6)
    assert lines["content_help"][0].endswith("settings.yaml")
    strict = repo.run("validate", "--strict")
    assert strict.exit_code == 1
    assert "bit.ly" in strict.output and "Acme Realty" in strict.output


def test_a_clean_first_message_and_help_answer_warn_nothing(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        "Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out.",
        '  helpText: "Acme Realty: call 512-555-0100. Reply STOP to opt out."',
    )
    assert _content_issues(repo) == []


def test_the_launch_review_repeats_the_content_warnings(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        "Hi {{ first_name }}, see tinyurl.com/acme. Reply STOP to opt out.",
        "",
    )
    done = repo.run("plan", now="2026-03-02T17:00:00Z")
    assert done.exit_code == 0, done.output
    assert "  warning: the first step does not name the brand 'Acme Realty'" in done.output
    assert "  warning: step 1 links through the public shortener tinyurl.com" in done.output


def test_webhooks_answer_help_with_the_settings_help_text(tmp_path: Path) -> None:
    answer = "Acme Realty: call 512-555-0100. Reply STOP to opt out."
    repo = _repo(
        tmp_path,
        "Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out.",
        f'  helpText: "{answer}"',
    )
    port = closed_port()
    env = env_for(TWILIO_AUTH_TOKEN=AUTH_TOKEN, CAMPAIGNCTL_PUBLIC_URL=f"http://127.0.0.1:{port}")
    args = ["--port", str(port), "--dir", str(repo.dir), "--state", str(repo.state)]
    process, url = start_webhooks(args, env, tmp_path)
    try:
        status, _, body = post_signed(f"{url}/twilio/inbound", inbound("+14155550100", "HELP"))
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    assert status == 200
    assert f"<Message>{answer}</Message>" in body
