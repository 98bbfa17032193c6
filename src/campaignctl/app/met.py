"""The numbers met so far in a group being synced, kept in little memory whatever its size.

A streamed apply reads a group a batch at a time and must decide a number met twice only
once. Keeping every number met would hold the whole group; a Bloom filter (rbloom) holds a
few bits a number and answers "maybe met" or "certainly not". A maybe is checked exactly
by the caller (enrolled: the state has it; skipped: `skipped` has it), so a false positive
costs one look-up, never a contact.

    met = MetNumbers()
    met.maybe(["+14155550100"])                   # [] : nothing met yet
    met.add(["+14155550100"], skipped=[])
    met.maybe(["+14155550100", "+14155550101"])   # ["+14155550100"]
"""

from __future__ import annotations

from collections.abc import Iterable

from rbloom import Bloom

# the filter's size: 3.6 MB, 10 probes a number; with a million numbers in it, about 5 in a
# million numbers not met are false positives, and past two million the rate grows slowly
EXPECTED_NUMBERS = 2_000_000
FALSE_POSITIVES = 0.001


class MetNumbers:
    """The numbers met so far in a group being synced: a Bloom filter of them all, and the
    few that were skipped (in a set: they are decided once, without the state)."""

    def __init__(
        self, expected: int = EXPECTED_NUMBERS, false_positives: float = FALSE_POSITIVES
    ) -> None:
        self.numbers = Bloom(expected, false_positives)
        self.skipped: set[str] = set()

    def maybe(self, phones: Iterable[str]) -> list[str]:
        """The numbers that may have been met before (every one met, and a few others)."""
        numbers = self.numbers
        return [phone for phone in phones if phone in numbers]

    def add(self, phones: Iterable[str], skipped: Iterable[str]) -> None:
        """Remember `phones` as met, and which of them were skipped."""
        self.numbers.update(phones)
        self.skipped.update(skipped)
