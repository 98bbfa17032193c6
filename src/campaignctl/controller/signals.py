"""A signal wakes the main thread's wait, whichever of the process's threads took it.

Python runs a signal's handler in the main thread, at the next bytecode it runs. A main
thread asleep in a wait (`threading.Event.wait`) hears of a signal only when that signal
interrupted its own wait. The kernel hands a signal sent to the process to whichever thread
takes it first: usually the sleeping main thread, but a thread that starts another thread or
changes its signal mask at that moment may take it instead, and then the main thread sleeps
on until its wait times out (for the controller, the interval: an hour, say).

`waking(event)` has Python's C-level handler, which runs in whatever thread took the signal,
write the signal's number to a socket (`signal.set_wakeup_fd`); a thread reading that socket
sets `event`. The main thread's wait ends, and its next bytecode runs the handler.

    with waking(controller.wake):   # in the main thread, once the handlers are installed
        controller.loop()
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator


def _relay(reader: socket.socket, event: threading.Event) -> None:
    while reader.recv(64):  # b"": the writing end was closed
        event.set()


@contextlib.contextmanager
def waking(event: threading.Event) -> Iterator[None]:
    """Set `event` whenever a signal with a Python handler arrives (main thread only)."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)  # the C handler must never block on it
    relay = threading.Thread(
        target=_relay, args=(reader, event), name="campaignctl-signals", daemon=True
    )
    relay.start()
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        writer.close()
        relay.join()
        reader.close()
