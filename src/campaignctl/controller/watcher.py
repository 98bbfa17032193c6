"""Wake the controller when a file under the config directory changes (the only module that
imports watchdog). Editor swap and backup files are ignored; the controller coalesces a
burst of events (one save) into one change and one tick."""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

IGNORED_SUFFIXES = (".swp", ".swx", ".swo", ".tmp", "~", ".bak", ".part")
IGNORED_PREFIXES = (".#", "#", ".~")


def is_relevant(path: str) -> bool:
    name = Path(path).name
    if not name or name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES):
        return False
    return not (name.startswith(".") and name.endswith(".swp"))


class _Handler(FileSystemEventHandler):
    def __init__(self, changed: threading.Event, changes: deque[str]) -> None:
        self.changed = changed
        self.changes = changes

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's mtime moves with any file in it, swap files included
        paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
        relevant = [p for p in paths if p and is_relevant(p)]
        if relevant:
            self.changes.append(relevant[-1])
            self.changed.set()


class ConfigWatcher:
    """Sets `changed` whenever a relevant file under `directory` is created, changed or moved;
    `changes` holds the paths of the latest such events, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.changed = threading.Event()
        self.changes: deque[str] = deque(maxlen=64)
        self._observer = Observer()

    def drain(self) -> list[str]:
        """The paths changed since the last drain, oldest first; forgets them."""
        paths: list[str] = []
        while self.changes:
            paths.append(self.changes.popleft())
        return paths

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handler = _Handler(self.changed, self.changes)
        self._observer.schedule(handler, str(self.directory), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
