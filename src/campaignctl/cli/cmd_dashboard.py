"""`campaignctl dashboard`: the read-only status page, served by waitress."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

import click

from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.main import cli
from campaignctl.errors import CampaignctlError


class Percent(click.ParamType[float, Any]):
    """A share written `2%`, `2.5%` or `0.02`."""

    name = "percent"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"{text!r} is not a share such as 2% or 0.02", param, ctx)
        if not 0 <= share <= 1:
            self.fail(f"{text!r} is not between 0% and 100%", param, ctx)
        return share


@cli.command()
@global_options(formats=("text",))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any address but the loopback needs --token.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=8090, show_default=True,
              help="Port to listen on (0 picks a free one and prints it).")  # fmt: skip
@click.option("--token", envvar="CAMPAIGNCTL_DASHBOARD_TOKEN", metavar="TOKEN",
              help="Ask every visitor for this token (at least 16 characters; env "
              "CAMPAIGNCTL_DASHBOARD_TOKEN): a login form sets a cookie; scripts send "
              "`Authorization: Bearer TOKEN`.")  # fmt: skip
@click.option("--mask-numbers", is_flag=True,
              help="Show phone numbers with all but their last four digits hidden.")  # fmt: skip
@click.option("--optout-threshold", type=Percent(), default="2%", show_default=True,
              metavar="PERCENT", envvar="CAMPAIGNCTL_DASHBOARD_OPTOUT_THRESHOLD",
              help="Highlight a campaign whose opt-out rate passes this share.")  # fmt: skip
@click.option("--refresh", type=click.IntRange(5, 3600), default=60, show_default=True,
              metavar="SECONDS", help="How often the page reloads itself.")  # fmt: skip
@click.option("--threads", type=click.IntRange(1, 32), default=4, show_default=True)
@pass_app
def dashboard(
    app: AppContext,
    host: str,
    port: int,
    token: str | None,
    mask_numbers: bool,
    optout_threshold: float,
    refresh: int,
    threads: int,
) -> None:
    """Serve a read-only status page of every campaign until SIGTERM or Ctrl-C.

    For each campaign: its observed status and reason; the funnel by step (enrolled,
    sent, delivered, failed, replied, opted out, ended by reason); delivery, reply and
    opt-out rates (the opt-out rate highlighted past --optout-threshold); messages sent
    per day over the last 90 days, and the forecast of the next 90; what waits now, by
    reason. Also the credit balance and its burn-down, the latest replies, and a search box
    that explains a number as `campaignctl explain` does. The page reloads itself.

    The state is opened read-only: the page never changes it, and a read-only PostgreSQL
    role is enough. It listens on 127.0.0.1 unless told otherwise; any other address
    needs a token.

    \b
    Examples:
      campaignctl dashboard                       # http://127.0.0.1:8090
      campaignctl dashboard --mask-numbers --optout-threshold 1.5%
      CAMPAIGNCTL_DASHBOARD_TOKEN=$(openssl rand -hex 16) \\
        campaignctl dashboard --host 0.0.0.0 --port 8090
    """
    import waitress.server

    from campaignctl.dashboard.app import DashboardApp
    from campaignctl.dashboard.auth import check_binding
    from campaignctl.dashboard.pages import Options

    token = token or None
    check_binding(host, token)
    clock = app.clock
    wsgi = DashboardApp(
        app.state_path,
        app.config_dir,
        clock.now,
        token=token,
        options=Options(mask_numbers, optout_threshold, refresh),
    )
    try:
        server = waitress.server.create_server(
            wsgi, host=host, port=port, threads=threads, ident="campaignctl"
        )
    except OSError as exc:
        raise CampaignctlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)  # waitress closes its sockets

    signal.signal(signal.SIGTERM, stop)
    guarded = "a token" if token else "no token (this machine only)"
    click.echo(
        f"campaignctl dashboard: listening on http://{server.effective_host}:"
        f"{server.effective_port} ({guarded}); state {app.state_path}",
        err=True,
    )
    try:
        server.run()
    finally:
        wsgi.close()
    click.echo("campaignctl dashboard: stopped", err=True)
