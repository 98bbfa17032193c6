"""The plain North American forms are read without `phonenumbers.parse`: whatever the text
and the default region, the number read is the one parse gives, or the text goes to parse."""

from __future__ import annotations

import json
from importlib import resources

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import NumberParseException

from campaignctl.core import phones
from campaignctl.core.phones import normalize, plain_nanp

# regions whose country code is 1 (North America, the Caribbean) and others
REGIONS = ["US", "CA", "PR", "AG", "JM", "GB", "DE", "MX", "AU"]
AREA_CODES = sorted(
    json.loads(
        resources.files("campaignctl.core").joinpath("data/npa_states.json").read_text("utf-8")
    )["npa"]
)
# how people write a number (the benchmarks' contacts are written in these forms)
FORMS = (
    "({npa}) {nxx}-{line}",
    "{npa}-{nxx}-{line}",
    "+1 {npa} {nxx} {line}",
    "{npa}{nxx}{line}",
    "1-{npa}-{nxx}-{line}",
    "{npa}.{nxx}.{line}",
    "+1{npa}{nxx}{line}",
    "({npa}){nxx}-{line}",
    "1 ({npa}) {nxx}-{line}",
    "+1-{npa}-{nxx}-{line}",
)
SEPARATORS = st.text(alphabet=" .-()", max_size=2)
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=5)


def _parsed(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


@st.composite
def typed_numbers(draw: st.DrawFn) -> str:
    """Numbers as people type them and mistype them: an optional "+", "1" or "+1", then
    groups of digits (three, three and four mostly, any area code) between separators, and
    now and then a letter, an extension or a stray character."""
    prefix = draw(st.sampled_from(["", "+", "1", "+1", "+ 1", "1 ", "+1 ", "+44 ", "011 ", "0"]))
    area = draw(st.text(alphabet="0123456789", min_size=3, max_size=3) | DIGITS)
    exchange = draw(st.text(alphabet="0123456789", min_size=3, max_size=3) | DIGITS)
    line = draw(st.text(alphabet="0123456789", min_size=4, max_size=4) | DIGITS)
    parts = [prefix, draw(SEPARATORS), area, draw(SEPARATORS), exchange, draw(SEPARATORS), line]
    text = "".join(parts) + draw(st.sampled_from(["", "", "", " ", ")", " x12", "a", "５"]))
    return draw(st.sampled_from([text, text.strip()]))


@settings(max_examples=3000)
@given(typed_numbers(), st.sampled_from(REGIONS))
def test_a_plain_number_is_the_number_parse_reads(text: str, region: str) -> None:
    found = plain_nanp(text, region)
    if found is not None:
        assert found == _parsed(text, region)


@settings(max_examples=1000)
@given(st.text(max_size=20), st.sampled_from(REGIONS))
def test_any_text_is_read_as_parse_reads_it_or_left_to_parse(text: str, region: str) -> None:
    found = plain_nanp(text, region)
    if found is not None:
        assert found == _parsed(text, region)


def test_the_forms_people_type_are_read_without_parse() -> None:
    """Each usual form, in every area code of the table, is read by the pattern as parse
    reads it, in the default regions it reads for; with "+1" in any default region."""
    for at, npa in enumerate(AREA_CODES):
        nxx, line = f"{200 + at * 7 % 800}", f"{at * 37 % 10000:04d}"
        for form in FORMS:
            text = form.format(npa=npa, nxx=nxx, line=line)
            for region in ("US", "CA"):
                assert plain_nanp(text, region) == phonenumbers.parse(text, region), text
            if text.startswith("+1"):
                assert plain_nanp(text, "GB") == phonenumbers.parse(text, "GB"), text


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("415 555 0100", "GB"),  # a default region outside North America
        ("1 415 555 0100", "JM"),  # in North America, but not one this reads for
        ("+44 20 7946 0958", "US"),  # another country's code
        ("(015) 555-0100", "US"),  # an area code parse reads otherwise
        ("415 555 0100 x12", "US"),  # an extension
        ("１４１５５５５０１００", "US"),  # digits that are not ASCII
        ("1-800-FLOWERS", "US"),
    ],
)
def test_other_forms_are_left_to_parse(text: str, region: str) -> None:
    assert plain_nanp(text, region) is None


def test_a_number_read_either_way_is_normalised_alike() -> None:
    """normalize gives the same whether the text is read by the pattern or by parse (a
    leading "*", which parse passes over, sends it there)."""
    for text in ("(808) 555-0102", "+1 416 555 0107", "1 601 555 0104", "+1 800 555 0105"):
        assert plain_nanp(text, "US") is not None
        assert plain_nanp("*" + text, "US") is None
        phones._zone_memo.clear()
        read = normalize(text, "US")
        phones._zone_memo.clear()
        assert read == normalize("*" + text, "US")
