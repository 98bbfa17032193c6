"""A set of phone numbers kept exactly in little memory, for a plan that reads a group of a
million contacts a batch at a time and writes nothing: it must still know which numbers it
met and which it enrolled, and a million Python strings in a set cost over 100 MB.

Each number is kept as a 64-bit integer (its E.164 digits) in a sorted array, one array per
batch added (8 bytes a number), behind a Bloom filter (rbloom) that answers "certainly not"
for most numbers without a search. A number that is not E.164 digits is kept as it is.

    met = PhoneSet()
    met.add(["+14155550100", "+14155550101"])
    "+14155550100" in met      # True
    "+14155550102" in met      # False
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence

from rbloom import Bloom

from campaignctl.app.met import EXPECTED_NUMBERS, FALSE_POSITIVES

DIGITS_MAX = 18  # E.164 has 15 at most; 18 digits still fit a signed 64-bit integer


def _number(phone: str) -> int | None:
    """The number as an integer, when it is "+" and digits (no leading zero): then two
    different numbers are never the same integer."""
    digits = phone[1:]
    if (
        phone[:1] == "+"
        and 0 < len(digits) <= DIGITS_MAX
        and digits.isascii()
        and digits.isdigit()
        and digits[0] != "0"
    ):
        return int(digits)
    return None


class PhoneSet:
    """Numbers added a batch at a time; `in` is exact."""

    def __init__(self) -> None:
        self._bloom = Bloom(EXPECTED_NUMBERS, FALSE_POSITIVES)
        self._chunks: list[array[int]] = []
        self._other: set[str] = set()
        self.size = 0  # numbers added (a number added twice counts twice)

    def add(self, phones: Sequence[str]) -> None:
        if not phones:
            return
        self._bloom.update(phones)
        numbers: list[int] = []
        for phone in phones:
            number = _number(phone)
            if number is None:
                self._other.add(phone)
            else:
                numbers.append(number)
        numbers.sort()
        self._chunks.append(array("q", numbers))
        self.size += len(phones)

    def __contains__(self, phone: object) -> bool:
        if not isinstance(phone, str) or phone not in self._bloom:
            return False
        number = _number(phone)
        if number is None:
            return phone in self._other
        for chunk in self._chunks:
            at = bisect_left(chunk, number)
            if at < len(chunk) and chunk[at] == number:
                return True
        return False
