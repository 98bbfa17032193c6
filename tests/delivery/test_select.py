"""Which provider the environment selects."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaignctl.emulator import TwilioEmulator
from campaignctl.errors import ProviderError
from campaignctl.providers.select import provider_from_env
from campaignctl.store import Store
from tests.cli.repo import Repo
from tests.delivery.campaign import NOW, attempts, project
from tests.delivery.cli import twilio_env
from tests.delivery.helpers import ACCOUNT_SID, AUTH_TOKEN, new_message


def test_twilio_when_both_credentials_are_set(emulator: TwilioEmulator, state: Path) -> None:
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "CAMPAIGNCTL_TWILIO_BASE_URL": emulator.url,
        "CAMPAIGNCTL_PUBLIC_URL": "https://hooks.example.com",
    }
    with Store.open(state) as store:
        provider = provider_from_env(store, env)
        assert provider.name == "twilio"
        assert provider.send(new_message(attempt_id=7)).status == "sent"
    [created] = emulator.book.all()
    assert created.status_callback == "https://hooks.example.com/twilio/status?attempt=7"


def test_outbox_without_credentials(state: Path) -> None:
    with Store.open(state) as store:
        provider = provider_from_env(store, {"CAMPAIGNCTL_TWILIO_BASE_URL": "http://x"})
        assert provider.name == "outbox"
        outcome = provider.send(new_message(attempt_id=3))
        assert outcome.status == "sent"
        assert store.outbox_find(3) is not None


@pytest.mark.parametrize("present", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"])
def test_half_configured_twilio_is_an_error_not_a_silent_outbox(state: Path, present: str) -> None:
    with Store.open(state) as store, pytest.raises(ProviderError) as error:
        provider_from_env(store, {present: AUTH_TOKEN})
    assert "is not set" in str(error.value) and AUTH_TOKEN not in str(error.value)


@pytest.mark.parametrize(
    ("variable", "value", "advice"),
    [
        ("CAMPAIGNCTL_TWILIO_BASE_URL", "localhost:8080", "http://localhost:8080"),
        ("CAMPAIGNCTL_TWILIO_BASE_URL", "http://", "http://127.0.0.1:8089"),
        ("CAMPAIGNCTL_PUBLIC_URL", "hooks.example.com", "https://hooks.example.com"),
        ("CAMPAIGNCTL_PUBLIC_URL", "ftp://hooks.example.com", "http://127.0.0.1:8089"),
    ],
)
@pytest.mark.parametrize("command", [["apply"], ["reconcile", "--once"]], ids=" ".join)
def test_a_url_without_scheme_is_one_line_before_anything_is_sent(
    tmp_path: Path,
    emulator: TwilioEmulator,
    variable: str,
    value: str,
    advice: str,
    command: list[str],
) -> None:
    repo = project(Repo(tmp_path), ("+14155550100",))
    env = {**twilio_env(emulator.url), variable: value}
    result = repo.process(*command, "--now", NOW, env=env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"{variable}={value}" in line and advice in line, line
    assert "Traceback" not in result.stderr
    assert emulator.requests() == [] and attempts(repo) == []
