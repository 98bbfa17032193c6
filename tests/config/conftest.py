from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`campaigns.d` under a fresh working directory, so messages say `campaigns.d/...`."""
    monkeypatch.chdir(tmp_path)
    return Path("campaigns.d")
