"""`campaignctl reconcile`: the controller."""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class Duration(click.ParamType):  # type: ignore[type-arg]
    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = _DURATION.match(str(value))
        if not match or float(match.group(1)) <= 0:
            self.fail(f"{value!r} is not a duration such as 2s, 15m or 1h", param, ctx)
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@cli.command()
@click.option(
    "--once",
    is_flag=True,
    help="Run one tick and exit: 0 done, 1 if it failed, 3 if sending stopped early.",
)
@click.option(
    "--interval",
    type=Duration(),
    help="Time between ticks (default: Settings reconcileInterval, 15m).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text or as JSON lines.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus metrics on PORT (path /metrics).",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address the metrics endpoint listens on (0.0.0.0 in a container).",
)
@click.option("--no-watch", is_flag=True, help="Do not tick on file changes, only on the interval.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Apply even when the configuration has no campaigns but the state has live ones.",
)
@click.option(
    "--lease-ttl",
    type=Duration(),
    default="60s",
    show_default=True,
    help="How long the lease outlives a leader that stopped renewing it (killed, cut off).",
)
@global_options()
@pass_app
def reconcile(
    app: AppContext,
    once: bool,
    interval: timedelta | None,
    log_format: str,
    metrics_port: int | None,
    metrics_host: str,
    no_watch: bool,
    allow_empty: bool,
    lease_ttl: timedelta,
) -> None:
    """Run the controller: plan and apply every interval and soon after any file change.

    Each tick reloads the files under --dir as they are now, settles sends whose outcome was
    unknown, plans, applies under the state's lease and logs one line. A tick that fails (bad
    YAML, provider down) is logged and retried with backoff; the loop never exits on its own.
    SIGTERM or SIGINT finishes the send in flight, frees the lease and exits 0.

    Any number of controllers may run on one state: the one that holds the lease leads and
    keeps it across ticks, renewing it; the others stand by, try to take it every second and
    take over once it expires (at once when its holder was a process of this host that is
    gone). A leader that cannot renew stops sending a third of --lease-ttl before its lease
    runs out. While a controller leads, `apply` waits --wait for the lease and then gives
    up, naming the leader: the controllers apply the same files themselves, stop them to
    apply by hand.
    With --once the lease is taken for the one tick (or the tick stands by) and freed.

    The leader also forwards each reply to the Settings' replies.forwardUrl, signed with
    CAMPAIGNCTL_FORWARD_SECRET from the environment, retrying until it is accepted (with
    --once, what is due after the tick, for up to 30 s).

    \b
    Examples:
      campaignctl reconcile
      campaignctl reconcile --interval 2s --log-format json --metrics-port 9108
      campaignctl reconcile --once
    """
    from campaignctl.controller.loop import Controller, ControllerOptions, setup_logging
    from campaignctl.providers.select import provider_from_env, settings_from_env

    settings_from_env(os.environ)  # a half-set account or a bad URL: refuse before starting
    setup_logging(log_format)
    options = ControllerOptions(
        config_dir=app.config_dir,
        state_path=app.state_path,
        interval=interval,
        once=once,
        watch=not no_watch,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        allow_empty=allow_empty,
        lease_ttl=lease_ttl.total_seconds(),
    )
    controller = Controller(
        options, app.clock, lambda store: provider_from_env(store, os.environ, app.clock)
    )
    sys.exit(controller.run())
