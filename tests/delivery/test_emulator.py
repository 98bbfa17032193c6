"""The emulator speaks enough of Twilio's API for the real SDK, and is scriptable over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from campaignctl.emulator import Fault, TwilioEmulator
from tests.delivery.helpers import ACCOUNT_SID, AUTH_TOKEN, SENDER


def sdk(emulator: TwilioEmulator, token: str = AUTH_TOKEN) -> Client:
    client = Client(ACCOUNT_SID, token)
    client.api.base_url = emulator.url
    return client


def control(emulator_url: str, path: str, payload: object | None = None) -> tuple[int, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        emulator_url + path, data=data, method="GET" if data is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_create_fetch_and_list_with_the_sdk(emulator: TwilioEmulator) -> None:
    client = sdk(emulator)
    created = client.messages.create(to="+14155550100", from_=SENDER, body="Hello there")
    assert created.status == "queued" and created.sid.startswith("SM")
    assert created.date_created is not None and created.date_created.tzinfo is not None
    assert created.num_segments == "1" and created.direction == "outbound-api"
    fetched = client.messages(created.sid).fetch()
    assert (fetched.sid, fetched.body, fetched.to) == (created.sid, "Hello there", "+14155550100")
    assert [m.sid for m in client.messages.list(to="+14155550100")] == [created.sid]
    assert client.messages.list(to="+14155550199") == []


def test_list_pages_newest_first_and_filters_by_sender(emulator: TwilioEmulator) -> None:
    client = sdk(emulator)
    sids = [
        client.messages.create(to="+14155550100", from_=SENDER, body=f"n{i}").sid for i in range(7)
    ]
    client.messages.create(to="+14155550100", from_="+15125550111", body="other sender")
    listed = client.messages.list(to="+14155550100", from_=SENDER, page_size=3)
    assert sorted(m.sid for m in listed) == sorted(sids)
    assert len(emulator.requests("list")) == 3  # three pages of 3, 3 and 1
    limited = client.messages.list(to="+14155550100", limit=2)
    assert len(limited) == 2


def test_date_sent_filter_skips_queued_messages(emulator: TwilioEmulator) -> None:
    client = sdk(emulator)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    message = emulator.book.create(
        ACCOUNT_SID, {"To": "+14155550100", "From": SENDER, "Body": "queued"}
    )
    assert client.messages.list(date_sent_after=today) == []
    emulator.book.advance(message.sid, "sent")
    assert [m.sid for m in client.messages.list(date_sent_after=today)] == [message.sid]
    assert client.messages.list(date_sent_after=today + timedelta(days=1)) == []
    assert len(client.messages.list(date_sent_before=today + timedelta(hours=23))) == 1


def test_bad_credentials_and_missing_messages(emulator: TwilioEmulator) -> None:
    with pytest.raises(TwilioRestException) as refused:
        sdk(emulator, "not-the-token").messages.create(to="+14155550100", from_=SENDER, body="x")
    assert (refused.value.status, refused.value.code) == (401, 20003)
    with pytest.raises(TwilioRestException) as missing:
        sdk(emulator).messages("SM" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as no_body:
        sdk(emulator).messages.create(to="+14155550100", from_=SENDER, body="")
    assert no_body.value.code == 21602


def test_faults_apply_to_the_next_matching_requests_only(emulator: TwilioEmulator) -> None:
    client = sdk(emulator)
    emulator.add_fault(Fault(to="+14155550111", code=21610, times=None), Fault(code=20429, times=2))
    for _ in range(2):
        with pytest.raises(TwilioRestException) as throttled:
            client.messages.create(to="+14155550100", from_=SENDER, body="x")
        assert (throttled.value.status, throttled.value.code) == (429, 20429)
    assert client.messages.create(to="+14155550100", from_=SENDER, body="x").status == "queued"
    for _ in range(3):
        with pytest.raises(TwilioRestException) as opted_out:
            client.messages.create(to="+14155550111", from_=SENDER, body="x")
        assert opted_out.value.code == 21610
    assert len(emulator.book.all()) == 1


def test_status_callbacks_follow_the_message_and_scripted_failures(
    emulator: TwilioEmulator,
) -> None:
    emulator.add_fault(
        Fault(op="deliver", to="+14155550122", final_status="undelivered", code=30005)
    )
    client = sdk(emulator)
    ok = client.messages.create(
        to="+14155550100",
        from_=SENDER,
        body="a",
        status_callback="http://127.0.0.1:9/twilio/status?attempt=1",
    )
    bad = client.messages.create(to="+14155550122", from_=SENDER, body="b")
    assert emulator.wait_idle()
    assert client.messages(ok.sid).fetch().status == "delivered"
    failed = client.messages(bad.sid).fetch()
    assert (failed.status, failed.error_code) == ("undelivered", 30005)
    calls = emulator.callbacks()
    assert [c["status"] for c in calls] == ["sent", "delivered"]  # only ok has a callback URL
    assert all("error" in c for c in calls)  # nothing listens on port 9


def test_control_api_over_http(emulator: TwilioEmulator) -> None:
    status, body = control(
        emulator.url, "/_emulator/faults", [{"op": "create", "status": 500, "after_create": True}]
    )
    assert status == 201 and body["faults"][0]["status"] == 500
    with pytest.raises(TwilioRestException) as failed:
        sdk(emulator).messages.create(to="+14155550100", from_=SENDER, body="x")
    assert failed.value.status == 500
    status, body = control(emulator.url, "/_emulator/messages")
    assert status == 200 and [m["body"] for m in body["messages"]] == ["x"]
    assert control(emulator.url, "/_emulator/faults", {"op": "nope"})[0] == 400
    assert control(emulator.url, "/_emulator/faults", {"code": 1, "colour": "red"})[0] == 400
    assert control(emulator.url, "/_emulator/reset", {})[0] == 200
    assert control(emulator.url, "/_emulator/messages")[1]["messages"] == []
    status, body = control(emulator.url, "/_emulator/clock", {"now": "2026-03-02T15:00:00Z"})
    assert status == 200 and body["now"].startswith("2026-03-02T15:00")
    created = sdk(emulator).messages.create(to="+14155550100", from_=SENDER, body="y")
    assert created.date_created.date().isoformat() == "2026-03-02"


def test_control_api_can_drop_and_garble(emulator: TwilioEmulator) -> None:
    control(
        emulator.url,
        "/_emulator/faults",
        [{"drop": True, "after_create": True}, {"malformed": True}],
    )
    client = sdk(emulator)
    with pytest.raises(Exception) as dropped:
        client.messages.create(to="+14155550100", from_=SENDER, body="x")
    assert "Connection" in type(dropped.value).__name__ or "onnection" in str(dropped.value)
    with pytest.raises(ValueError):
        client.messages.create(to="+14155550100", from_=SENDER, body="y")
    assert [m.body for m in emulator.book.all()] == ["x"]


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
    assert match, first + (process.stderr.read() if process.stderr else "")
    return process, match.group(0)


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "campaignctl.emulator", "--port", "0"],
        [sys.executable, "-m", "campaignctl", "twilio-emulator", "--port", "0"],
    ],
)
def test_runs_as_a_process_and_exits_0_on_sigterm(command: list[str]) -> None:
    env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    process, url = _start(command, env)
    try:
        status, health = control(url, "/_emulator/health")
        assert status == 200 and health["account_sid"] == ACCOUNT_SID
        client = Client(ACCOUNT_SID, AUTH_TOKEN)
        client.api.base_url = url
        client.messages.create(to="+14155550100", from_=SENDER, body="hello")
        assert [m["body"] for m in control(url, "/_emulator/messages")[1]["messages"]] == ["hello"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert AUTH_TOKEN not in out + err


def test_a_busy_port_is_one_clean_error(emulator: TwilioEmulator) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "campaignctl", "twilio-emulator", "--port", str(emulator.port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr


def test_emulator_clock_can_start_elsewhere() -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with TwilioEmulator(now=start) as emulator:
        time.sleep(0.01)
        assert timedelta(0) <= emulator.now() - start < timedelta(seconds=5)


@pytest.mark.parametrize("offset", ["-5m", "+3h"])
def test_emulator_clock_runs_behind_or_ahead_and_everything_it_dates_follows(offset: str) -> None:
    from campaignctl.emulator.clock import parse_offset

    skew = parse_offset(offset)
    with TwilioEmulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, clock_offset=skew, delivery_delay=0.01
    ) as emulator:
        created = sdk(emulator).messages.create(to="+14155550100", from_=SENDER, body="x")
        assert emulator.wait_idle()
        with urllib.request.urlopen(emulator.url + "/_emulator/clock", timeout=5) as answer:
            told = parsedate_to_datetime(answer.headers["Date"])
            clock = json.loads(answer.read())
        [listed] = sdk(emulator).messages.list(date_sent_after=created.date_created, limit=5)
    now = datetime.now(UTC)
    assert clock["offset_seconds"] == skew.total_seconds()
    for at in (created.date_created, listed.date_sent, told):
        assert abs(at - (now + skew)) < timedelta(seconds=5), at


def test_emulator_clock_offset_can_be_set_over_http(emulator: TwilioEmulator) -> None:
    status, clock = control(emulator.url, "/_emulator/clock", {"offset_seconds": -420})
    assert status == 200 and clock["offset_seconds"] == -420
    assert abs(emulator.now() - datetime.now(UTC) + timedelta(minutes=7)) < timedelta(seconds=5)
    assert control(emulator.url, "/_emulator/clock", {"offset_seconds": "soon"})[0] == 400


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "campaignctl.emulator", "--port", "0", "--clock-offset=-5m"],
        [sys.executable, "-m", "campaignctl", "twilio-emulator", "--port", "0",
         "--clock-offset", "-5m"],
    ],
)  # fmt: skip
def test_the_command_takes_a_clock_offset(command: list[str]) -> None:
    process, url = _start(command, {**os.environ})
    try:
        assert process.stdout is not None
        said = process.stdout.readline()  # the line after the one with the URL
        status, clock = control(url, "/_emulator/clock")
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
    assert status == 200 and clock["offset_seconds"] == -300
    assert said.startswith("Its clock reads") and process.returncode == 0, err


def test_a_clock_offset_that_is_not_one_is_one_clean_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "campaignctl", "twilio-emulator", "--clock-offset", "soon"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "-5m" in result.stderr
