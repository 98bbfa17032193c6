"""`make screenshots`: the README's pictures of the dashboard, taken by headless Chromium.

A demonstration state is built as a real one is: campaigns in YAML, `credits add` and an
`apply` every day for two months (the outbox provider, a daily limit spreading the sends),
replies, opt-outs and delivery reports through the real webhook application. Then
`campaignctl dashboard` serves it and Chromium photographs the page (dashboard.png) and a
number's page (explain.png); where this installation has the forecast, forecast.png comes
from docs/forecast_picture.py (a state grown from the example campaigns.d/).

    PYTHONPATH=. .venv/bin/python docs/screenshots.py docs
"""

from __future__ import annotations

import random
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import forecast_picture  # docs/forecast_picture.py, beside this script
from tests.cli.repo import CAMPAIGN, Repo
from tests.dashboard.browser import find_browser
from tests.dashboard.test_serve import served
from tests.dashboard.world import HOOKS_TOKEN, NOON, PUBLIC, World, webhook

from campaignctl.clock import FrozenClock
from campaignctl.webhooks.app import WebhookApp

DAYS = 60
SEED = 11
AREAS = ("212", "312", "415", "512", "617", "713", "305", "206")


def numbers(count: int, rng: random.Random, taken: set[str]) -> list[str]:
    found: list[str] = []
    while len(found) < count:
        number = f"+1{rng.choice(AREAS)}{rng.randint(201, 989)}{rng.randint(1000, 9999)}"
        if number not in taken:
            taken.add(number)
            found.append(number)
    return found


def campaign(repo: Repo, name: str, group: str, phones: list[str], limit: int) -> None:
    repo.group(group, rows=[(phone, "Ana") for phone in phones])
    text = CAMPAIGN.format(name=name, template="buyer-followup", group=group, status="active",
                           sender=f"+1512555{rng_sender(name)}", mps=1)  # fmt: skip
    repo.write(f"campaigns/{name}.yaml", text + f"    dailyLimit: {limit}\n")


def rng_sender(name: str) -> str:
    return f"{sum(map(ord, name)) % 90 + 100:04d}"


def build(root: Path, state: str) -> tuple[World, list[str]]:
    rng = random.Random(SEED)
    taken: set[str] = set()
    repo = Repo(root)
    repo.template()
    spring, fall = numbers(1200, rng, taken), numbers(300, rng, taken)
    campaign(repo, "spring-buyers", "open-house", spring, 30)
    campaign(repo, "summer-sellers", "summer-list", fall, 12)
    world = World(repo, state)
    start = NOON - timedelta(days=DAYS)
    world.run("credits", "add", "1500", now=start - timedelta(hours=1))
    hooks = WebhookApp(state, HOOKS_TOKEN, PUBLIC, FrozenClock(start))
    try:
        for day in range(DAYS):
            now = start + timedelta(days=day)
            world.run("apply", now=now)
            if day == 40:
                world.run("credits", "add", "400", now=now)
            sent = _sent_on(state, now)
            for phone, sid in sent:
                status = "undelivered" if rng.random() < 0.04 else "delivered"
                assert (
                    webhook(hooks, "/twilio/status", {"MessageSid": sid, "MessageStatus": status})
                    == 200
                )
                roll = rng.random()
                if roll < 0.03 or (phone in fall and roll < 0.06):
                    body = "STOP"
                elif roll < 0.10:
                    body = rng.choice(["Who is this?", "Yes, still looking!", "Call me tomorrow"])
                else:
                    continue
                params = {"From": phone, "To": "+15125550100", "Body": body,
                          "MessageSid": "SM" + secrets.token_hex(16)}  # fmt: skip
                assert webhook(hooks, "/twilio/inbound", params) == 200
    finally:
        hooks.close()
    return world, spring


def _sent_on(state: str, now: object) -> list[tuple[str, str]]:
    from campaignctl.store import Store

    with Store.open(state, create=False) as store:
        day = str(now)[:10]
        return [(r.to, r.id) for r in store.outbox() if r.at.isoformat()[:10] == day]


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "docs").resolve()
    found = find_browser()
    if isinstance(found, str):
        print(f"no screenshots: {found}", file=sys.stderr)
        return 1
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        world, spring = build(root, str(root / "state.db"))
        driver = forecast_picture.chrome(found)
        try:
            with served(world, world.state, "--mask-numbers") as server:
                driver.get(server.url + "/")
                for _ in range(100):
                    if driver.find_elements(By.CSS_SELECTOR, "[data-wait]"):
                        break
                    driver.refresh()
                height = driver.execute_script("return document.body.scrollHeight")
                driver.set_window_size(1360, int(height))
                driver.save_screenshot(str(out / "dashboard.png"))
                driver.get(server.url + f"/explain?phone={spring[0].replace('+', '%2B')}")
                driver.set_window_size(1360, 900)
                driver.save_screenshot(str(out / "explain.png"))
        finally:
            driver.quit()
    print(f"screenshots written to {out}")
    # the credits and sends with the forecast ahead: forecast.png
    return forecast_picture.main(["forecast_picture.py", str(out)])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
