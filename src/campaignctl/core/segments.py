"""How many SMS segments a message body costs, counted on exactly the characters sent.

A segment carries 140 bytes: 160 GSM-7 septets or 70 UCS-2 code units. A message longer than
that is split into parts that each lose 6 bytes to the concatenation header: 153 septets or 67
code units per part. One character outside the GSM-7 tables (basic + extension, 3GPP TS 23.038)
makes the whole message UCS-2. An extension character costs two septets (escape + code) and is
never split across parts; a UTF-16 surrogate pair (most emoji) is never split either.

No look-alike substitution happens here: what is counted is what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# The GSM 03.38 default alphabet, in table order (0x00-0x7F), without the escape code 0x1B.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table reached through the escape code: two septets each.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7_ALPHABET = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE = 160  # septets in a message that fits one segment
GSM7_PART = 153  # septets per part of a split message
UCS2_SINGLE = 70  # UTF-16 code units in a one-segment message
UCS2_PART = 67  # UTF-16 code units per part


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    segments: int  # >= 1 (an empty body is 1 segment)
    units: int  # GSM-7 septets (extension chars count 2) or UTF-16 code units
    non_gsm: tuple[str, ...]  # distinct characters forcing UCS-2, in order of first appearance


def count_segments(body: str) -> SegmentCount:
    """Count the encoding, segments and units of `body` as it would be sent."""
    if GSM7_BASIC.issuperset(body):  # the usual body: one septet a character
        units = len(body)
        return SegmentCount("GSM-7", _pack_single(units, GSM7_SINGLE, GSM7_PART), units, ())
    non_gsm = _non_gsm_characters(body)
    if not non_gsm:
        weights = [2 if char in GSM7_EXTENSION else 1 for char in body]
        return SegmentCount("GSM-7", _pack(weights, GSM7_SINGLE, GSM7_PART), sum(weights), ())
    weights = [2 if ord(char) > 0xFFFF else 1 for char in body]
    return SegmentCount("UCS-2", _pack(weights, UCS2_SINGLE, UCS2_PART), sum(weights), non_gsm)


def _non_gsm_characters(body: str) -> tuple[str, ...]:
    if GSM7_ALPHABET.issuperset(body):
        return ()
    # dict keeps the order of first appearance
    return tuple(dict.fromkeys(char for char in body if char not in GSM7_ALPHABET))


def _pack_single(units: int, single: int, part: int) -> int:
    """Parts needed for `units` characters of one unit each."""
    return 1 if units <= single else -(-units // part)


def _pack(weights: list[int], single: int, part: int) -> int:
    """Parts needed for characters of these unit weights; no character is split across parts."""
    total = sum(weights)
    if total <= single:
        return 1
    if all(weight == 1 for weight in weights):
        return _pack_single(total, single, part)
    parts, used = 1, 0
    for weight in weights:
        if used + weight > part:
            parts, used = parts + 1, 0
        used += weight
    return parts
