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


def seen(watcher: ConfigWatcher, path: Path, touch: bool = False, timeout: float = 10.0) -> bool:
    """Whether the watcher reports a change to `path` within `timeout` (writing it again
    while waiting, with touch: the watch may not be in place yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if touch:
            path.write_text("probe")
        if str(path) in watcher.changes:
            return True
        watcher.changed.wait(0.1)
        watcher.changed.clear()
    return False


def test_a_real_watcher_sees_edits_but_not_swap_files(tmp_path: Path) -> None:
    (tmp_path / "groups").mkdir()
    watcher = ConfigWatcher(tmp_path)
    watcher.start()
    try:
        assert seen(watcher, tmp_path / "probe.yaml", touch=True)  # the watch is in place
        swap = tmp_path / "groups" / ".open-house.csv.swp"
        csv = tmp_path / "groups" / "open-house.csv"
        swap.write_text("swap")
        csv.write_text("phone\n+12125550100\n")
        # events come in order: once the CSV's is seen, the swap file's was handled before it
        assert seen(watcher, csv)
        assert not [p for p in watcher.changes if p.endswith(".swp")]
    finally:
        watcher.stop()
