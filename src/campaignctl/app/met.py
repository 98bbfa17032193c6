"""The numbers met so far in a group being synced, kept in little memory."""

from __future__ import annotations

from collections.abc import Iterable


class MetNumbers:
    """The numbers met so far in a group being synced, in little memory: a Bloom filter of
    them all (2 probes into 2**25 bits: 4 MB, about 0.4% false positives at a million),
    and the few that were skipped. A number the filter may have met is checked exactly
    (enrolled: the state has it; skipped: the set has it): a false positive costs one
    look-up, never a contact."""

    BITS = 1 << 25

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS // 8)
        self.skipped: set[str] = set()

    def _probes(self, phone: str) -> tuple[int, int]:
        h = hash(phone)
        return h & (self.BITS - 1), (h >> 25) & (self.BITS - 1)

    def maybe(self, phones: Iterable[str]) -> list[str]:
        """The numbers that may have been met before."""
        bits = self.bits
        found: list[str] = []
        for phone in phones:
            a, b = self._probes(phone)
            if bits[a >> 3] & (1 << (a & 7)) and bits[b >> 3] & (1 << (b & 7)):
                found.append(phone)
        return found

    def add(self, phones: Iterable[str], skipped: Iterable[str]) -> None:
        bits = self.bits
        for phone in phones:
            a, b = self._probes(phone)
            bits[a >> 3] |= 1 << (a & 7)
            bits[b >> 3] |= 1 << (b & 7)
        self.skipped.update(skipped)
