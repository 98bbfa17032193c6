"""`campaignctl webhooks serve` as a real process: serves, validates, exits 0 on signals."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from campaignctl.store import Store
from tests.delivery.cli import env_for, run, start_webhooks
from tests.delivery.helpers import AUTH_TOKEN, closed_port, inbound, post_signed
from tests.faults.system import immutable, read_only_mount


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_serves_signed_webhooks_and_exits_0_on_signal(
    tmp_path: Path, stop_with: signal.Signals
) -> None:
    state = tmp_path / "state.db"
    port = closed_port()
    public = f"http://127.0.0.1:{port}"
    env = env_for(TWILIO_AUTH_TOKEN=AUTH_TOKEN, CAMPAIGNCTL_PUBLIC_URL=public)
    process, url = start_webhooks(["--port", str(port), "--state", str(state)], env, tmp_path)
    try:
        assert url == public
        assert post_signed(f"{url}/twilio/inbound", inbound("+14155550100", "x"),
                           token="forged")[0] == 403  # fmt: skip
        status, content_type, body = post_signed(
            f"{url}/twilio/inbound", inbound("+14155550100", "STOP")
        )
        assert (status, body.endswith("<Response/>")) == (200, True)
        assert content_type.startswith("text/xml")
    finally:
        process.send_signal(stop_with)
        _out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "Traceback" not in err and AUTH_TOKEN not in err
    assert "refused a request without a valid X-Twilio-Signature" in err
    with Store.open(state) as store:
        record = store.optout_of("+14155550100")
    assert record is not None and record.source == "sms"


def test_without_the_auth_token_it_refuses_to_start(tmp_path: Path) -> None:
    result = run(["webhooks", "serve", "--public-url", "http://127.0.0.1:8080"],
                 env_for(), tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert "TWILIO_AUTH_TOKEN is not set" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--public-url", "hooks.example.com"],
        ["--public-url", "ftp://hooks.example.com"],
        ["--public-url", "https://h.example.com", "--port", "70000"],
        [],
    ],
)
def test_bad_options_are_usage_errors_exiting_1(tmp_path: Path, args: list[str]) -> None:
    result = run(["webhooks", "serve", *args], env_for(TWILIO_AUTH_TOKEN=AUTH_TOKEN), tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.strip()


def test_a_busy_port_is_one_clean_error(tmp_path: Path) -> None:
    env = env_for(TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    process, url = start_webhooks(
        ["--port", "0", "--public-url", "http://x.example", "--state", str(tmp_path / "s.db")],
        env, tmp_path,
    )  # fmt: skip
    try:
        port = url.rsplit(":", 1)[1]
        result = run(["webhooks", "serve", "--port", port, "--public-url", "http://x.example",
                      "--state", str(tmp_path / "s.db")], env, tmp_path)  # fmt: skip
        assert result.returncode == 1
        assert "cannot listen" in result.stderr and "Traceback" not in result.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)


def test_help_teaches(tmp_path: Path) -> None:
    result = run(["webhooks", "serve", "--help"], env_for(), tmp_path)
    assert result.returncode == 0
    assert "--public-url" in result.stdout and "X-Twilio-Signature" in result.stdout
    assert "Example" in result.stdout


@pytest.mark.parametrize("how", ["read-only file", "read-only folder"])
def test_a_state_it_cannot_write_is_refused_before_listening(tmp_path: Path, how: str) -> None:
    state = tmp_path / "state" / "state.db"
    Store.open(state).close()
    guard = immutable(state) if how == "read-only file" else read_only_mount(state.parent)
    args = ["--port", "0", "--public-url", "http://x.example", "--state", str(state)]
    with guard:
        result = run(["webhooks", "serve", *args], env_for(TWILIO_AUTH_TOKEN=AUTH_TOKEN), tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0] and "listening" not in result.stderr
