"""Phone numbers: validation, E.164, zones (split area codes, toll-free, abroad), US states."""

from __future__ import annotations

import json
from importlib import resources

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as phone_timezone

from campaignctl.core.phones import (
    InvalidPhone,
    PhoneInfo,
    contact_zones,
    is_valid_zone,
    normalize,
)

NPA_DOCUMENT = json.loads(
    resources.files("campaignctl.core").joinpath("data/npa_states.json").read_text("utf-8")
)
NPA = NPA_DOCUMENT["npa"]
STATES_AND_DC = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
}  # fmt: skip

# fictional 555-01XX lines, in real area codes (each checked valid below)
EXAMPLES = {
    "(415) 555-0100": PhoneInfo("+14155550100", ("America/Los_Angeles",), "CA", "US"),
    "+1 208 555 0100": PhoneInfo(
        "+12085550100", ("America/Boise", "America/Los_Angeles"), "ID", "US"
    ),
    "+1 602 555 0101": PhoneInfo("+16025550101", ("America/Phoenix",), "AZ", "US"),
    "808-555-0102": PhoneInfo("+18085550102", ("Pacific/Honolulu",), "HI", "US"),
    "+1 (202) 555-0103": PhoneInfo("+12025550103", ("America/New_York",), "DC", "US"),
    "1 601 555 0104": PhoneInfo("+16015550104", ("America/Chicago",), "MS", "US"),
    "+1 800 555 0105": PhoneInfo("+18005550105", (), None, "US"),
    "+1 888 555 0106": PhoneInfo("+18885550106", (), None, "US"),
    "+1 416 555 0107": PhoneInfo("+14165550107", ("America/Toronto",), None, "CA"),
    "+44 20 7946 0958": PhoneInfo("+442079460958", ("Europe/London",), None, "GB"),
}


@pytest.mark.parametrize("raw", sorted(EXAMPLES))
def test_examples(raw: str) -> None:
    assert phonenumbers.is_valid_number(phonenumbers.parse(raw, "US"))
    expected = EXAMPLES[raw]
    info = normalize(raw)
    assert (info.e164, set(info.zones), info.us_state, info.region) == (
        expected.e164,
        set(expected.zones),
        expected.us_state,
        expected.region,
    )


def test_numbers_without_country_code_use_the_default_region() -> None:
    assert normalize("020 7946 0958", default_region="GB").e164 == "+442079460958"
    assert normalize("4155550100").e164 == "+14155550100"


def test_a_country_with_one_clock_keeps_its_list_but_one_with_many_is_unknown() -> None:
    uk_mobile = normalize("+44 7400 123456")
    assert uk_mobile.zones and "Europe/London" in uk_mobile.zones
    assert normalize("+7 912 345 6789").zones == ()  # a Russian mobile: every Russian zone


def test_caribbean_and_canadian_numbers_have_no_us_state() -> None:
    assert normalize("+1 876 555 0100").region == "JM"
    assert normalize("+1 876 555 0100").us_state is None
    assert normalize("+1 604 555 0100").us_state is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "not a phone number"),
        ("12", "not a valid number"),
        ("+1 555 0100", "not a valid number for region US"),
        ("+1 123 555 0100", "not a valid number for region US"),
        ("+999 1234 5678", "unknown country code"),
        ("+1 415 555 0100 ext. 12", "extension"),
        ("9" * 300, "too long"),
    ],
)
def test_invalid_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize(raw)
    assert reason in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_an_unknown_default_region_is_reported() -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize("415 555 0100", default_region="XX")
    assert "XX" in caught.value.reason


def expected_zones(raw: str) -> tuple[str, ...]:
    """Straight from phonenumbers, uncached: the whole +1 list and Etc/Unknown mean ()."""
    zones = phone_timezone.time_zones_for_number(phonenumbers.parse(raw))
    if zones == ("Etc/Unknown",) or len(zones) > 10:
        return ()
    return tuple(zones)


@settings(max_examples=300)
@given(
    st.sampled_from([*sorted(NPA), "800", "888", "877", "416", "876", "787"]),
    st.integers(200, 999),
    st.integers(0, 9999),
)
def test_memoised_zones_equal_an_uncached_lookup(npa: str, exchange: int, line: int) -> None:
    raw = f"+1{npa}{exchange}{line:04d}"
    assume(phonenumbers.is_valid_number(phonenumbers.parse(raw)))
    info = normalize(raw)
    assert info.zones == expected_zones(raw)
    assert info.us_state == NPA.get(npa)
    # the second number of the exchange comes from the memo and must agree
    neighbour = f"+1{npa}{exchange}{(line + 1) % 10000:04d}"
    if phonenumbers.is_valid_number(phonenumbers.parse(neighbour)):
        assert normalize(neighbour).zones == expected_zones(neighbour)


def test_split_area_codes_resolve_per_exchange_where_known() -> None:
    # 208-201 is a Denver (Mountain) exchange; 208-215 a Los Angeles (Pacific) one
    assert normalize("+1 208 201 0100").zones == ("America/Denver",)
    assert normalize("+1 208 215 0100").zones == ("America/Los_Angeles",)


def test_npa_table_covers_us_codes_only() -> None:
    assert {"version", "source", "npa"} <= set(NPA_DOCUMENT)
    assert 330 <= len(NPA) <= 420
    assert set(NPA.values()) == STATES_AND_DC
    for npa in ("416", "604", "514", "787", "939", "876", "671", "340", "800", "900"):
        assert npa not in NPA
    for npa, state in NPA.items():
        number = next(
            n
            for n in (phonenumbers.parse(f"+1{npa}{x}4567") for x in range(200, 1000))
            if phonenumbers.is_valid_number(n)
        )
        assert phonenumbers.region_code_for_number(number) == "US", npa
        assert normalize(phonenumbers.format_number(number, 0)).us_state == state
    assert (NPA["212"], NPA["305"], NPA["512"], NPA["907"], NPA["771"]) == (
        "NY", "FL", "TX", "AK", "DC"
    )  # fmt: skip


def test_contact_zones_precedence() -> None:
    number = ("America/Boise", "America/Los_Angeles")
    assert contact_zones(number, "America/Chicago", "America/New_York") == ("America/Chicago",)
    assert contact_zones(number, None, "America/New_York") == number
    assert contact_zones((), None, "America/New_York") == ("America/New_York",)
    assert contact_zones((), "", None) == ()


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("America/Chicago", True),
        ("Pacific/Honolulu", True),
        ("Etc/GMT+6", True),
        ("UTC", True),
        ("", False),
        ("Etc/Unknown", False),
        ("America", False),
        ("Mars/Olympus_Mons", False),
        ("../../etc/passwd", False),
        (" America/Chicago", False),
    ],
)
def test_is_valid_zone(name: str, valid: bool) -> None:
    assert is_valid_zone(name) is valid
