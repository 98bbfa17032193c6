"""`campaignctl webhooks serve` under slow clients: connections opened and left hanging (idle,
or a request started and never finished) must not keep Twilio's webhooks waiting."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from campaignctl.store import Store
from tests.delivery.cli import env_for, start_webhooks
from tests.delivery.helpers import AUTH_TOKEN, closed_port, enroll, inbound, post_signed

ANA = "+14155550100"
SLOW_CLIENTS = 150
PARTIAL_REQUEST = (
    b"POST /twilio/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4096\r\n\r\nFrom=%2B1"
)


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections to 127.0.0.1:port, every other one with a request begun and never
    finished, the rest idle; all closed on leaving (they live no longer than the test)."""
    with ExitStack() as stack:
        held = []
        for number in range(count):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            if number % 2:
                sock.sendall(PARTIAL_REQUEST)
            held.append(sock)
        yield held


def still_open(sock: socket.socket) -> bool:
    """True when the server has neither answered nor closed the connection."""
    sock.setblocking(False)
    try:
        return not sock.recv(1)  # b"": closed by the server
    except BlockingIOError:
        return True  # nothing to read: still held
    finally:
        sock.setblocking(True)


def test_a_signed_stop_is_answered_while_150_slow_clients_hold_connections(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.db"
    with Store.open(state) as store:
        enroll(store, "spring", [ANA])
    port = closed_port()
    env = env_for(TWILIO_AUTH_TOKEN=AUTH_TOKEN, CAMPAIGNCTL_PUBLIC_URL=f"http://127.0.0.1:{port}")
    process, url = start_webhooks(["--port", str(port), "--state", str(state)], env, tmp_path)
    try:
        with slow_clients(port, SLOW_CLIENTS) as held:
            status, _type, body = post_signed(f"{url}/twilio/inbound", inbound(ANA, "STOP"))
            assert (status, body.endswith("<Response/>")) == (200, True)
            # answered while every slow client still held its connection
            assert all(still_open(sock) for sock in held)
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    with Store.open(state) as store:
        record = store.optout_of(ANA)
        assert record is not None and record.source == "sms"
        assert [e.end_reason for e in store.enrollments_of(ANA)] == ["opted_out"]
