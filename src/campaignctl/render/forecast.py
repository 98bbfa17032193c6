"""The forecast for people (a table of the days with sends, then one summary line and what it
assumes), for scripts (JSON with every day of the horizon) and for spreadsheets (CSV, one
row per day and campaign)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from campaignctl.app.forecast import Forecast

HEADERS = ("day", "campaign", "messages", "credits")


def runs_out_text(result: Forecast) -> str:
    """`credits last until 2026-05-04`, or beyond the horizon: the line `plan` shows too."""
    if result.runs_out is None:
        return f"credits last beyond the {result.days} days forecast"
    return f"credits last until {result.runs_out.isoformat()}"


def _last_day(result: Forecast) -> date:
    return result.start + timedelta(days=result.days - 1)


def summary_line(result: Forecast) -> str:
    """The one line that sums the forecast up."""
    return (
        f"{result.messages:,} messages, {result.credits:,} credits from {result.start} to "
        f"{_last_day(result)}; balance {result.balance:,}: {runs_out_text(result)}."
    )


def render_forecast_text(result: Forecast) -> str:
    lines = [f"Forecast for {result.days} days from {result.start} (UTC days)", ""]
    if result.rows:
        cells = [
            (row.day.isoformat(), row.campaign, f"{row.messages:,}", f"{row.credits:,}")
            for row in result.rows
        ]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]
        numeric = (False, False, True, True)

        def line(values: tuple[str, ...]) -> str:
            parts = [
                v.rjust(w) if right else v.ljust(w)
                for v, w, right in zip(values, widths, numeric, strict=True)
            ]
            return "  " + "  ".join(parts).rstrip()

        lines += [line(HEADERS), *(line(c) for c in cells)]
    else:
        lines.append("  nothing is expected to go out")
    lines += ["", f"Summary: {summary_line(result)}", result.assumptions]
    return "\n".join(lines)


def forecast_json(result: Forecast) -> str:
    document = {
        "start": result.start.isoformat(),
        "days": result.days,
        "balance": result.balance,
        "messages": result.messages,
        "credits": result.credits,
        "runs_out": result.runs_out.isoformat() if result.runs_out else None,
        "assumptions": result.assumptions,
        "rows": [
            {
                "day": row.day.isoformat(),
                "campaign": row.campaign,
                "messages": row.messages,
                "credits": row.credits,
            }
            for row in result.rows
        ],
        "per_day": [
            {"day": day.isoformat(), "messages": messages, "credits": credits}
            for day, messages, credits in result.per_day()
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def forecast_csv(result: Forecast) -> str:
    """One row per day and campaign with something to send, under a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    for row in result.rows:
        writer.writerow((row.day.isoformat(), row.campaign, row.messages, row.credits))
    return out.getvalue()
