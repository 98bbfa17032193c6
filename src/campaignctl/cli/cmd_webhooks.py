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
from campaignctl.store.location import StateLocation


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
@click.option(
    "--help-text",
    envvar="CAMPAIGNCTL_HELP_TEXT",
    metavar="TEXT",
    help="The answer to HELP (env CAMPAIGNCTL_HELP_TEXT); default: Settings.helpText of "
    "--dir when it can be read, else a line saying how to stop and restart messages.",
)
@pass_app
def serve(
    app: AppContext, host: str, port: int, public_url: str, threads: int, help_text: str | None
) -> None:
    """Serve POST /twilio/status and POST /twilio/inbound until SIGTERM or Ctrl-C.

    Requests must carry a valid X-Twilio-Signature, computed with the account's auth token
    (TWILIO_AUTH_TOKEN) over --public-url + path: others get 403 and change nothing.
    Status callbacks record delivery (30005/30006 end the enrollment). STOP, STOPALL,
    UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE or OPTOUT opts the number out, in any case,
    width, punctuation or spacing ("Opt-out.", "stop all"), or in a short reply made of
    courtesy words around it ("please stop texting me"); START, YES or UNSTOP opts it back
    in; HELP or INFO gets a help reply; any other message ends the contact's sequence with
    `replied` where the campaign has stopOnReply. Each event is recorded whole in one
    transaction, or not at all (answered 500, so that Twilio's retry records it).

    The state must be writable: a read-only state file or folder is refused at start.

    In Twilio, set the number's (or Messaging Service's) incoming-message webhook to
    URL/twilio/inbound; campaignctl asks for status callbacks at URL/twilio/status when
    CAMPAIGNCTL_PUBLIC_URL is set for `apply` and `reconcile`.

    \b
    Example (behind a TLS proxy that forwards https://hooks.example.com to port 8080;
    deploy/nginx-webhooks.conf is one):
      export TWILIO_AUTH_TOKEN=...
      campaignctl webhooks serve --host 0.0.0.0 --port 8080 \\
        --public-url https://hooks.example.com
    """
    import waitress.server

    from campaignctl.config.loader import settings_help_text
    from campaignctl.webhooks.app import DEFAULT_HELP_TEXT, make_app

    token = os.environ.get("TWILIO_AUTH_TOKEN", "").strip()
    if not token:
        raise CampaignctlError(
            "TWILIO_AUTH_TOKEN is not set: webhooks serve needs the account's auth token "
            "to check X-Twilio-Signature"
        )
    _check_writable(app.state_path)
    _configure_logging()
    if help_text is None:
        help_text = settings_help_text(app.config_dir) or DEFAULT_HELP_TEXT
    wsgi = make_app(app.state_path, token, public_url, app.clock, help_text=help_text)
    try:
        server = waitress.server.create_server(
            wsgi, host=host, port=port, threads=threads, **_server_options()
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


# Waitress's settings, chosen for Twilio's traffic. A webhook request is a small form that
# arrives whole in well under a second, and Twilio gives up on an answer after 15 seconds.
CONNECTION_LIMIT = 1000
"""Open connections served at once. Waitress stops accepting at this number (default 100),
and a connection held open by a slow or idle client counts like a busy one: 100 slow
clients would leave every STOP waiting in the listen queue. A connection costs one file
descriptor and a few kilobytes, so a thousand are cheap; a reverse proxy in front
(deploy/nginx-webhooks.conf) is what stops a determined slow client."""
CHANNEL_TIMEOUT = 15
"""Seconds a connection may sit idle (nothing received, no request in progress) before it is
closed (default 120): Twilio's own limit for a whole webhook. A request being served is
never cut off."""
CLEANUP_INTERVAL = 5
"""How often, in seconds, idle connections are looked for (default 30): an idle connection
is closed at most CHANNEL_TIMEOUT + CLEANUP_INTERVAL seconds after its last byte."""
BACKLOG = 1024
"""Connections the kernel queues while waitress is busy accepting (the listen() backlog)."""
MAX_HEADER_BYTES = 32 * 1024
"""Twilio's headers are a few hundred bytes; larger ones are refused (431) unbuffered."""
FILES_KEPT = 64
"""File descriptors kept back from connections: the listener, the state's files, logs."""


def _server_options() -> dict[str, object]:
    """The waitress settings above, with the connection limit fitted to the file descriptors
    this process may open (raised to what the system allows first)."""
    from campaignctl.webhooks.app import MAX_BODY_BYTES

    limit = CONNECTION_LIMIT
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = CONNECTION_LIMIT + FILES_KEPT
        if soft != resource.RLIM_INFINITY and soft < wanted:
            raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            limit = min(CONNECTION_LIMIT, raised - FILES_KEPT)
    except (ImportError, ValueError, OSError):  # not on this system: waitress's own limits
        pass
    return {
        "ident": "campaignctl",
        "connection_limit": max(limit, 16),
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": CLEANUP_INTERVAL,
        "backlog": BACKLOG,
        # poll(), not select(): select cannot watch file descriptors above 1023
        "asyncore_use_poll": True,
        # a Twilio form is refused by waitress itself above this, before it is buffered
        "max_request_body_size": MAX_BODY_BYTES,
        "max_request_header_size": MAX_HEADER_BYTES,
    }


def _check_writable(state: StateLocation) -> None:
    """Create or migrate the state now, and refuse to listen when it cannot be written: every
    webhook would be answered 500 and Twilio's retries would all fail the same way."""
    from campaignctl.store import Store

    folder = state.path.resolve().parent if state.path is not None else None
    if folder is not None and folder.exists() and not os.access(folder, os.W_OK):
        raise CampaignctlError(
            f"{folder}: the state's folder is read-only; webhooks serve needs to write there "
            "(the state database and its -wal and -shm files)"
        )
    with Store.open(state) as store:
        if store.read_only:
            raise CampaignctlError(
                f"{state}: the state database is read-only; webhooks serve needs to write to it"
            )


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
