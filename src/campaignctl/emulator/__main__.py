"""`python -m campaignctl.emulator --port 8089`: the local Twilio-compatible server."""

from __future__ import annotations

import argparse
import os
import sys

from campaignctl.core.instants import InstantError, parse_instant
from campaignctl.emulator.clock import parse_latency, parse_offset
from campaignctl.emulator.run import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m campaignctl.emulator",
        description="A local Twilio-compatible server for tests and trials.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--callback-url", help="base URL of `campaignctl webhooks serve`")
    parser.add_argument("--delivery-delay", type=float, default=0.5, metavar="SECONDS")
    parser.add_argument("--now", help="start the emulator's clock here")
    parser.add_argument(
        "--clock-offset",
        type=parse_offset,
        default="0s",
        metavar="OFFSET",
        help="run the emulator's clock this far ahead of the host's (-5m: behind)",
    )
    parser.add_argument(
        "--latency",
        type=parse_latency,
        default="0ms",
        metavar="DURATION",
        help="answer each create this long after it (150ms: Twilio's usual round trip)",
    )
    args = parser.parse_args(argv)
    try:
        now = parse_instant(args.now) if args.now is not None else None
    except InstantError as exc:
        print(f"error: --now: {exc}", file=sys.stderr)
        return 1
    try:
        serve(
            args.host,
            args.port,
            env=os.environ,
            callback_url=args.callback_url,
            delivery_delay=args.delivery_delay,
            now=now,
            clock_offset=args.clock_offset,
            latency=args.latency,
            echo=lambda line: print(line, flush=True),
        )
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
