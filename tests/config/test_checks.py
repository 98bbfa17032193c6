"""Every check and warning of `validate`, each at its exact file and line."""

from __future__ import annotations

from pathlib import Path

from tests.config.helpers import CAMPAIGN, GROUP, TEMPLATE, found, load_repo, messages

T = "campaigns.d/templates/welcome.yaml"
C = "campaigns.d/campaigns/spring.yaml"
G = "campaigns.d/groups/leads.yaml"


def template(steps: str, status: str = "published", name: str = "welcome") -> str:
    return (
        f"apiVersion: campaignctl/v1\nkind: Template\nmetadata:\n  name: {name}\n"
        f"spec:\n  status: {status}\n  steps:\n{steps}"
    )


def campaign(
    extra: str = "",
    name: str = "spring",
    template: str = "welcome",
    group: str = "leads",
    status: str = "active",
) -> str:
    return (
        f"apiVersion: campaignctl/v1\nkind: Campaign\nmetadata:\n  name: {name}\nspec:\n"
        f"  template: {template}\n  prospectGroup: {group}\n  status: {status}\n"
        f'  sender:\n    from: "+15125550100"\n{extra}'
    )


def test_base_repo_is_valid(root: Path) -> None:
    result = load_repo(root)
    assert result.ok and result.issues == (), messages(result)


# --------------------------------------------------------------------------- errors


def test_duplicate_name_reported_at_the_second(root: Path) -> None:
    result = load_repo(root, {"templates/zz-copy.yaml": TEMPLATE})
    assert found(result) == [("campaigns.d/templates/zz-copy.yaml", 4, "error", "duplicate_name")]
    assert f"first defined at {T}:4:9" in messages(result)[0]


def test_same_name_in_different_kinds_is_fine(root: Path) -> None:
    group = GROUP.replace("name: leads", "name: welcome")
    result = load_repo(root, {"groups/welcome.yaml": group})
    assert result.ok, messages(result)


def test_second_settings(root: Path) -> None:
    settings = "apiVersion: campaignctl/v1\nkind: Settings\nmetadata: {name: main}\n"
    result = load_repo(root, {"a.yaml": settings, "b.yaml": "---\n" + settings})
    assert found(result) == [("campaigns.d/b.yaml", 2, "error", "duplicate_name")]


def test_unknown_template_suggests_a_close_name(root: Path) -> None:
    result = load_repo(root, {"campaigns/spring.yaml": campaign(template="welcom")})
    assert found(result) == [(C, 6, "error", "unknown_reference")]
    assert "unknown template 'welcom' (did you mean 'welcome'?)" in messages(result)[0]


def test_unknown_group(root: Path) -> None:
    result = load_repo(root, {"campaigns/spring.yaml": campaign(group="nobody")})
    assert found(result) == [(C, 7, "error", "unknown_reference")]


def test_reference_to_an_invalid_template_is_not_a_second_error(root: Path) -> None:
    broken = TEMPLATE.replace("status: published", "status: publishd")
    result = load_repo(root, {"templates/welcome.yaml": broken})
    assert found(result) == [(T, 6, "error", "schema")]


def test_active_campaign_on_a_draft_template(root: Path) -> None:
    result = load_repo(root, {"templates/welcome.yaml": TEMPLATE.replace("published", "draft")})
    assert found(result) == [(C, 6, "error", "template_not_published")]


def test_draft_campaign_on_a_draft_template_is_a_warning(root: Path) -> None:
    result = load_repo(
        root,
        {
            "templates/welcome.yaml": TEMPLATE.replace("published", "draft"),
            "campaigns/spring.yaml": campaign(status="draft"),
        },
    )
    assert result.ok
    assert found(result) == [(C, 6, "warning", "template_not_published")]


def test_group_backs_at_most_one_campaign(root: Path) -> None:
    result = load_repo(root, {"campaigns/z-second.yaml": campaign(name="autumn")})
    assert found(result) == [("campaigns.d/campaigns/z-second.yaml", 7, "error", "group_shared")]
    assert f"already backs campaign 'spring' ({C}:7:18)" in messages(result)[0]


def test_wait_days_below_30(root: Path) -> None:
    steps = "    - body: Hi. Reply STOP to opt out.\n    - waitDays: 29\n      body: Again.\n"
    result = load_repo(root, {"templates/welcome.yaml": template(steps)})
    assert found(result) == [(T, 9, "error", "schema")]
    assert "spec.steps[1].waitDays: waitDays must be at least 30" in messages(result)[0]


def test_later_step_without_wait_days(root: Path) -> None:
    steps = "    - body: Hi. Reply STOP to opt out.\n    - body: Again.\n"
    result = load_repo(root, {"templates/welcome.yaml": template(steps)})
    assert found(result) == [(T, 9, "error", "schema")]
    assert "spec.steps[1]: missing required field 'waitDays'" in messages(result)[0]


def test_first_step_with_wait_days(root: Path) -> None:
    steps = "    - waitDays: 3\n      body: Hi. Reply STOP to opt out.\n"
    result = load_repo(root, {"templates/welcome.yaml": template(steps)})
    assert found(result) == [(T, 8, "error", "schema")]
    assert "first step goes out at enrollment" in messages(result)[0]


def test_placeholder_naming_a_field_the_group_lacks(root: Path) -> None:
    steps = (
        "    - body: Hi {{ first_name }}. Reply STOP to opt out.\n"
        "    - waitDays: 30\n      body: News in {{ city }}.\n"
    )
    result = load_repo(root, {"templates/welcome.yaml": template(steps)})
    assert found(result) == [(T, 10, "error", "placeholder_field")]
    assert "step 2 uses {{ city }}, but prospect group 'leads'" in messages(result)[0]


def test_placeholder_with_default_needs_no_field(root: Path) -> None:
    steps = "    - body: Hi {{ city | default('there') }}. Reply STOP to opt out.\n"
    result = load_repo(root, {"templates/welcome.yaml": template(steps)})
    assert result.ok and result.issues == ()


def test_template_syntax_error_line_inside_a_block_body(root: Path) -> None:
    steps = "    - body: |\n        Hi there.\n        {% if x %}STOP{% endif %}\n"
    result = load_repo(root, {"templates/welcome.yaml": template(steps)})
    assert found(result, "template_syntax") == [(T, 10, "error", "template_syntax")]


def test_quiet_hours_must_stay_inside_8_to_21(root: Path) -> None:
    early = campaign('  quietHours:\n    start: "07:30"\n    end: "21:00"\n')
    result = load_repo(root, {"campaigns/spring.yaml": early})
    assert found(result) == [(C, 12, "error", "schema")]
    late = campaign('  quietHours: {start: "09:00", end: "21:30"}\n')
    result = load_repo(root, {"campaigns/spring.yaml": late})
    assert found(result) == [(C, 11, "error", "schema")]
    assert (
        "spec.quietHours.end: expected a time HH:MM between 08:00 and 21:00"
        in (messages(result)[0])
    )


def test_quiet_hours_start_before_end(root: Path) -> None:
    backwards = campaign('  quietHours:\n    start: "20:00"\n    end: "09:00"\n')
    result = load_repo(root, {"campaigns/spring.yaml": backwards})
    assert found(result) == [(C, 12, "error", "schema")]
    assert "start 20:00 must be before end 09:00" in messages(result)[0]


def test_unknown_field_at_its_key_with_a_suggestion(root: Path) -> None:
    typo = CAMPAIGN.replace("  status: active\n", "  status: active\n  stopOnReplay: false\n")
    result = load_repo(root, {"campaigns/spring.yaml": typo})
    assert found(result) == [(C, 9, "error", "schema")]
    assert (
        "unknown field 'stopOnReplay' in spec (did you mean 'stopOnReply'?)" in messages(result)[0]
    )


def test_missing_required_field(root: Path) -> None:
    result = load_repo(root, {"campaigns/spring.yaml": CAMPAIGN.split("  sender:")[0]})
    assert found(result) == [(C, 6, "error", "schema")]
    assert "spec: missing required field 'sender'" in messages(result)[0]


def test_sender_needs_exactly_one_identity(root: Path) -> None:
    both = campaign("    messagingServiceSid: MG" + "a" * 32 + "\n")
    result = load_repo(root, {"campaigns/spring.yaml": both})
    assert found(result) == [(C, 10, "error", "schema")]
    assert "exactly one of 'from' or 'messagingServiceSid'" in messages(result)[0]


def test_sender_number_must_be_e164(root: Path) -> None:
    result = load_repo(
        root, {"campaigns/spring.yaml": CAMPAIGN.replace('"+15125550100"', "512-555-0100")}
    )
    assert found(result) == [(C, 10, "error", "schema")]


def test_bad_api_version_and_kind(root: Path) -> None:
    result = load_repo(
        root,
        {
            "a.yaml": "apiVersion: campaignctl/v2\nkind: Settings\nmetadata: {name: x}\n",
            "b.yaml": "apiVersion: campaignctl/v1\nkind: Campain\nmetadata: {name: x}\n",
        },
    )
    assert found(result) == [
        ("campaigns.d/a.yaml", 1, "error", "schema"),
        ("campaigns.d/b.yaml", 2, "error", "schema"),
    ]
    assert "apiVersion: must be 'campaignctl/v1', not 'campaignctl/v2'" in messages(result)[0]
    assert "(did you mean 'Campaign'?)" in messages(result)[1]


def test_invalid_explicit_timezone_inline(root: Path) -> None:
    group = GROUP.replace(
        "fields: {first_name: Ben}", "fields: {first_name: Ben}\n      timezone: Mars/Base"
    )
    result = load_repo(root, {"groups/leads.yaml": group})
    assert found(result) == [(G, 11, "error", "schema")]
    assert "'Mars/Base' is not an IANA time zone" in messages(result)[0]


def test_invalid_timezone_fallback(root: Path) -> None:
    settings = "apiVersion: campaignctl/v1\nkind: Settings\nmetadata: {name: s}\nspec:\n  timezoneFallback: EST5\n"
    result = load_repo(root, {"settings.yaml": settings})
    assert found(result) == [("campaigns.d/settings.yaml", 5, "error", "schema")]


# --------------------------------------------------------------------------- warnings


def test_more_than_three_segments(root: Path) -> None:
    body = "Hi. Reply STOP to opt out. " + "x" * 470
    result = load_repo(root, {"templates/welcome.yaml": template(f"    - body: {body}\n")})
    assert result.ok
    assert found(result) == [(T, 8, "warning", "segments")]
    assert "step 1 needs 4 segments (GSM-7" in messages(result)[0]


def test_character_forcing_ucs2_is_named(root: Path) -> None:
    steps = "    - body: Let’s talk. Reply STOP to opt out.\n"
    result = load_repo(root, {"templates/welcome.yaml": template(steps)})
    assert found(result) == [(T, 8, "warning", "ucs2")]
    assert "'’' (U+2019 RIGHT SINGLE QUOTATION MARK)" in messages(result)[0]


def test_first_step_without_opt_out_wording(root: Path) -> None:
    steps = "    - body: Hi there.\n    - waitDays: 30\n      body: Reply STOP to opt out.\n"
    result = load_repo(root, {"templates/welcome.yaml": template(steps)})
    assert result.ok
    assert found(result) == [(T, 8, "warning", "opt_out_wording")]


def test_invalid_phone_inline(root: Path) -> None:
    group = GROUP.replace('"+1 212 555 0199"', '"555-0199"')
    result = load_repo(root, {"groups/leads.yaml": group})
    assert result.ok
    assert found(result) == [(G, 9, "warning", "invalid_phone")]
    assert result.desired is not None
    assert result.desired.groups["leads"].invalid[0].raw == "555-0199"


def test_empty_placeholder_field_warns_at_the_contact(root: Path) -> None:
    group = GROUP.replace("fields: {first_name: Ben}", "fields: {first_name: '  '}")
    result = load_repo(root, {"groups/leads.yaml": group})
    assert result.ok
    assert found(result) == [(G, 9, "warning", "missing_field")]
    assert "contact +12125550199 has no value for 'first_name'" in messages(result)[0]


def test_contact_without_a_field_others_have(root: Path) -> None:
    group = GROUP.replace("fields: {first_name: Ben}", "fields: {last_name: Okafor}")
    result = load_repo(root, {"groups/leads.yaml": group})
    assert found(result) == [(G, 9, "warning", "missing_field")]


def test_duplicate_number_keeps_the_first(root: Path) -> None:
    group = GROUP.replace('"+1 212 555 0199"', '"(415) 555 0100"')
    result = load_repo(root, {"groups/leads.yaml": group})
    assert found(result) == [(G, 9, "warning", "duplicate_phone")]
    assert result.desired is not None
    assert [c.fields["first_name"] for c in result.desired.groups["leads"].contacts] == ["Ana"]


def test_toll_free_without_timezone_or_fallback(root: Path) -> None:
    group = GROUP.replace('"+1 212 555 0199"', '"800-555-0199"')
    result = load_repo(root, {"groups/leads.yaml": group})
    assert found(result) == [(G, 9, "warning", "unknown_timezone")]
    settings = "apiVersion: campaignctl/v1\nkind: Settings\nmetadata: {name: s}\nspec: {timezoneFallback: America/Chicago}\n"
    result = load_repo(root, {"groups/leads.yaml": group, "settings.yaml": settings})
    assert result.ok and result.issues == ()
    assert result.desired is not None
    assert result.desired.groups["leads"].contacts[1].zones == ("America/Chicago",)


def test_unreadable_file_does_not_cascade_into_unknown_references(root: Path) -> None:
    result = load_repo(
        root, {"templates/welcome.yaml": "apiVersion: [\n", "campaigns/spring.yaml": campaign()}
    )
    assert found(result) == [(T, 2, "error", "yaml")]


def test_settings_values_reach_desired(root: Path) -> None:
    settings = (
        "apiVersion: campaignctl/v1\nkind: Settings\nmetadata: {name: s}\nspec:\n"
        "  creditsPerSegment: 2\n  reconcileInterval: 1h\n  stateQuietHours: false\n"
    )
    desired = load_repo(root, {"settings.yaml": settings}).require()
    assert desired.settings.credits_per_segment == 2
    assert desired.settings.reconcile_interval.total_seconds() == 3600
    assert desired.settings.state_quiet_hours is False
    bad = settings.replace("1h", "90 minutes")
    assert found(load_repo(root, {"settings.yaml": bad})) == [
        ("campaigns.d/settings.yaml", 6, "error", "schema")
    ]
