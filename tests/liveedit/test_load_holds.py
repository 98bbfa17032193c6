"""Loading a configuration with a broken file: the good part is kept, and each error holds
exactly the campaigns that depend on the file it is in."""

from __future__ import annotations

from pathlib import Path

from campaignctl.config import load
from tests.liveedit.helpers import Live, campaign, template

FINE = "Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out."


def two(tmp_path: Path) -> Live:
    live = Live.standard(tmp_path, str(tmp_path / "unused.db"))
    live.write("templates/seller-nurture.yaml", template("seller-nurture", [(0, FINE)]))
    live.repo.group("expired", [("+14155550102", "Carl")])
    live.write(
        "campaigns/fall-sellers.yaml",
        campaign("fall-sellers", "seller-nurture", "expired", sender="+15125550148"),
    )
    return live


def held(live: Live) -> dict[str, str]:
    """The campaigns the configuration's errors hold, each with its error."""
    result = load(live.repo.dir)
    assert result.errors and result.desired is not None
    assert not set(result.desired.campaigns) & set(result.desired.held)
    return dict(result.desired.held)


def test_a_template_file_that_cannot_be_parsed_holds_only_its_campaign(tmp_path: Path) -> None:
    live = two(tmp_path)
    path = live.write("templates/seller-nurture.yaml", template("seller-nurture", [(0, FINE)]))
    path.write_text(path.read_text().replace("  steps:", "  steps: [\n"), encoding="utf-8")
    result = load(live.repo.dir)
    assert result.errors and result.desired is not None
    assert set(result.desired.campaigns) == {"spring-buyers"}
    assert set(result.desired.held) == {"fall-sellers"}
    assert "templates/seller-nurture.yaml:" in result.desired.held["fall-sellers"]


def test_a_group_error_holds_its_campaign_and_a_settings_error_holds_all(tmp_path: Path) -> None:
    live = two(tmp_path)
    csv = live.repo.dir / "groups/expired.csv"
    csv.write_text(csv.read_text() + "+14155550109,Eve\n", encoding="utf-8")
    errors = held(live)
    assert set(errors) == {"fall-sellers"}
    assert (
        "groups/expired.csv:3:1: 2 values, but the header has 3 columns" in errors["fall-sellers"]
    )
    live.repo.group("expired", [("+14155550102", "Carl")])  # the group fixed
    live.write("settings.yaml", "apiVersion: campaignctl/v1\nkind: Settings\nmetadata:\n"
               "  name: settings\nspec:\n  creditsPerSegment: -1\n")  # fmt: skip
    result = load(live.repo.dir)
    assert result.desired is not None and result.desired.campaigns == {}
    assert set(result.desired.held) == {"fall-sellers", "spring-buyers"}
    assert all("settings.yaml:6:" in error for error in result.desired.held.values())


def test_an_unknown_template_holds_the_campaign_naming_it(tmp_path: Path) -> None:
    live = two(tmp_path)
    live.write(
        "campaigns/fall-sellers.yaml",
        campaign("fall-sellers", "seller-nurtur", "expired", sender="+15125550148"),
    )
    errors = held(live)
    assert set(errors) == {"fall-sellers"}
    assert (
        "unknown template 'seller-nurtur' (did you mean 'seller-nurture'?)"
        in (errors["fall-sellers"])
    )
