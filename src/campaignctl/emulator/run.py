"""Running the emulator in the foreground (`campaignctl twilio-emulator`, `python -m
campaignctl.emulator`) until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import FrameType

from campaignctl.emulator.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, TwilioEmulator


def credentials_from_env(env: Mapping[str, str]) -> tuple[str, str, bool]:
    """(account SID, auth token, whether they are the built-in defaults)."""
    sid = env.get("TWILIO_ACCOUNT_SID")
    token = env.get("TWILIO_AUTH_TOKEN")
    if sid and token:
        return sid, token, False
    return DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, True


def serve(
    host: str,
    port: int,
    *,
    env: Mapping[str, str],
    callback_url: str | None,
    delivery_delay: float,
    now: datetime | None,
    echo: Callable[[str], None],
    clock_offset: timedelta = timedelta(0),
    latency: float = 0.0,
) -> None:
    """Serve until SIGTERM or SIGINT; prints how to point campaignctl at it."""
    sid, token, defaults = credentials_from_env(env)
    emulator = TwilioEmulator(
        host,
        port,
        account_sid=sid,
        auth_token=token,
        callback_url=callback_url,
        delivery_delay=delivery_delay,
        now=now,
        clock_offset=clock_offset,
        latency=latency,
    )
    echo(f"Twilio emulator listening on {emulator.url}")
    if clock_offset:
        echo(f"Its clock reads {emulator.now().isoformat(timespec='seconds')}")
    if latency:
        echo(f"Each create answers after {latency * 1000:.0f} ms")
    echo("Send through it with:")
    echo(f"  export CAMPAIGNCTL_TWILIO_BASE_URL={emulator.url}")
    if defaults:
        echo(f"  export TWILIO_ACCOUNT_SID={sid}")
        echo(f"  export TWILIO_AUTH_TOKEN={token}")
    else:
        echo("  (with the TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN of this environment)")
    if callback_url:
        echo(f"Status callbacks and inbound messages go to {callback_url.rstrip('/')}/twilio/...")
    echo(
        "Control API: GET /_emulator/messages, POST /_emulator/faults, POST /_emulator/inbound, "
        "GET|POST /_emulator/clock"
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.close()
