from __future__ import annotations

from collections.abc import Iterator

import pytest

from campaignctl.store import Store


@pytest.fixture
def store(state: str) -> Iterator[Store]:
    """An open new state, on each backend."""
    with Store.open(state) as opened:
        yield opened
