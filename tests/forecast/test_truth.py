"""The forecast against what really happens: a state built by real applies, a forecast of 62
days through the real CLI, then `apply --now` at every tick the controller would make over
the same days, with nothing new; the messages and credits of each day and campaign, and the
day the credits run out, must be the ones forecast.

The controller ticks every `reconcileInterval`. A 15-minute interval makes 5,952 applies in
62 days, too many for a test; the repository here ticks every 8 hours (`reconcileInterval:
8h`) instead, which keeps the comparison exact (the real side applies at every tick of that
grid, none skipped) in 186 applies. The rates are chosen so that every rule still decides
something on that grid: ticks at 14:00, 22:00 and 06:00 UTC fall inside and outside the
windows of New York, Los Angeles, Honolulu and Phoenix, and of the stricter state windows of
Florida, Texas (noon on Sundays) and Rhode Island (no Sundays, Saturdays 10:00-17:00, so no
tick on a Saturday), across the change to summer time; the west campaign may hand over 2
messages a tick (messagesPerSecond 0.0001 x 8 h), the east one 3 a UTC day (dailyLimit);
a number moved from east to west waits for the 30 days since its last message; step 2 costs
one or two segments by the length of the name; the balance runs out mid-way, and no credits
are added, so the forecast must name that day.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from campaignctl.cli.main import cli
from campaignctl.core.instants import format_instant
from tests.cli.repo import SETTINGS, Repo

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday; summer time begins on the 8th
SETUP = START - timedelta(days=10)
DAYS = 62
TICK = timedelta(hours=8)

TEMPLATE = """\
apiVersion: campaignctl/v1
kind: Template
metadata:
  name: three-steps
spec:
  status: published
  steps:
    - body: "Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out."
    - waitDays: 30
      body: "Hi {{ first_name }}, a long note on the spring market: prices held, more homes are listed every week, and the open houses on Saturday are well worth a visit this month."
    - waitDays: 31
      body: "Last note from Sam, {{ first_name }}: reply any time."
"""

EAST = [
    ("+12125550109", "Moved"),  # its first message at the launch; then it moves to west
    ("+12125550101", "Ana"),  # New York
    ("+12125550102", "Bartholomew"),
    ("+13055550103", "Cy"),  # Miami, Florida: 08:00-20:00
    ("+14015550104", "Dorotheaanne"),  # Rhode Island: weekdays, Saturday 10-17
    ("+15125550105", "Eve"),  # Austin, Texas: 09:00-21:00, Sunday from noon
    ("+14015550106", "Fu"),
]
WEST = [
    ("+12135550111", "Gus"),  # Los Angeles
    ("+18085550112", "Hermenegildo"),  # Honolulu
    ("+16025550113", "Ida"),  # Phoenix: no summer time
    ("+13105550114", "Jo"),
]


def cli_run(repo: Repo, state: str, *args: str, now: datetime) -> Any:
    result = CliRunner().invoke(
        cli,
        ["--dir", str(repo.dir), "--state", state, "--now", format_instant(now), *args],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "json" in args else result.output


def write_repo(root: Path) -> Repo:
    repo = Repo(root)
    repo.write("templates/three-steps.yaml", TEMPLATE)
    repo.write("settings.yaml", SETTINGS + "  reconcileInterval: 8h\n")
    for name, rows, sender, mps in (
        ("east", EAST, "+15125550147", 1.0),
        ("west", WEST, "+15125550148", 0.0001),
    ):
        repo.campaign(name, template="three-steps", group=name, sender=sender, mps=mps)
        repo.group(name, rows)
    east = repo.dir / "campaigns" / "east.yaml"
    east.write_text(east.read_text(encoding="utf-8") + "    dailyLimit: 3\n", encoding="utf-8")
    return repo


def real_days(
    repo: Repo, state: str, expired: list[str] | None = None
) -> tuple[Counter[tuple[str, str]], dict[str, int], str | None]:
    """Apply at every tick of the grid over the forecast's days; what went out per day and
    campaign (messages, credits), and the first day a due message found the balance short.
    `expired`: gets the numbers whose step expired (sendWithin)."""
    messages: Counter[tuple[str, str]] = Counter()
    credits: dict[str, int] = {}
    short: str | None = None
    expired = [] if expired is None else expired
    at = START
    end = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(days=DAYS)
    while at < end:
        document = cli_run(repo, state, "apply", "--format", "json", now=at)
        day = at.date().isoformat()
        for action in document["actions"]:
            if action["type"] == "send":
                messages[(day, action["campaign"])] += 1
                key = f"{day} {action['campaign']}"
                credits[key] = credits.get(key, 0) + action["credits"]
            elif action.get("reason") == "expired":
                expired.append(action["phone"])
            elif short is None and action.get("reason") == "insufficient_credits":
                short = day
        at += TICK
    return messages, credits, short


def test_the_forecast_is_what_the_applies_do(tmp_path: Path, state: str) -> None:
    repo = write_repo(tmp_path)
    cli_run(repo, state, "credits", "add", "26", now=SETUP)
    cli_run(repo, state, "apply", now=SETUP)  # the launch: the first messages of both
    cli_run(repo, state, "apply", now=SETUP + TICK)
    repo.group("east", EAST[1:])  # the moved number joins west: 30 days after its last
    repo.group("west", [*WEST, EAST[0]])  # message, not before

    forecast = cli_run(repo, state, "forecast", "--days", str(DAYS), "--format", "json", now=START)
    messages, credits, short = real_days(repo, state)

    forecast_messages = Counter(
        {(r["day"], r["campaign"]): r["messages"] for r in forecast["rows"]}
    )
    forecast_credits = {f"{r['day']} {r['campaign']}": r["credits"] for r in forecast["rows"]}
    assert forecast_messages == messages
    assert forecast_credits == credits
    assert forecast["runs_out"] == short
    # the scenario really has what it is there for
    assert short is not None and date(2026, 3, 25) < date.fromisoformat(short) < date(2026, 4, 25)
    assert sum(messages.values()) > 10
    assert len({day for day, _ in messages}) > 5
    assert len(forecast["per_day"]) == DAYS


def test_a_step_that_expires_is_forecast_as_passed_over(tmp_path: Path) -> None:
    """With `sendWithin: 1h` on the second step, and east's limit lowered to one message a
    day after its launch, the second messages that fall due together wait past their hour:
    each is passed over, and its third step waits 31 days from the expiry. The forecast
    counts the messages that really go out, on the days they go out."""
    repo = write_repo(tmp_path)
    template = repo.dir / "templates" / "three-steps.yaml"
    text = template.read_text(encoding="utf-8")
    template.write_text(
        text.replace("    - waitDays: 30\n", "    - waitDays: 30\n      sendWithin: 1h\n"),
        encoding="utf-8",
    )
    state = str(tmp_path / "state.db")
    cli_run(repo, state, "credits", "add", "200", now=SETUP)
    cli_run(repo, state, "apply", now=SETUP)
    cli_run(repo, state, "apply", now=SETUP + TICK)
    east = repo.dir / "campaigns" / "east.yaml"
    east.write_text(east.read_text(encoding="utf-8").replace("dailyLimit: 3", "dailyLimit: 1"))

    forecast = cli_run(repo, state, "forecast", "--days", str(DAYS), "--format", "json", now=START)
    expired: list[str] = []
    messages, credits, _ = real_days(repo, state, expired)

    assert Counter({(r["day"], r["campaign"]): r["messages"] for r in forecast["rows"]}) == messages
    assert {f"{r['day']} {r['campaign']}": r["credits"] for r in forecast["rows"]} == credits
    assert expired  # the scenario really passes steps over
