"""docs/forecast.png: the dashboard's credits and sends with the forecast ahead, of a state
grown from the example `campaigns.d/` as a real installation grows.

A copy of the example repository runs for eleven weeks: `spring-buyers` launches on the
example sign-in sheet, each weekend's open-house sign-ins are appended to its CSV (as its
group file says), the controller applies every day at 09:00 and 15:00 in Austin (outbox
provider), credits are bought twice. Then `campaignctl dashboard` serves that state and
headless Chromium photographs its first panels: the balance of each day with its burn-down
along the forecast, and the messages sent per day with the forecast of the next 90 days
(follow-ups 30 and 45 days after each first message).

    PYTHONPATH=. .venv/bin/python docs/forecast_picture.py docs
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from tests.cli.repo import Repo
from tests.dashboard.browser import find_browser
from tests.dashboard.test_serve import served
from tests.dashboard.world import LATER, World

from campaignctl.cli.main import cli

EXAMPLE = Path(__file__).resolve().parent.parent / "campaigns.d"
FIRST_DAY = datetime(2025, 12, 13, tzinfo=UTC)  # a Saturday: the first open house
TODAY = LATER  # what the dashboard looks from (as the dashboard's tests serve it)
SIGN_INS = (24, 41)  # sign-ins per weekend, at least and at most
SEED = 5
AREAS = ("512", "512", "512", "737", "737", "210", "214", "713", "415", "212", "312", "303")
CITIES = ("Austin", "Round Rock", "Cedar Park", "Pflugerville", "Georgetown", "Dripping Springs")
FIRST = ("Ana", "Ben", "Chloe", "Diego", "Erin", "Farah", "Gus", "Hana", "Ivan", "Jada", "Kofi",
         "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vik")  # fmt: skip
LAST = ("Garcia", "Kim", "Okafor", "Nguyen", "Smith", "Patel", "Rossi", "Cohen", "Silva", "Wu")


def run(config_dir: Path, state: Path, now: datetime, *args: str) -> None:
    """The CLI in this process (exit 0 asserted)."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    base = ["--dir", str(config_dir), "--state", str(state), "--now", stamp]
    result = CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def sign_ins(csv: Path, rng: random.Random, count: int, taken: set[str]) -> None:
    """Append one weekend's sign-ins to the group's CSV."""
    rows = []
    while len(rows) < count:
        number = f"({rng.choice(AREAS)}) {rng.randint(201, 989)}-{rng.randint(1000, 9999)}"
        if number in taken:
            continue
        taken.add(number)
        city = rng.choice(CITIES) if rng.random() > 0.03 else ""  # a city left blank
        rows.append(f"{rng.choice(FIRST)},{rng.choice(LAST)},{number},{city},\n")
    with csv.open("a", encoding="utf-8") as handle:
        handle.writelines(rows)


def build(root: Path) -> tuple[Path, Path]:
    """The example repository copied under `root`, run for WEEKS weeks; (its directory, its
    state)."""
    config_dir = root / "campaigns.d"
    shutil.copytree(EXAMPLE, config_dir)
    state = root / "state.db"
    csv = config_dir / "groups" / "contacts" / "spring-open-house.csv"
    rng = random.Random(SEED)
    taken: set[str] = set()
    run(config_dir, state, FIRST_DAY, "credits", "add", "400", "--note", "first credits")
    for day in range((TODAY - FIRST_DAY).days + 1):
        morning = FIRST_DAY + timedelta(days=day, hours=15)  # 09:00 in Austin (CST)
        if day % 7 == 1:  # Sunday: the weekend's sign-ins are in the CSV
            sign_ins(csv, rng, rng.randint(*SIGN_INS), taken)
        if day == 45:
            run(config_dir, state, morning, "credits", "add", "1000", "--note", "top-up")
        for at in (morning, morning + timedelta(hours=6)):
            if at < TODAY:
                run(config_dir, state, at, "apply")
    return config_dir, state


def chrome(found: tuple[str, str]) -> Any:
    """Headless Chromium through Selenium, at the size of the README's pictures."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = found[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1360,1000", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=found[1]), options=options)


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "docs").resolve()
    found = find_browser()
    if isinstance(found, str):
        print(f"no picture: {found}", file=sys.stderr)
        return 1
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _, state = build(root)
        driver = chrome(found)
        try:
            with served(World(Repo(root), str(state)), str(state), "--mask-numbers") as server:
                driver.get(server.url + "/")
                deadline = time.monotonic() + 120
                while "Forecast computed" not in driver.page_source:
                    assert time.monotonic() < deadline, "the forecast was never shown"
                    driver.refresh()
                panels = driver.find_element(By.CSS_SELECTOR, "main > .grid")
                panels.screenshot(str(out / "forecast.png"))
        finally:
            driver.quit()
    print(f"picture written to {out / 'forecast.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
