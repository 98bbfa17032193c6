"""`campaignctl twilio-emulator`: a local Twilio-compatible server, to try campaignctl (and
test it) without a Twilio account."""

from __future__ import annotations

import os
from datetime import timedelta

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.errors import CampaignctlError


class ClockOffset(click.ParamType):  # type: ignore[type-arg]
    """A signed duration for --clock-offset: -5m, +90s, 2h, -1d."""

    name = "offset"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        from campaignctl.emulator.clock import parse_offset

        try:
            return parse_offset(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@cli.command("twilio-emulator")
@global_options()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8089,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--callback-url",
    metavar="URL",
    help="Base URL of `campaignctl webhooks serve`: status callbacks of messages sent without "
    "one, and simulated inbound SMS, go to URL/twilio/status and URL/twilio/inbound.",
)
@click.option(
    "--delivery-delay",
    type=click.FloatRange(0, 60),
    default=0.5,
    show_default=True,
    metavar="SECONDS",
    help="Time from queued to sent, and from sent to delivered.",
)
@click.option(
    "--clock-offset",
    type=ClockOffset(),
    default="0s",
    metavar="OFFSET",
    help="Run its clock this far ahead of this machine's (-5m: five minutes behind; also "
    "s, h, d), to see that a disagreeing clock never sends a message twice.",
)
@click.option(
    "--latency",
    default="0ms",
    show_default=True,
    metavar="DURATION",
    help="Answer each create this long after it (150ms: Twilio's usual round trip from a US "
    "host), to see sends overlap.",
)
@pass_app
def twilio_emulator(
    app: AppContext,
    host: str,
    port: int,
    callback_url: str | None,
    delivery_delay: float,
    clock_offset: timedelta,
    latency: str,
) -> None:
    """Run a local Twilio-compatible server until Ctrl-C or SIGTERM.

    It speaks enough of Twilio's Messages API for campaignctl (and the twilio SDK): sends,
    lists, fetches, and status callbacks signed like Twilio's. It accepts the account in
    TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, or a built-in test account it prints. With
    --now, its clock starts at that time (use the same --now for campaignctl); with
    --clock-offset it runs that far ahead of (or behind) this machine's, or of --now.

    Faults can be scripted over HTTP, e.g. the next send fails with 500 after creating:

    \b
      curl -d '{"op":"create","status":500,"after_create":true}' \\
           http://127.0.0.1:8089/_emulator/faults

    \b
    Example, in three terminals:
      campaignctl twilio-emulator --callback-url http://127.0.0.1:8080
      campaignctl webhooks serve --public-url http://127.0.0.1:8080
      CAMPAIGNCTL_TWILIO_BASE_URL=http://127.0.0.1:8089 \\
        CAMPAIGNCTL_PUBLIC_URL=http://127.0.0.1:8080 campaignctl apply
    Then: curl http://127.0.0.1:8089/_emulator/messages
    And reply STOP as the contact (signed, to the webhooks):
      curl -d '{"from":"+14155550100","to":"+15125550100","body":"STOP"}' \\
           http://127.0.0.1:8089/_emulator/inbound
    """
    from campaignctl.emulator.clock import parse_latency
    from campaignctl.emulator.run import serve

    try:
        seconds = parse_latency(latency)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--latency") from exc
    try:
        serve(
            host,
            port,
            env=os.environ,
            callback_url=callback_url,
            delivery_delay=delivery_delay,
            now=app.now,
            clock_offset=clock_offset,
            latency=seconds,
            echo=lambda line: click.echo(line),
        )
    except OSError as exc:
        raise CampaignctlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
