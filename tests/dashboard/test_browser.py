"""The dashboard in a real browser (headless Chromium, driven by Selenium), served by a real
`campaignctl dashboard` process with a token, on a state built by real applies (SQLite and
PostgreSQL): the token wall and its login form, the numbers shown against `status --format
json`, the number search against `explain --format json`. Screenshots of each page are
saved under the test's temporary folder."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.browser import find_browser
from tests.dashboard.test_serve import served
from tests.dashboard.world import SPRING, World

WAIT_SECONDS = 60

found = find_browser()
pytestmark = pytest.mark.skipif(isinstance(found, str), reason=str(found))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    assert not isinstance(found, str)
    binary, driver_path = found
    options = Options()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1400,1800",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def until(check: Callable[[], Any], what: str, refresh: Callable[[], None] | None = None) -> Any:
    """Wait (at most WAIT_SECONDS) for check() to return something true."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if refresh is not None:
            refresh()
        time.sleep(0.2)


def screenshot(driver: Any, path: Path) -> None:
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, max(int(height), 900))
    assert driver.save_screenshot(str(path)), path
    assert path.stat().st_size > 2_000


def test_the_dashboard_in_a_browser(world: World, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    token = secrets.token_hex(16)
    status = world.status()
    explained = world.json("explain", SPRING[2])
    with served(world, world.state, "--host", "127.0.0.1",
                env={"CAMPAIGNCTL_DASHBOARD_TOKEN": token}) as server:  # fmt: skip
        # the token wall: a login form, which refuses a wrong token
        browser.get(server.url + "/")
        field = browser.find_element(By.NAME, "token")
        screenshot(browser, tmp_path / "login.png")
        field.send_keys("not-the-token", Keys.ENTER)
        until(lambda: browser.find_elements(By.ID, "login-problem"), "the refusal")
        assert browser.find_element(By.ID, "login-problem").text == "wrong token"
        assert not browser.find_elements(By.CSS_SELECTOR, "[data-campaign]")
        field = browser.find_element(By.NAME, "token")
        field.send_keys(token, Keys.ENTER)

        def waits_shown() -> Any:
            return browser.find_elements(By.CSS_SELECTOR, "[data-wait='not due yet']")

        until(waits_shown, "the page with what waits now", refresh=browser.refresh)

        def shown(campaign: str, name: str) -> str:
            selector = f"[data-campaign='{campaign}'] .rates [data-field='{name}']"
            return str(browser.find_element(By.CSS_SELECTOR, selector).text)

        balance = browser.find_element(By.CSS_SELECTOR, "#credits [data-field='balance']").text
        assert balance == str(status[""]["balance"])
        for name in ("spring-buyers", "summer-sellers"):
            counts = status[name]["enrollments"]
            assert shown(name, "enrolled") == str(counts["total"])
            assert shown(name, "live") == str(counts["live"])
            assert shown(name, "sent") == str(status[name]["sent"])
            assert shown(name, "credits") == str(status[name]["credits"])
            rows = browser.find_elements(By.CSS_SELECTOR, f"[data-campaign='{name}'] .ended tr")
            ended = {r.get_attribute("data-reason"): int(r.find_element(By.CSS_SELECTOR, "td + td").text)
                     for r in rows if r.get_attribute("data-reason")}  # fmt: skip
            assert ended == counts["ended"]
        alert = browser.find_element(
            By.CSS_SELECTOR, "[data-campaign='spring-buyers'] [data-alert]"
        )
        assert alert.get_attribute("data-alert") == "yes"
        screenshot(browser, tmp_path / "dashboard.png")

        # the number search: what explain says of the number
        search = browser.find_element(By.NAME, "phone")
        search.send_keys("(212) 555-0102", Keys.ENTER)
        until(lambda: browser.find_elements(By.ID, "explain"), "the explain page")
        history = browser.find_elements(By.CSS_SELECTOR, "#history tr[data-kind]")
        assert [row.get_attribute("data-kind") for row in history] == [
            event["kind"] for event in explained["history"]
        ]
        assert [row.find_element(By.CSS_SELECTOR, "td").text for row in history] == [
            event["at"] for event in explained["history"]
        ]
        now = browser.find_elements(By.CSS_SELECTOR, "#now li[data-campaign]")
        assert [item.text.split(": ", 1)[1] for item in now] == [
            w["text"] for w in explained["now"]
        ]
        screenshot(browser, tmp_path / "explain.png")

        # a browser without the cookie meets the wall again
        browser.delete_all_cookies()
        browser.get(server.url + "/")
        assert browser.find_elements(By.NAME, "token")
        assert not browser.find_elements(By.CSS_SELECTOR, "[data-campaign]")
