"""load(): the example repository, the Desired it builds, digests, paths and ordering."""

from __future__ import annotations

import shutil
from datetime import time, timedelta
from pathlib import Path

import pytest

from campaignctl.config import load
from campaignctl.errors import ConfigError
from tests.config.helpers import TEMPLATE, found, load_repo, make_repo, messages, write

EXAMPLE = Path(__file__).resolve().parents[2] / "campaigns.d"


def test_example_repository_is_valid_with_warnings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE.parent)
    result = load(Path("campaigns.d"))
    assert result.ok, messages(result)
    assert {issue.code for issue in result.issues} == {
        "template_not_published",
        "missing_field",
        "invalid_phone",
        "ucs2",
    }
    desired = result.require()
    assert set(desired.campaigns) == {"spring-buyers", "fall-sellers"}
    assert desired.campaigns["spring-buyers"].status == "active"
    assert desired.campaigns["fall-sellers"].sender.messaging_service_sid is not None
    assert {t.status for t in desired.templates.values()} == {"published", "draft"}
    open_house = desired.groups["spring-open-house"]
    assert 45 <= len(open_house.contacts) <= 55
    assert len(open_house.invalid) == 1
    zones = {contact.phone: contact.zones for contact in open_house.contacts}
    assert zones["+12085550100"] == ("America/Boise", "America/Los_Angeles")
    assert zones["+18005550199"] == ("America/Denver",)  # toll-free, explicit timezone
    assert zones["+16025550142"] == ("America/Phoenix",)
    assert zones["+18085550100"] == ("Pacific/Honolulu",)
    assert desired.groups["expired-listings"].contacts
    assert "+14155550142" in desired.dnc  # from registry-415.txt, "AAA,NNNNNNN"
    assert desired.settings.reconcile_interval == timedelta(minutes=15)
    assert "campaigns.d/dnc/registry-415.txt" in result.files
    assert "campaigns.d/groups/contacts/spring-open-house.csv" in result.files


def test_desired_fields_and_locations(root: Path) -> None:
    campaign = """\
        apiVersion: campaignctl/v1
        kind: Campaign
        metadata:
          name: spring
          labels: {team: east}
          description: Spring buyers
        spec:
          template: welcome
          prospectGroup: leads
          status: paused
          sender:
            from: "+15125550100"
            messagesPerSecond: 2.5
            dailyLimit: 500
          quietHours: {start: "09:30", end: "20:00"}
          stopOnReply: false
        """
    desired = load_repo(root, {"campaigns/spring.yaml": campaign}).require()
    spec = desired.campaigns["spring"]
    assert (spec.status, spec.template, spec.prospect_group) == ("paused", "welcome", "leads")
    assert spec.sender.from_number == "+15125550100"
    assert spec.sender.messages_per_second == 2.5 and spec.sender.daily_limit == 500
    assert spec.quiet_hours.start == time(9, 30) and spec.quiet_hours.end == time(20, 0)
    assert spec.stop_on_reply is False
    assert spec.labels == {"team": "east"} and spec.description == "Spring buyers"
    assert str(spec.source) == "campaigns.d/campaigns/spring.yaml:1:1"
    assert str(spec.locations["spec.sender.from"]) == "campaigns.d/campaigns/spring.yaml:12:11"
    assert str(spec.locations["spec.quietHours.end"]) == "campaigns.d/campaigns/spring.yaml:15:37"
    template = desired.templates["welcome"]
    assert [step.wait_days for step in template.steps] == [0, 30]
    assert (
        str(template.locations["spec.steps[1].body"]) == "campaigns.d/templates/welcome.yaml:10:13"
    )
    assert str(template.locations["spec.steps"]) == "campaigns.d/templates/welcome.yaml:8:5"


def test_multi_document_files(root: Path) -> None:
    result = load_repo(root, {"all.yaml": "---\n" + TEMPLATE.replace("welcome", "second")})
    assert result.ok
    assert str(result.require().templates["second"].source) == "campaigns.d/all.yaml:2:1"


def test_require_raises_config_error_with_every_error(root: Path) -> None:
    result = load_repo(root, {"a.yaml": "kind: Nope\n", "b.yaml": "x: [\n"})
    with pytest.raises(ConfigError) as caught:
        result.require()
    assert [i.location.file for i in caught.value.issues if i.location] == [
        "campaigns.d/a.yaml",
        "campaigns.d/b.yaml",
    ]
    assert str(caught.value).count("\n") == 1


def test_issues_are_sorted_by_file_then_line(root: Path) -> None:
    result = load_repo(
        root, {"z.yaml": "kind: Nope\n", "a.yaml": "\n\nkind: Nope\n", "m.yaml": "x: ["}
    )
    keys = [(f, line) for f, line, _, _ in found(result)]
    assert keys == sorted(keys)


def test_paths_outside_the_working_directory_are_absolute(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "elsewhere", {"bad.yaml": "kind: Nope\n"})
    result = load(root)
    assert found(result) == [(f"{root.as_posix()}/bad.yaml", 1, "error", "schema")]


def test_config_digest_depends_on_content_not_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo" / "campaigns.d")
    first = load(root).require().config_digest
    monkeypatch.chdir(tmp_path / "repo")
    assert load(Path("campaigns.d")).require().config_digest == first
    copy = tmp_path / "copy" / "campaigns.d"
    shutil.copytree(root, copy)
    assert load(copy).require().config_digest == first
    write(copy, "notes.yaml", "apiVersion: campaignctl/v1\nkind: Settings\nmetadata: {name: s}\n")
    assert load(copy).require().config_digest != first
    (copy / "notes.yaml").unlink()
    (copy / "groups/leads.yaml").rename(copy / "groups/leads2.yaml")
    assert load(copy).require().config_digest != first  # paths count, not only bytes


def test_empty_directory_is_valid_with_a_warning(root: Path) -> None:
    root.mkdir()
    result = load(root)
    assert result.ok
    assert found(result) == [("campaigns.d", None, "warning", "file")]
    assert result.require().campaigns == {}


def test_a_yaml_link_to_a_file_outside_the_directory_is_refused_not_read(root: Path) -> None:
    make_repo(root)
    secret = Path("outside") / "welcome.yaml"  # beside campaigns.d, not in it
    secret.parent.mkdir()
    (root / "templates/welcome.yaml").rename(secret)
    (root / "templates/welcome.yaml").symlink_to(Path("../../outside/welcome.yaml"))
    (root / "campaigns/again.yaml").symlink_to(Path("spring.yaml"))  # inside: read as usual
    result = load(root)
    assert found(result, "file") == [("campaigns.d/templates/welcome.yaml", None, "error", "file")]
    assert messages(result, "file") == [
        "campaigns.d/templates/welcome.yaml: error: a link to outside/welcome.yaml, outside "
        "campaigns.d: only files inside the config directory are read (copy the file in instead)"
    ]
    assert "outside/welcome.yaml" not in result.files
    assert "campaigns.d/templates/welcome.yaml" not in result.files
    assert found(result, "duplicate_name")  # the link inside was read: spring twice
    assert not found(result, "unknown_reference")  # a reference into it is not guessed at
