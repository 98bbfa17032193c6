"""The Twilio provider, with the real twilio SDK, against the emulator over real HTTP."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.clock import FrozenClock
from campaignctl.emulator import Fault, TwilioEmulator
from campaignctl.providers.twilio import (
    LOOKUP_SCAN_LIMIT,
    LOOKUP_WINDOW,
    MAX_CLOCK_SKEW,
    TwilioProvider,
)
from tests.delivery.helpers import ACCOUNT_SID, AUTH_TOKEN, SENDER, closed_port, new_message

Factory = Callable[..., TwilioProvider]


def test_send_creates_one_message_with_callback_and_validity(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    provider = make_provider(status_callback_base="https://hooks.example.com/")
    message = new_message(attempt_id=42, validity_seconds=50_000)

    outcome = provider.send(message)

    [created] = emulator.book.all()
    assert outcome.status == "sent"
    assert outcome.provider_id == created.sid and created.sid.startswith("SM")
    assert len(created.sid) == 34
    assert outcome.segments == 1
    assert (created.to, created.from_, created.body) == (message.to, SENDER, message.body)
    assert created.status_callback == "https://hooks.example.com/twilio/status?attempt=42"
    assert created.validity_period == 36_000  # capped at Twilio's maximum


def test_send_through_a_messaging_service_without_callback(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    message = new_message(
        from_number=None, messaging_service_sid="MG" + "1" * 32, validity_seconds=600
    )
    outcome = make_provider().send(message)
    [created] = emulator.book.all()
    assert outcome.status == "sent"
    assert created.from_ is None and created.messaging_service_sid == "MG" + "1" * 32
    assert created.status_callback is None
    assert created.validity_period == 600


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (21610, "opted_out"),
        (21211, "rejected"),
        (21614, "rejected"),
        (21408, "rejected"),
        (20003, "auth_failed"),
        (21611, "retry"),
        (21612, "failed"),
    ],
)
def test_each_final_error_code_maps_without_retrying(
    emulator: TwilioEmulator, make_provider: Factory, sleeps: list[float], code: int, status: str
) -> None:
    emulator.add_fault(Fault(code=code, times=None))
    outcome = make_provider().send(new_message())
    assert (outcome.status, outcome.error_code) == (status, code)
    assert len(emulator.requests("create")) == 1
    assert emulator.book.all() == [] and sleeps == []


def test_an_invalid_number_is_rejected_by_the_server_itself(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    outcome = make_provider().send(new_message(to="+1415"))
    assert (outcome.status, outcome.error_code) == ("rejected", 21211)


def test_wrong_credentials_stop_sending_and_the_token_is_never_shown(
    emulator: TwilioEmulator, make_provider: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong" + AUTH_TOKEN
    outcome = make_provider(auth_token=wrong).send(new_message())
    assert (outcome.status, outcome.error_code) == ("auth_failed", 20003)
    assert "20003" in caplog.text
    for secret in (wrong, AUTH_TOKEN):
        assert secret not in caplog.text and secret not in str(outcome)


def test_throttled_twice_then_accepted(
    emulator: TwilioEmulator,
    make_provider: Factory,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="campaignctl.twilio")
    emulator.add_fault(Fault(code=20429, times=2))
    outcome = make_provider().send(new_message())
    assert outcome.status == "sent"
    assert len(emulator.requests("create")) == 3 and len(emulator.book.all()) == 1
    assert len(sleeps) == 2
    assert caplog.text.count("retry") == 2


def test_http_429_with_another_code_is_also_throttling(
    emulator: TwilioEmulator, make_provider: Factory, sleeps: list[float]
) -> None:
    emulator.add_fault(Fault(status=429, code=20001, times=1))
    assert make_provider().send(new_message()).status == "sent"
    assert len(sleeps) == 1


def test_throttled_forever_gives_up_after_the_bound(
    emulator: TwilioEmulator, make_provider: Factory, sleeps: list[float]
) -> None:
    emulator.add_fault(Fault(code=20429, times=None))
    outcome = make_provider(max_retries=3).send(new_message())
    assert (outcome.status, outcome.error_code) == ("retry", 20429)
    assert len(emulator.requests("create")) == 4 and len(sleeps) == 3
    assert emulator.book.all() == []


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32), base=st.floats(0.01, 2.0), cap=st.floats(0.5, 30.0))
def test_backoff_is_exponential_with_jitter_and_capped(
    emulator: TwilioEmulator, seed: int, base: float, cap: float
) -> None:
    emulator.faults.clear()
    emulator.add_fault(Fault(code=20429, times=None))
    sleeps: list[float] = []
    provider = TwilioProvider(
        ACCOUNT_SID,
        AUTH_TOKEN,
        base_url=emulator.url,
        max_retries=5,
        backoff_base=base,
        backoff_cap=cap,
        sleep=sleeps.append,
        rng=random.Random(seed),
    )
    assert provider.send(new_message()).status == "retry"
    assert len(sleeps) == 5
    for round_, delay in enumerate(sleeps):
        ceiling = min(cap, base * 2**round_)
        assert ceiling / 2 <= delay <= ceiling


def test_retries_stay_inside_the_recipients_window(
    emulator: TwilioEmulator, make_provider: Factory, sleeps: list[float]
) -> None:
    emulator.add_fault(Fault(code=20429, times=None))
    outcome = make_provider(backoff_base=2.0, max_retries=6).send(new_message(validity_seconds=3))
    assert outcome.status == "retry"
    assert sum(sleeps) <= 3
    assert len(emulator.requests("create")) < 7


def test_a_closed_window_sends_nothing(emulator: TwilioEmulator, make_provider: Factory) -> None:
    assert make_provider().send(new_message(validity_seconds=0)).status == "retry"
    assert emulator.requests() == []


def test_server_error_after_creation_is_found_by_lookup_never_sent_twice(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    emulator.add_fault(Fault(status=500, code=20500, after_create=True))
    outcome = make_provider().send(new_message())
    [created] = emulator.book.all()
    assert (outcome.status, outcome.provider_id) == ("sent", created.sid)
    assert len(emulator.requests("create")) == 1


def test_server_error_before_creation_is_sent_again_once(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    emulator.add_fault(Fault(status=503))
    outcome = make_provider().send(new_message())
    [created] = emulator.book.all()
    assert (outcome.status, outcome.provider_id) == ("sent", created.sid)
    assert len(emulator.requests("create")) == 2


def test_server_errors_before_creation_forever_end_in_retry(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    emulator.add_fault(Fault(status=500, times=None))
    outcome = make_provider(max_retries=2).send(new_message())
    assert outcome.status == "retry"
    assert emulator.book.all() == [] and len(emulator.requests("create")) == 3


def test_server_error_and_a_failing_lookup_is_unknown_and_not_resent(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    emulator.add_fault(
        Fault(status=500, after_create=True), Fault(op="list", status=503, times=None)
    )
    outcome = make_provider().send(new_message())
    assert outcome.status == "unknown"
    assert len(emulator.book.all()) == 1 and len(emulator.requests("create")) == 1


def test_timeout_after_creation_is_resolved_by_lookup(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    emulator.add_fault(Fault(delay=1.0))
    outcome = make_provider(timeout=0.3).send(new_message())
    [created] = emulator.book.all()
    assert (outcome.status, outcome.provider_id) == ("sent", created.sid)
    assert len(emulator.requests("create")) == 1


@pytest.mark.parametrize("after_create", [True, False])
def test_dropped_connection_sends_exactly_once(
    emulator: TwilioEmulator, make_provider: Factory, after_create: bool
) -> None:
    emulator.add_fault(Fault(drop=True, after_create=after_create))
    outcome = make_provider().send(new_message())
    [created] = emulator.book.all()
    assert (outcome.status, outcome.provider_id) == ("sent", created.sid)
    assert len(emulator.requests("create")) == (1 if after_create else 2)


@pytest.mark.parametrize("after_create", [True, False])
def test_malformed_json_sends_exactly_once(
    emulator: TwilioEmulator, make_provider: Factory, after_create: bool
) -> None:
    emulator.add_fault(Fault(malformed=True, after_create=after_create))
    outcome = make_provider().send(new_message())
    assert outcome.status == "sent"
    assert len(emulator.book.all()) == 1
    assert len(emulator.requests("create")) == (1 if after_create else 2)


def test_connection_refused_is_retried_then_given_up(sleeps: list[float]) -> None:
    provider = TwilioProvider(
        ACCOUNT_SID,
        AUTH_TOKEN,
        base_url=f"http://127.0.0.1:{closed_port()}",
        max_retries=2,
        sleep=sleeps.append,
        timeout=1.0,
    )
    outcome = provider.send(new_message())
    assert outcome.status == "retry"
    assert "cannot connect" in (outcome.detail or "")
    assert len(sleeps) == 2


def test_lookup_matches_number_sender_and_body_within_the_window(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    provider = make_provider()
    message = new_message()
    sent = provider.send(message)
    assert emulator.wait_idle()  # delivered: it now has a date_sent
    assert provider.lookup(message) == provider.lookup(message)
    found = provider.lookup(message)
    assert found is not None and (found.status, found.provider_id) == ("sent", sent.provider_id)
    other_body = new_message(created_at=message.created_at)
    assert provider.lookup(other_body) is None
    other_number = new_message(to="+14155550101", body=message.body)
    assert provider.lookup(other_number) is None
    other_sender = new_message(body=message.body, from_number="+15125550199")
    assert provider.lookup(other_sender) is None
    for minutes in (-90, -5, 5, 90):  # the intent's clock minutes or hours off Twilio's
        shifted = replace(message, created_at=message.created_at + timedelta(minutes=minutes))
        assert provider.lookup(shifted) == found
    beyond = LOOKUP_WINDOW + timedelta(hours=1)
    for shift in (beyond, -beyond):  # another message, days away: not this attempt's
        assert provider.lookup(replace(message, created_at=message.created_at + shift)) is None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    skew_minutes=st.integers(-30 * 24 * 60, 30 * 24 * 60),
    after_create=st.booleans(),
)
def test_an_unclear_create_never_makes_two_messages_whatever_twilios_clock(
    emulator: TwilioEmulator, skew_minutes: int, after_create: bool
) -> None:
    """Twilio's clock up to 30 days behind or ahead of ours, a 500 after or before the
    message is made: one message at most, and "sent" whenever the clocks agree to a day."""
    emulator.reset()
    skew = timedelta(minutes=skew_minutes)
    emulator.clock.set_offset(skew)
    emulator.add_fault(Fault(status=500, after_create=after_create))
    provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, base_url=emulator.url, sleep=lambda _: None)

    outcome = provider.send(new_message())

    made = emulator.book.all()
    assert len(made) <= 1
    if abs(skew) <= MAX_CLOCK_SKEW:
        assert [(outcome.status, outcome.provider_id)] == [("sent", m.sid) for m in made]
    else:  # found when made, else Twilio's clock is too far off for "absent" to be trusted
        assert outcome.status in ("sent", "unknown")
        assert len(made) == (1 if after_create else 0)
        if outcome.status == "unknown":
            assert "clock" in (outcome.detail or "")


def test_a_lookup_says_unknown_when_twilios_clock_is_days_off(
    emulator: TwilioEmulator, make_provider: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="campaignctl.twilio")
    emulator.clock.set_offset(timedelta(days=3))
    outcome = make_provider().lookup(new_message())
    assert outcome is not None and outcome.status == "unknown"
    assert "Twilio's clock is 3 days ahead of campaignctl's" in (outcome.detail or "")
    assert "check this machine's clock" in caplog.text


def test_a_lookup_holds_its_own_clock_against_twilios(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    """The provider's clock (the engine's, e.g. --now) is what Twilio's is compared with."""
    at = datetime.now(UTC) - timedelta(days=10)
    emulator.set_now(at)
    message = new_message(created_at=at)
    assert make_provider(clock=FrozenClock(at)).lookup(message) is None
    outcome = make_provider().lookup(message)  # the host's clock: ten days off Twilio's
    assert outcome is not None and outcome.status == "unknown"


def test_lookup_finds_a_message_from_an_earlier_day(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    emulator.set_now(yesterday)
    provider = make_provider()
    message = new_message(created_at=yesterday)
    sent = provider.send(message)
    assert emulator.wait_idle()
    found = provider.lookup(message)
    assert found is not None and found.provider_id == sent.provider_id


def test_lookup_tolerates_smart_encoding_of_the_body(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    message = new_message(body="It\u2019s Sam \u2014 new listings\u2026")
    emulator.book.create(
        ACCOUNT_SID, {"To": message.to, "From": SENDER, "Body": "It's Sam - new listings..."}
    )
    found = make_provider().lookup(message)
    assert found is not None and found.status == "sent"


def test_lookup_that_cannot_list_is_unknown(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    emulator.add_fault(Fault(op="list", status=500))
    outcome = make_provider().lookup(new_message())
    assert outcome is not None and outcome.status == "unknown"


def test_a_lookup_through_too_many_messages_cannot_tell(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    target = new_message()
    for _ in range(LOOKUP_SCAN_LIMIT):
        other = emulator.book.create(ACCOUNT_SID, {"To": target.to, "From": SENDER, "Body": "x"})
        emulator.book.advance(other.sid, "sent")
    outcome = make_provider().lookup(target)
    assert outcome is not None and outcome.status == "unknown"
    assert "more than 1000 messages" in (outcome.detail or "")


def test_lookup_pages_through_many_messages(
    emulator: TwilioEmulator, make_provider: Factory
) -> None:
    provider = make_provider()
    target = new_message()
    provider.send(target)
    for _ in range(120):  # newer messages to the same number push it to a later page
        other = emulator.book.create(ACCOUNT_SID, {"To": target.to, "From": SENDER, "Body": "x"})
        emulator.book.advance(other.sid, "sent")
    assert emulator.wait_idle()
    found = provider.lookup(target)
    assert found is not None and found.status == "sent"
    assert len(emulator.requests("list")) >= 2
