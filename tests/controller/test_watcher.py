"""The file watcher wakes the controller for real edits and ignores editor droppings."""

from __future__ import annotations

import time
from pathlib import Path

from campaignctl.controller.watcher import ConfigWatcher, is_relevant


def test_editor_files_are_not_changes() -> None:
    for name in [".buyer.yaml.swp", "buyer.yaml~", "#buyer.yaml#", ".#buyer.yaml", "x.tmp"]:
        assert not is_relevant(f"/repo/campaigns.d/{name}"), name
    for name in ["buyer.yaml", "contacts/open-house.csv", "dnc/registry.txt"]:
        assert is_relevant(f"/repo/campaigns.d/{name}"), name


def test_a_real_watcher_sees_edits_but_not_swap_files(tmp_path: Path) -> None:
    watcher = ConfigWatcher(tmp_path)
    watcher.start()
    try:
        time.sleep(0.3)
        (tmp_path / ".spring.yaml.swp").write_text("swap")
        assert not watcher.changed.wait(1.0)
        (tmp_path / "groups").mkdir()
        watcher.changed.clear()
        (tmp_path / "groups" / "open-house.csv").write_text("phone\n+12125550100\n")
        assert watcher.changed.wait(5.0)
    finally:
        watcher.stop()
