"""Phone numbers: parse and validate (phonenumbers), normalise to E.164, and locate them.

A number's time zones come from `phonenumbers.timezone`, memoised per country code and the
leading digits the zone data can tell apart (for US numbers: area code + exchange), so the
second number of an exchange costs only parse + validate. Its US state comes from a small
versioned table of area codes (data/npa_states.json), never from `phonenumbers.geocoder`.

The plain North American forms people type ("(415) 555-0100", "415.555.0100",
"+1 415 555 0100", "1-415-555-0100": ten digits, the area code not starting with 0 or 1,
grouped by spaces, dots, dashes and brackets) are read without `phonenumbers.parse`, which
gives the same number for them (tests/core/test_plain_nanp.py) at half the cost of parsing
and validating one; every number is still validated by phonenumbers.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat
from phonenumbers import timezone as phone_timezone
from phonenumbers.tzdata import TIMEZONE_DATA

UNKNOWN_ZONE = "Etc/Unknown"
# instants at which zones of a country-wide list are compared (winter and summer time)
_REFERENCE_INSTANTS = (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC))
_NO_REGION = frozenset({"ZZ", "001"})  # unknown, and non-geographic entities (+800, +882...)


@dataclass(frozen=True)
class PhoneInfo:
    e164: str
    # the number's IANA zones; () when unknown, or when they are the whole-country list of a
    # country with several clocks (toll-free and other non-geographic numbers)
    zones: tuple[str, ...]
    us_state: str | None  # two-letter state (or DC) from the area code; US numbers only
    region: str | None  # ISO country of the number


class InvalidPhone(ValueError):
    """A raw value that is not a valid phone number; `reason` is one short sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    NumberParseException.TOO_LONG: "too long to be a phone number",
}


# a plain North American number: "+1" or "1" (or nothing), then the area code (not starting
# with 0 or 1: parse would take a leading 1 for the national prefix, a 0 for a leading zero),
# the exchange and the line, ASCII digits grouped by spaces, dots, dashes and brackets
_PLAIN_NANP = re.compile(
    r"(?P<plus>\+)?(?P<one>1)?[ .()-]*(?P<area>[2-9][0-9]{2})"
    r"[ .()-]*(?P<exchange>[0-9]{3})[ .()-]*(?P<line>[0-9]{4})"
)
# the default regions in which a plain number without "+1" is read as North American
_NANP_DEFAULTS = frozenset({"US", "CA"})


def plain_nanp(text: str, default_region: str) -> PhoneNumber | None:
    """The number `phonenumbers.parse(text, default_region)` gives, when `text` is a plain
    North American number it would read as +1 and its ten digits; else None (parse it).
    Parsing is half the cost of reading a number; this is a pattern match."""
    match = _PLAIN_NANP.fullmatch(text)
    if match is None:
        return None
    if match["plus"] is not None:
        if match["one"] is None:  # "+" and the area code: another country's code
            return None
    elif default_region not in _NANP_DEFAULTS:
        return None
    digits = match["area"] + match["exchange"] + match["line"]
    return PhoneNumber(country_code=1, national_number=int(digits))


def normalize(raw: str, default_region: str = "US") -> PhoneInfo:
    """Parse `raw` ("(415) 555-0100", "+44 20 7946 0958"...), validate, normalise, locate.

    Raises InvalidPhone with a short reason when it is not a valid, textable number.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhone("empty phone number")
    number = plain_nanp(text, default_region)
    if number is None:
        try:
            number = phonenumbers.parse(text, default_region)
        except NumberParseException as exc:
            reason = _PARSE_REASONS.get(exc.error_type, "not a phone number")
            if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and "+" not in text:
                reason = f"no country code, and {default_region!r} is not a known default region"
            raise InvalidPhone(reason) from None
    # is_valid_number(n) is is_valid_number_for_region(n, region_code_for_number(n)): finding
    # the region is the costly half (a pattern match per region sharing +1), so do it once
    region_code: str | None = phonenumbers.region_code_for_number(number)
    if region_code is None or not phonenumbers.is_valid_number_for_region(number, region_code):
        home = phonenumbers.region_code_for_country_code(number.country_code or 0)
        raise InvalidPhone(f"not a valid number for region {home}")
    if number.extension:
        raise InvalidPhone("has an extension, which a text message cannot reach")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    region = None if region_code is None or region_code in _NO_REGION else region_code
    us_state = _npa_states().get(e164[2:5]) if region == "US" else None
    return PhoneInfo(e164, _zones_of(number, e164, region), us_state, region)


def contact_zones(
    number_zones: tuple[str, ...], explicit: str | None, fallback: str | None
) -> tuple[str, ...]:
    """The zones to send by: the contact's own timezone, else the number's zones, else the
    configured fallback, else () (the contact is skipped as unknown_timezone)."""
    if explicit:
        return (explicit,)
    if number_zones:
        return number_zones
    if fallback:
        return (fallback,)
    return ()


@lru_cache(maxsize=1024)
def is_valid_zone(name: str) -> bool:
    """True when `name` is an IANA zone zoneinfo knows ("America/Chicago", "Etc/GMT+6")."""
    if not name or name != name.strip() or name == UNKNOWN_ZONE:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def npa_table_version() -> str:
    """The version of the area code -> state table shipped with this campaignctl."""
    return str(_npa_document()["version"])


# --------------------------------------------------------------------------- zones


_zone_memo: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _zones_of(number: PhoneNumber, e164: str, region: str | None) -> tuple[str, ...]:
    country_code = number.country_code or 0
    digits = e164[1:]
    if region == "US":
        # US number types (toll-free 8XX, premium 900, personal 5XX) depend on the area code
        # only, so area code + exchange decide the zones.
        key: tuple[Any, ...] = ("US", digits[: _prefix_length(country_code)])
    else:
        kind = phonenumbers.number_type(number)
        key = (region, digits[: _prefix_length(country_code)], kind)
    zones = _zone_memo.get(key)
    if zones is None:
        zones = _usable_zones(phone_timezone.time_zones_for_number(number), country_code)
        if len(_zone_memo) > 100_000:
            _zone_memo.clear()
        _zone_memo[key] = zones
    return zones


def _usable_zones(zones: tuple[str, ...], country_code: int) -> tuple[str, ...]:
    known = tuple(zone for zone in zones if is_valid_zone(zone))
    if not known:
        return ()
    if zones == TIMEZONE_DATA.get(str(country_code)) and not _same_clock(known):
        return ()  # the whole country, e.g. the +1 list from Guam to Pago Pago
    return known


def _same_clock(zones: tuple[str, ...]) -> bool:
    offsets = {
        tuple(
            instant.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()
            for instant in _REFERENCE_INSTANTS
        )
        for zone in zones
    }
    return len(offsets) == 1


@cache
def _prefix_length(country_code: int) -> int:
    """The longest prefix (country code included) the zone data distinguishes numbers by."""
    code = str(country_code)
    return max(
        (len(prefix) for prefix in TIMEZONE_DATA if prefix.startswith(code)), default=len(code)
    )


# --------------------------------------------------------------------------- area codes


@lru_cache(maxsize=1)
def _npa_document() -> dict[str, Any]:
    text = resources.files("campaignctl.core").joinpath("data/npa_states.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@lru_cache(maxsize=1)
def _npa_states() -> dict[str, str]:
    return {str(npa): str(state) for npa, state in _npa_document()["npa"].items()}
