"""The numbers a streamed plan remembers (met in a group, enrolled by a campaign) are kept
exactly: `in` answers as a set of the same strings would, whatever the numbers look like,
and however they were added in batches."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campaignctl.app.phoneset import PhoneSet

e164 = st.integers(min_value=1_000_000, max_value=999_999_999_999_999).map(lambda n: f"+{n}")
odd = st.sampled_from(
    ["+0123", "+", "123", "+1²3", "+12 34", "not a number", "+1234567890123456789"]
)
phones = st.one_of(e164, odd, st.text(max_size=6))


@given(st.lists(st.lists(phones, max_size=30), max_size=6), st.lists(phones, max_size=40))
def test_a_phone_set_answers_as_a_set_of_the_same_strings(
    batches: list[list[str]], asked: list[str]
) -> None:
    kept = PhoneSet()
    for batch in batches:
        kept.add(batch)
    every = {phone for batch in batches for phone in batch}
    for phone in [*asked, *every]:
        assert (phone in kept) == (phone in every), phone


def test_numbers_that_differ_only_by_a_leading_zero_are_not_confused() -> None:
    kept = PhoneSet()
    kept.add(["+14155550100"])
    assert "+014155550100" not in kept
    assert "+14155550100" in kept
