"""`campaignctl webhooks serve`: Twilio's status callbacks and incoming SMS, over HTTP.

Served by waitress: a production WSGI server maintained by the Pylons project, pure Python
(no C build), multi-threaded, and the same on Linux, macOS and Windows; put a TLS proxy in
front of it."""

from __future__ import annotations

import logging
import os
import signal
from types import FrameType
from urllib.parse import urlsplit

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.errors import CampaignctlError


@cli.group("webhooks")
def webhooks() -> None:
    """Twilio webhooks: delivery status callbacks and incoming SMS (STOP, START, HELP)."""


def _public_url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise click.BadParameter(
            f"{value!r} is not an http(s) URL such as https://hooks.example.com"
        )
    return value.rstrip("/")


@webhooks.command("serve")
@global_options()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on (0 picks a free one and prints it).",
)
@click.option(
    "--public-url",
    envvar="CAMPAIGNCTL_PUBLIC_URL",
    required=True,
    callback=_public_url,
    metavar="URL",
    help="The URL Twilio calls, without /twilio/...: signatures are computed over it "
    "(env CAMPAIGNCTL_PUBLIC_URL).",
)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True)
@pass_app
def serve(app: AppContext, host: str, port: int, public_url: str, threads: int) -> None:
    """Serve POST /twilio/status and POST /twilio/inbound until SIGTERM or Ctrl-C.

    Requests must carry a valid X-Twilio-Signature, computed with the account's auth token
    (TWILIO_AUTH_TOKEN) over --public-url + path: others get 403 and change nothing.
    Status callbacks record delivery (30005/30006 end the enrollment). A one-word STOP,
    STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE or OPTOUT opts the number out; START,
    YES or UNSTOP opts it back in; HELP or INFO gets a help reply; any other message ends
    the contact's sequence with `replied` where the campaign has stopOnReply.

    In Twilio, set the number's (or Messaging Service's) incoming-message webhook to
    URL/twilio/inbound; campaignctl asks for status callbacks at URL/twilio/status when
    CAMPAIGNCTL_PUBLIC_URL is set for `apply` and `reconcile`.

    \b
    Example (behind a TLS proxy that forwards https://hooks.example.com to port 8080):
      export TWILIO_AUTH_TOKEN=...
      campaignctl webhooks serve --host 0.0.0.0 --port 8080 \\
        --public-url https://hooks.example.com
    """
    import waitress.server

    from campaignctl.store import Store
    from campaignctl.webhooks.app import make_app

    token = os.environ.get("TWILIO_AUTH_TOKEN", "").strip()
    if not token:
        raise CampaignctlError(
            "TWILIO_AUTH_TOKEN is not set: webhooks serve needs the account's auth token "
            "to check X-Twilio-Signature"
        )
    with Store.open(app.state_path):  # create or migrate now: fail before listening
        pass
    _configure_logging()
    wsgi = make_app(app.state_path, token, public_url, app.clock)
    try:
        server = waitress.server.create_server(
            wsgi, host=host, port=port, threads=threads, ident="campaignctl"
        )
    except OSError as exc:
        raise CampaignctlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)  # waitress closes its sockets and finishes requests in flight

    signal.signal(signal.SIGTERM, stop)
    click.echo(
        f"campaignctl webhooks: listening on http://{server.effective_host}:"
        f"{server.effective_port}; signatures checked against {public_url}",
        err=True,
    )
    server.run()
    click.echo("campaignctl webhooks: stopped", err=True)


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
