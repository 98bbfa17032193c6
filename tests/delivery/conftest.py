from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from campaignctl.emulator import TwilioEmulator
from campaignctl.providers.twilio import TwilioProvider
from campaignctl.store import Store
from tests.delivery.helpers import ACCOUNT_SID, AUTH_TOKEN


@pytest.fixture
def emulator() -> Iterator[TwilioEmulator]:
    with TwilioEmulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, delivery_delay=0.01) as emu:
        yield emu


@pytest.fixture
def sleeps() -> list[float]:
    """The backoff delays a provider asked for (it is given `sleeps.append` as its sleep)."""
    return []


@pytest.fixture
def make_provider(emulator: TwilioEmulator, sleeps: list[float]) -> Callable[..., TwilioProvider]:
    def make(**overrides: Any) -> TwilioProvider:
        options: dict[str, Any] = {
            "base_url": emulator.url,
            "sleep": sleeps.append,
            "rng": random.Random(7),
            "timeout": 1.0,
        }
        options.update(overrides)
        token = options.pop("auth_token", AUTH_TOKEN)
        return TwilioProvider(ACCOUNT_SID, token, **options)

    return make


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    Store.open(path).close()
    return path
