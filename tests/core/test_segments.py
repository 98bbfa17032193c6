"""Segment counting, checked against an independent oracle that encodes the message and cuts
the encoded stream into parts, backing off where a cut would split a character."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.core.segments import count_segments

# 3GPP TS 23.038 default alphabet in code order; "\x1b" (escape) sits at 0x1B.
BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
ESC = 0x1B
EXTENSION_CODES = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
                   "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}  # fmt: skip
BASIC_CODES = {char: code for code, char in enumerate(BASIC_TABLE) if code != ESC}


def gsm_septets(body: str) -> list[int] | None:
    septets: list[int] = []
    for char in body:
        if char in BASIC_CODES:
            septets.append(BASIC_CODES[char])
        elif char in EXTENSION_CODES:
            septets += [ESC, EXTENSION_CODES[char]]
        else:
            return None
    return septets


def cut(stream: list[int], single: int, part: int, splits_pair: object) -> list[list[int]]:
    """Cut an encoded stream into parts; `splits_pair(stream, i)` says whether a cut before
    index i would separate the two halves of one character."""
    if len(stream) <= single:
        return [stream]
    parts, start = [], 0
    while start < len(stream):
        end = min(start + part, len(stream))
        if end < len(stream) and splits_pair(stream, end):  # type: ignore[operator]
            end -= 1
        parts.append(stream[start:end])
        start = end
    return parts


def oracle(body: str) -> tuple[str, int, int, tuple[str, ...]]:
    septets = gsm_septets(body)
    if septets is not None:
        # a cut right after an escape septet would split an extension character (no
        # character's own code is 0x1B, so an ESC in the stream always starts a pair)
        parts = cut(septets, 160, 153, lambda s, i: s[i - 1] == ESC)
        return "GSM-7", len(parts), len(septets), ()
    data = body.encode("utf-16-be")
    units = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    # a cut right after a high surrogate would split a surrogate pair
    parts = cut(units, 70, 67, lambda s, i: 0xD800 <= s[i - 1] <= 0xDBFF)
    non_gsm: list[str] = []
    for char in body:
        if char not in BASIC_CODES and char not in EXTENSION_CODES and char not in non_gsm:
            non_gsm.append(char)
    return "UCS-2", len(parts), len(units), tuple(non_gsm)


def as_tuple(body: str) -> tuple[str, int, int, tuple[str, ...]]:
    result = count_segments(body)
    return result.encoding, result.segments, result.units, result.non_gsm


GSM_CHARS = st.sampled_from(sorted(BASIC_CODES))
EXT_CHARS = st.sampled_from(sorted(EXTENSION_CODES))
OTHER_CHARS = st.sampled_from(["á", "’", "“", "—", "…", "ç", "`", "中", "😀", "👍", "\u00a0"])
GSM_BODIES = st.text(st.one_of(GSM_CHARS, GSM_CHARS, EXT_CHARS), max_size=480)
ANY_BODIES = st.text(
    st.one_of(GSM_CHARS, EXT_CHARS, OTHER_CHARS, st.characters(exclude_categories=["Cs"])),
    max_size=300,
)  # text read from UTF-8 files never holds a lone surrogate


@settings(max_examples=300)
@given(GSM_BODIES)
def test_gsm_bodies_match_the_oracle(body: str) -> None:
    assert as_tuple(body) == oracle(body)


@settings(max_examples=300)
@given(ANY_BODIES)
def test_any_body_matches_the_oracle(body: str) -> None:
    result = count_segments(body)
    assert as_tuple(body) == oracle(body)
    assert result.segments >= 1
    assert (result.encoding == "GSM-7") == (not result.non_gsm)


@pytest.mark.parametrize(
    ("body", "encoding", "segments", "units"),
    [
        ("", "GSM-7", 1, 0),
        ("a" * 160, "GSM-7", 1, 160),
        ("a" * 161, "GSM-7", 2, 161),
        ("a" * 306, "GSM-7", 2, 306),
        ("a" * 307, "GSM-7", 3, 307),
        ("a" * 158 + "€", "GSM-7", 1, 160),
        ("a" * 159 + "€", "GSM-7", 2, 161),
        ("a" * 159 + "\f", "GSM-7", 2, 161),
        # "{" would straddle the 153-septet cut: it moves whole to part 2, so 3 parts not 2
        ("a" * 152 + "{" + "a" * 152, "GSM-7", 3, 306),
        ("a" * 151 + "{" + "a" * 153, "GSM-7", 2, 306),
        ("á" * 70, "UCS-2", 1, 70),
        ("á" * 71, "UCS-2", 2, 71),
        ("á" * 134, "UCS-2", 2, 134),
        ("á" * 135, "UCS-2", 3, 135),
        ("á" * 68 + "😀", "UCS-2", 1, 70),
        ("á" * 69 + "😀", "UCS-2", 2, 71),
        # the emoji would straddle the 67-unit cut: it moves whole to part 2
        ("á" * 66 + "😀" + "á" * 66, "UCS-2", 3, 134),
        ("á" * 65 + "😀" + "á" * 67, "UCS-2", 2, 134),
    ],
)
def test_boundaries(body: str, encoding: str, segments: int, units: int) -> None:
    result = count_segments(body)
    assert (result.encoding, result.segments, result.units) == (encoding, segments, units)


def test_non_gsm_characters_are_named_once_in_order() -> None:
    result = count_segments("Café ’quote’ — 😀 and ’ again")
    assert result.encoding == "UCS-2"
    assert result.non_gsm == ("’", "—", "😀")


def test_gsm_table_details() -> None:
    assert count_segments("Ç").encoding == "GSM-7"  # 0x09 is capital C cedilla
    assert count_segments("ç").non_gsm == ("ç",)
    assert count_segments("`").non_gsm == ("`",)
    assert count_segments("\x1b").non_gsm == ("\x1b",)  # a bare escape is not a character
    assert count_segments("[x]").units == 5
    assert count_segments("Reply STOP to opt out").segments == 1
