"""`campaignctl forecast`: the messages and credits expected day by day, and the day the
balance runs out."""

from __future__ import annotations

import click

from campaignctl.app.forecast import DAYS, forecast
from campaignctl.cli.common import AppContext, global_options, pass_app
from campaignctl.cli.held import report_held
from campaignctl.cli.main import cli
from campaignctl.render.forecast import forecast_csv, forecast_json, render_forecast_text
from campaignctl.store import Store


@cli.command("forecast")
@click.option(
    "--days",
    type=click.IntRange(min=1, max=3660),
    default=DAYS,
    show_default=True,
    help="How many UTC days to forecast, the day of --now (or today) first.",
)
@global_options(formats=("text", "json", "csv"))
@pass_app
def forecast_command(app: AppContext, days: int) -> None:
    """Forecast the messages and credits each campaign sends, per day, and the day the
    credit balance runs out.

    Runs the planner forward from the state as it is now, over the ticks the controller
    would make, with every sending rule (quiet hours and state windows, the 30-day gap,
    waits between steps, pace and daily limits, credits with their pauses). It assumes
    nothing new happens: no contact is added, no one replies or opts out, no credits are
    added, the files stay as they are. It writes nothing to the state.

    \b
    Examples:
      campaignctl forecast
      campaignctl forecast --days 30 --now 2026-03-02T15:00:00Z
      campaignctl forecast --format csv > forecast.csv
      campaignctl forecast --format json | jq .runs_out
    """
    now = app.clock.now()
    with Store.open_for_reading(app.state_path) as store:
        result = forecast(app.config_dir, store, now, days)
    if app.format == "json":
        click.echo(forecast_json(result))
    elif app.format == "csv":
        click.echo(forecast_csv(result), nl=False)
    else:
        click.echo(render_forecast_text(result))
    if report_held(result.held, "forecast"):
        raise SystemExit(1)
