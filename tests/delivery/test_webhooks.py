"""The webhook application served by waitress over real HTTP, with requests signed by the
twilio SDK's validator (directly, or by the emulator delivering callbacks)."""

from __future__ import annotations

import secrets
import sqlite3
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from campaignctl.emulator import Fault, TwilioEmulator
from campaignctl.store import Store
from tests.delivery.helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SENDER,
    enroll,
    inbound,
    live_campaigns,
    post_signed,
    record_attempt,
    webhook_server,
)

ANA = "+14155550100"  # enrolled in "spring" (stopOnReply)
BEN = "+14155550101"  # enrolled in "newsletter" (stopOnReply: false)
STRANGER = "+14155550199"


@pytest.fixture
def enrolled(state: Path) -> Path:
    with Store.open(state) as store:
        enroll(store, "spring", [ANA])
        enroll(store, "newsletter", [BEN], stop_on_reply=False)
    return state


@pytest.fixture
def hooks(enrolled: Path) -> Iterator[str]:
    with webhook_server(enrolled) as base:
        yield base


def send_inbound(
    hooks: str, phone: str, body: str, sid: str | None = None, **extra: str
) -> tuple[int, str, str]:
    return post_signed(f"{hooks}/twilio/inbound", inbound(phone, body, sid, **extra))


def optout_of(state: Path, phone: str) -> str | None:
    with Store.open(state) as store:
        record = store.optout_of(phone)
    return None if record is None else record.source


def enrollments(state: Path, phone: str) -> dict[str, str | None]:
    with Store.open(state) as store:
        return live_campaigns(store, phone)


# ---------------------------------------------------------------------- signatures


def test_unsigned_forged_and_tampered_requests_get_403_and_change_nothing(
    hooks: str, enrolled: Path
) -> None:
    url = f"{hooks}/twilio/inbound"
    params = inbound(ANA, "STOP", "SM" + "1" * 32)
    attempts = [
        post_signed(url, params, signature=""),  # unsigned
        post_signed(url, params, token="not-the-auth-token"),  # forged
        post_signed(url, params, signed_url="https://elsewhere.example.com/twilio/inbound"),
        post_signed(url, params, signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    ]
    good = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    tampered = {**params, "From": BEN}  # signed for ANA, sent for BEN
    attempts.append(post_signed(url, tampered, signature=good))
    for status, _type, _body in attempts:
        assert status == 403
    assert optout_of(enrolled, ANA) is None and optout_of(enrolled, BEN) is None
    assert enrollments(enrolled, ANA) == {"spring": None}
    # the refused requests did not use up the MessageSid: the genuine one is processed
    assert post_signed(url, params)[0] == 200
    assert optout_of(enrolled, ANA) == "sms"


def test_the_signature_covers_the_public_url_not_the_local_one(enrolled: Path) -> None:
    public = "https://hooks.example.com"
    with webhook_server(enrolled, public_url=public) as base:
        params = inbound(ANA, "stop")
        assert post_signed(f"{base}/twilio/inbound", params)[0] == 403
        signed_publicly = post_signed(
            f"{base}/twilio/inbound", params, signed_url=f"{public}/twilio/inbound"
        )
        assert signed_publicly[0] == 200
    assert optout_of(enrolled, ANA) == "sms"


def test_routes_methods_and_health(hooks: str) -> None:
    with urllib.request.urlopen(f"{hooks}/healthz", timeout=5) as response:
        assert response.status == 200
    assert post_signed(f"{hooks}/twilio/elsewhere", inbound(ANA, "hi"))[0] == 404
    try:
        urllib.request.urlopen(f"{hooks}/twilio/inbound", timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.code == 405
    else:
        pytest.fail("GET was accepted")


# ---------------------------------------------------------------------- inbound keywords


@pytest.mark.parametrize(
    "body",
    [
        *["stop", " Stop! ", "STOPALL", "unsubscribe.", "Cancel", "end", "QUIT", "revoke"],
        *["OptOut", "Opt out", "Opt-out", "opt-out.", "ＳＴＯＰ", "stop texting me please"],
    ],
)
def test_stop_variants_opt_out_and_end_every_live_enrollment(
    hooks: str, enrolled: Path, body: str
) -> None:
    status, content_type, text = send_inbound(hooks, ANA, body)
    assert status == 200 and content_type.startswith("text/xml")
    assert text.endswith("<Response/>")
    assert optout_of(enrolled, ANA) == "sms"
    assert enrollments(enrolled, ANA) == {"spring": "opted_out"}
    assert enrollments(enrolled, BEN) == {"newsletter": None}


def test_a_sentence_containing_stop_is_a_reply_not_an_opt_out(hooks: str, enrolled: Path) -> None:
    assert send_inbound(hooks, ANA, "We have got to STOP this bill")[0] == 200
    assert optout_of(enrolled, ANA) is None
    assert enrollments(enrolled, ANA) == {"spring": "replied"}


def test_a_reply_ends_the_sequence_only_where_stop_on_reply(hooks: str, enrolled: Path) -> None:
    assert send_inbound(hooks, BEN, "Sounds good, call me")[0] == 200
    assert enrollments(enrolled, BEN) == {"newsletter": None}
    assert send_inbound(hooks, ANA, "Sounds good, call me")[0] == 200
    assert enrollments(enrolled, ANA) == {"spring": "replied"}


def test_start_lifts_an_sms_opt_out(hooks: str, enrolled: Path) -> None:
    send_inbound(hooks, ANA, "STOP")
    assert optout_of(enrolled, ANA) == "sms"
    status, _type, text = send_inbound(hooks, ANA, "start")
    assert status == 200 and text.endswith("<Response/>")
    assert optout_of(enrolled, ANA) is None
    with Store.open(enrolled) as store:
        reasons = [e.reason for e in store.explain(ANA) if e.kind in ("optout", "optin")]
    assert reasons == ["STOP by SMS", "START by SMS"]


def test_help_is_answered_with_twiml_unless_twilio_answers_it(hooks: str, enrolled: Path) -> None:
    status, content_type, text = send_inbound(hooks, ANA, "Help")
    assert status == 200 and content_type.startswith("text/xml")
    assert "<Message>" in text and "STOP" in text
    assert send_inbound(hooks, ANA, "INFO")[2].count("<Message>") == 1
    assert send_inbound(hooks, ANA, "help", OptOutType="HELP")[2].endswith("<Response/>")
    assert enrollments(enrolled, ANA) == {"spring": None}  # HELP is not a reply
    assert optout_of(enrolled, ANA) is None


def test_twilio_opt_out_type_is_honoured(hooks: str, enrolled: Path) -> None:
    send_inbound(hooks, ANA, "arrêtez s'il vous plaît", OptOutType="STOP")
    assert optout_of(enrolled, ANA) == "sms"
    send_inbound(hooks, ANA, "bonjour", OptOutType="START")
    assert optout_of(enrolled, ANA) is None


def test_unknown_numbers(hooks: str, enrolled: Path) -> None:
    assert send_inbound(hooks, STRANGER, "who is this?")[0] == 200
    assert enrollments(enrolled, STRANGER) == {}
    assert send_inbound(hooks, STRANGER, "STOP")[0] == 200
    assert optout_of(enrolled, STRANGER) == "sms"  # the global list: never enrolled later


def test_a_replayed_message_sid_is_processed_once(hooks: str, enrolled: Path) -> None:
    stop_sid = "SM" + secrets.token_hex(16)
    assert send_inbound(hooks, ANA, "STOP", stop_sid)[0] == 200
    send_inbound(hooks, ANA, "START")
    assert optout_of(enrolled, ANA) is None
    status, _type, text = send_inbound(hooks, ANA, "STOP", stop_sid)  # Twilio retries it
    assert status == 200 and text.endswith("<Response/>")
    assert optout_of(enrolled, ANA) is None
    with Store.open(enrolled) as store:
        history = [(e.kind, e.reason) for e in store.explain(ANA) if e.kind in ("optout", "optin")]
    assert history == [("optout", "STOP by SMS"), ("optin", "START by SMS")]


def test_an_event_that_cannot_be_recorded_whole_is_not_recorded_and_its_retry_is_honoured(
    hooks: str, enrolled: Path
) -> None:
    """The opt-out's writes fail and so would any undo (as on a full disk): the server
    answers 500, and Twilio's retry of the same MessageSid must still opt the number out."""
    db = sqlite3.connect(enrolled)
    db.executescript(
        "CREATE TRIGGER no_history BEFORE INSERT ON optout_history"
        " BEGIN SELECT RAISE(ABORT, 'disk full'); END;"
        "CREATE TRIGGER no_undo BEFORE DELETE ON webhook_events"
        " BEGIN SELECT RAISE(ABORT, 'disk full'); END;"
    )
    sid = "SM" + secrets.token_hex(16)
    assert send_inbound(hooks, ANA, "STOP", sid)[0] == 500
    assert optout_of(enrolled, ANA) is None
    assert enrollments(enrolled, ANA) == {"spring": None}
    db.executescript("DROP TRIGGER no_history; DROP TRIGGER no_undo;")
    db.close()
    assert send_inbound(hooks, ANA, "STOP", sid)[0] == 200  # Twilio's retry
    assert optout_of(enrolled, ANA) == "sms"
    assert enrollments(enrolled, ANA) == {"spring": "opted_out"}


def test_missing_fields_are_a_400(hooks: str) -> None:
    params = inbound(ANA, "STOP")
    del params["MessageSid"]
    assert post_signed(f"{hooks}/twilio/inbound", params)[0] == 400


# ---------------------------------------------------------------------- status callbacks


@pytest.fixture
def loop(enrolled: Path) -> Iterator[tuple[str, TwilioEmulator]]:
    with (
        webhook_server(enrolled) as base,
        TwilioEmulator(
            account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, callback_url=base, delivery_delay=0.01
        ) as emulator,
    ):
        yield base, emulator


def send_recorded(state: Path, emulator: TwilioEmulator, hooks: str | None, phone: str) -> int:
    """Send like the applier does: intent first, then the provider, then the outcome."""
    from campaignctl.providers.twilio import TwilioProvider

    with Store.open(state) as store:
        attempt_id = record_attempt(store, "spring" if phone == ANA else "newsletter", phone)
        record = store.attempt(attempt_id)
        assert record is not None
        provider = TwilioProvider(
            ACCOUNT_SID, AUTH_TOKEN, base_url=emulator.url, status_callback_base=hooks
        )
        outcome = provider.send(record.message())
        store.record_outcome(attempt_id, outcome, record.created_at, 30)
    return attempt_id


def delivery_of(state: Path, attempt_id: int) -> tuple[str | None, int | None]:
    with Store.open(state) as store:
        record = store.attempt(attempt_id)
    assert record is not None
    return record.delivery_status, record.error_code


def test_status_callbacks_from_the_emulator_record_delivery(
    loop: tuple[str, TwilioEmulator], enrolled: Path
) -> None:
    hooks, emulator = loop
    attempt_id = send_recorded(enrolled, emulator, hooks, ANA)
    assert emulator.wait_idle()
    calls = emulator.callbacks()
    assert [(c["status"], c["http_status"]) for c in calls] == [("sent", 200), ("delivered", 200)]
    assert calls[0]["url"] == f"{hooks}/twilio/status?attempt={attempt_id}"
    assert delivery_of(enrolled, attempt_id) == ("delivered", None)


def test_callbacks_without_attempt_id_are_matched_by_message_sid(
    loop: tuple[str, TwilioEmulator], enrolled: Path
) -> None:
    hooks, emulator = loop
    attempt_id = send_recorded(enrolled, emulator, None, ANA)  # no callback URL in the send
    assert emulator.wait_idle()
    assert [c["url"] for c in emulator.callbacks()] == [f"{hooks}/twilio/status"] * 2
    assert delivery_of(enrolled, attempt_id) == ("delivered", None)


@pytest.mark.parametrize(("code", "ends"), [(30005, True), (30006, True), (30003, False)])
def test_undeliverable_numbers_end_the_enrollment(
    loop: tuple[str, TwilioEmulator], enrolled: Path, code: int, ends: bool
) -> None:
    hooks, emulator = loop
    emulator.add_fault(Fault(op="deliver", to=ANA, final_status="undelivered", code=code))
    attempt_id = send_recorded(enrolled, emulator, hooks, ANA)
    assert emulator.wait_idle()
    assert delivery_of(enrolled, attempt_id) == ("undelivered", code)
    assert enrollments(enrolled, ANA) == {"spring": "provider_rejected" if ends else None}


def test_replayed_and_late_callbacks_change_nothing(
    loop: tuple[str, TwilioEmulator], enrolled: Path
) -> None:
    hooks, emulator = loop
    attempt_id = send_recorded(enrolled, emulator, hooks, ANA)
    assert emulator.wait_idle()
    [message] = emulator.book.all()
    url = f"{hooks}/twilio/status?attempt={attempt_id}"
    late = {"MessageSid": message.sid, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}
    assert post_signed(url, late)[0] == 200
    assert delivery_of(enrolled, attempt_id) == ("delivered", None)
    unknown = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered"}
    assert post_signed(f"{hooks}/twilio/status", unknown)[0] == 200
    forged = {"MessageSid": message.sid, "MessageStatus": "failed", "ErrorCode": "30006"}
    assert post_signed(url, forged, token="guess")[0] == 403
    assert delivery_of(enrolled, attempt_id) == ("delivered", None)
    assert enrollments(enrolled, ANA) == {"spring": None}


def test_inbound_through_the_emulator(loop: tuple[str, TwilioEmulator], enrolled: Path) -> None:
    _hooks, emulator = loop
    status, text, sid = emulator.send_inbound(ANA, SENDER, "  STOP. ")
    assert status == 200 and text.endswith("<Response/>")
    assert optout_of(enrolled, ANA) == "sms"
    emulator.send_inbound(ANA, SENDER, "start")
    assert emulator.send_inbound(ANA, SENDER, "STOP", message_sid=sid)[0] == 200
    assert optout_of(enrolled, ANA) is None
