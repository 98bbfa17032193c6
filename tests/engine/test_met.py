"""The numbers met in a group: never a number met reported as not met (that would decide
it twice), the skipped ones exactly, and a filter too small for its numbers only answers
"maybe" more often."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campaignctl.app.met import MetNumbers

phones = st.integers(min_value=2_000_000_000, max_value=9_999_999_999).map(lambda n: f"+1{n}")
batches = st.lists(st.lists(phones, max_size=30), max_size=8)


@given(batches, st.sampled_from([(2_000_000, 0.001), (4, 0.5)]), st.data())
def test_every_number_met_may_have_been_met(
    history: list[list[str]], size: tuple[int, float], data: st.DataObject
) -> None:
    met = MetNumbers(*size)
    seen: set[str] = set()
    skipped: set[str] = set()
    for batch in history:
        maybe = met.maybe(batch)
        assert seen.intersection(batch) <= set(maybe)
        assert [p for p in batch if p in set(maybe)] == maybe  # in the batch's order
        skips = data.draw(st.sets(st.sampled_from(batch)) if batch else st.just(set[str]()))
        met.add(batch, skips)
        seen.update(batch)
        skipped.update(skips)
        assert met.skipped == skipped


def test_numbers_not_met_are_rarely_maybe() -> None:
    met = MetNumbers()
    met.add((f"+1212{n:07d}" for n in range(100_000)), ())
    maybe = met.maybe(f"+1415{n:07d}" for n in range(100_000))
    assert len(maybe) <= 10  # at this fill, about one in 10**14 is
