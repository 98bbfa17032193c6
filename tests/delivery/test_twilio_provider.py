"""The Twilio provider, with the real twilio SDK, against the emulator over real HTTP."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignctl.emulator import Fault, TwilioEmulator
from campaignctl.providers.twilio import TwilioProvider
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


def test_lookup_matches_body_and_time(emulator: TwilioEmulator, make_provider: Factory) -> None:
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
    later = new_message(body=message.body, created_at=message.created_at + timedelta(minutes=5))
    assert provider.lookup(later) is None  # that message is older than this intent


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
