"""The forwarder in this process, against a real HTTP receiver on 127.0.0.1 and a real state
(both backends): signed JSON, retried with backoff until a 2xx, kept in the forward rows,
never waiting on a slow receiver longer than its timeout."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignctl.controller.forward import (
    MAX_BACKOFF_SECONDS,
    Forwarder,
    backoff_seconds,
    payload,
    signature,
)
from campaignctl.store import Store
from campaignctl.store.inbound import InboundEvent
from campaignctl.store.replies import Reply
from tests.delivery.helpers import closed_port
from tests.replies.receiver import Receiver, receiving, verify
from tests.store.helpers import SENDER, T0, active_campaign, contact, later, phone

SECRET = "forward-secret-for-tests"
START = 1_900_000_000.0  # the forwarder's wall clock, moved by the tests


class Wall:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def kept(state: str) -> str:
    """A state with three replies, the first from an enrolled number."""
    with Store.open(state) as store:
        active_campaign(store)
        store.enroll_many("c1", [contact(phone(1))], T0)
        bodies = ["Yes, call me after 5", "¿Quién es? 🙂", "STOP"]
        for n, body in enumerate(bodies, start=1):
            kind = "opt_out" if body == "STOP" else "reply"
            keyword = "STOP" if body == "STOP" else None
            event = InboundEvent(f"SM{n:032d}", phone(n), kind, keyword, body, SENDER.key)
            store.record_inbound(event, later(minutes=n))
    return state


def forwarder(
    state: str, url: str, wall: Wall, *, secret: str | None = SECRET, timeout: float = 10.0,
    leading: Callable[[], bool] = lambda: True,
) -> Forwarder:  # fmt: skip
    made = Forwarder(
        lambda: Store.open(state), secret, leading, wall=wall, jitter=lambda: 0.0, timeout=timeout
    )
    made.configure(url)
    return made


def replies(state: str) -> dict[str, Reply]:
    with Store.open(state) as store:
        return {r.message_sid: r for r in store.replies()}


def test_replies_are_forwarded_signed_and_retried_with_backoff_until_accepted(kept: str) -> None:
    wall = Wall()
    with receiving(Receiver(failures=[500, 503])) as receiver:
        forward = forwarder(kept, receiver.url, wall)
        assert forward.round() is None  # 500: the first reply waits, and so does the rest
        first = replies(kept)[f"SM{1:032d}"]
        assert (first.forward_attempts, first.forward_error) == (
            1,
            "HTTP 500 Internal Server Error",
        )
        assert first.next_attempt_at == datetime.fromtimestamp(START + 1.0, UTC)  # 2 s x 0.5
        assert forward.round() == 0 and len(receiver.received) == 1  # held back meanwhile
        wall.now += 1.0
        assert forward.round() is None  # 503
        assert forward.round() == 0
        wall.now += 2.0  # the second wait doubled
        assert forward.round() == 3
        assert forward.round() == 0
    keys = receiver.keys()
    assert keys == {f"SM{1:032d}": 3, f"SM{2:032d}": 1, f"SM{3:032d}": 1}
    for got in receiver.received:
        assert verify(SECRET, got.body, got.signature)
    by_key = {r.key: r.document for r in receiver.received if r.answered == 200}
    assert by_key[f"SM{1:032d}"] == {
        "format_version": 1, "id": first.id, "message_sid": f"SM{1:032d}",
        "received_at": "2026-03-02T15:01:00Z", "from": phone(1), "to": SENDER.key,
        "text": "Yes, call me after 5", "campaign": "c1", "step": None, "did": "ended",
        "keyword": None,
    }  # fmt: skip
    assert by_key[f"SM{2:032d}"]["text"] == "¿Quién es? 🙂"
    assert by_key[f"SM{3:032d}"]["did"] == "opted_out"
    # every attempt of a reply sends the same bytes: a receiver may compare them
    assert len({r.body for r in receiver.received if r.key == f"SM{1:032d}"}) == 1
    after = replies(kept)
    assert all(r.forwarded_at is not None and r.forward_error is None for r in after.values())
    assert after[f"SM{1:032d}"].forward_attempts == 3


def test_a_slow_receiver_costs_one_timeout_and_is_retried(kept: str) -> None:
    wall = Wall()
    with receiving(Receiver(hold_at=1)) as receiver:
        forward = forwarder(kept, receiver.url, wall, timeout=0.5)
        assert forward.round() is None
        assert receiver.held.is_set()
        assert replies(kept)[f"SM{1:032d}"].forward_error == "no answer within 0.5s"
        receiver.release.set()
        wall.now += 1.0
        assert forward.round() == 3
    assert receiver.keys()[f"SM{1:032d}"] == 2


def test_an_unreachable_receiver_is_retried_later(kept: str) -> None:
    wall = Wall()
    forward = forwarder(kept, f"http://127.0.0.1:{closed_port()}/in", wall)
    assert forward.round() is None
    assert replies(kept)[f"SM{1:032d}"].forward_error == "connection refused"
    assert forward.held_until == START + 1.0


def test_nothing_is_forwarded_without_the_secret_or_the_lease(
    kept: str, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("campaignctl")
    logger.addHandler(caplog.handler)
    propagate, logger.propagate = logger.propagate, False  # each line caught once
    try:
        with receiving(Receiver()) as receiver:
            unsigned = forwarder(kept, receiver.url, Wall(), secret=None)
            unsigned.configure(receiver.url)  # the next tick: no second line
            assert unsigned.round() == 0
            standby = forwarder(kept, receiver.url, Wall(), leading=lambda: False)
            assert standby.round() == 0
            unset = forwarder(kept, receiver.url, Wall())
            unset.configure(None)
            assert unset.round() == 0
    finally:
        logger.removeHandler(caplog.handler)
        logger.propagate = propagate
    assert receiver.received == []
    refusals = [
        r.getMessage() for r in caplog.records if "CAMPAIGNCTL_FORWARD_SECRET" in r.getMessage()
    ]
    assert refusals == [
        "replies.forwardUrl is set but CAMPAIGNCTL_FORWARD_SECRET is not: replies are kept, "
        "not forwarded, until the controller runs with it"
    ]
    assert all(r.forward_attempts == 0 for r in replies(kept).values())


@given(st.integers(min_value=1, max_value=10_000), st.floats(min_value=0, max_value=0.999))
def test_backoff_doubles_from_two_seconds_up_to_an_hour_with_jitter(
    attempts: int, jitter: float
) -> None:
    wait = backoff_seconds(attempts, jitter)
    base = min(MAX_BACKOFF_SECONDS, 2.0 * 2 ** min(attempts - 1, 30))
    assert base / 2 <= wait < base
    if attempts > 1:
        assert backoff_seconds(attempts, jitter) >= backoff_seconds(attempts - 1, jitter)


@given(st.text(max_size=400), st.text(min_size=1, max_size=40))
def test_the_signature_covers_the_exact_body(text: str, secret: str) -> None:
    reply = Reply(7, T0, phone(1), SENDER.key, text, "SM7", "c1", 2, "kept")
    body = payload(reply)
    assert body == payload(reply)
    assert verify(secret, body, signature(secret, body))
    assert not verify(secret, body + b" ", signature(secret, body))
