"""Headless Chromium for the dashboard's browser tests, driven by Selenium through the
system's chromedriver (Debian: `apt-get install chromium chromium-driver`; `make test`
installs them where it runs as root). Nothing is downloaded: the driver and the browser are
given by path, so Selenium Manager is never asked for one."""

from __future__ import annotations

import shutil
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
DRIVERS = ("chromedriver",)
DRIVER_PLACES = (Path("/usr/lib/chromium/chromedriver"), Path("/usr/bin/chromedriver"))


def find_browser() -> tuple[str, str] | str:
    """(browser, driver) paths, or the reason the browser tests cannot run here."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver = next((found for name in DRIVERS if (found := shutil.which(name))), None)
    if driver is None:
        driver = next((str(p) for p in DRIVER_PLACES if p.exists()), None)
    if browser is None or driver is None:
        missing = " and ".join(
            what for what, found in (("chromium", browser), ("chromedriver", driver)) if not found
        )
        return (
            f"no {missing} on this machine: `apt-get install chromium chromium-driver` "
            "(`make test` installs them when run as root)"
        )
    return browser, driver
