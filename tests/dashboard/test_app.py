"""The status page as a WSGI application, called in process on a state built by real
applies and webhooks (SQLite and PostgreSQL): what it shows agrees with `status` and
`explain`, it never writes, the token wall holds, numbers can be masked."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from urllib.parse import urlencode

import psycopg
import pytest

from campaignctl.dashboard.app import DashboardApp
from campaignctl.store.location import parse_state
from tests.dashboard.page import call, fields
from tests.dashboard.world import DNC, SPRING, SUMMER, World

MakeApp = Callable[..., DashboardApp]
TOKEN = "t0ken-" + "x" * 20


def contents(state: str) -> list[object]:
    """Every row of every table: what a write could change."""
    location = parse_state(state)
    if location.url is not None:
        with psycopg.connect(location.url) as conn:
            names = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]  # fmt: skip
            return [(n, conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall()) for n in names]
    import sqlite3

    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]  # fmt: skip
        return [(n, conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall()) for n in names]
    finally:
        conn.close()


def test_the_page_shows_what_status_says(world: World, make_app: MakeApp) -> None:
    page = call(make_app(), "/")
    assert page.status == 200
    shown = fields(page.body)
    status = world.status()
    assert shown[("", "", "balance")] == str(status[""]["balance"])
    for name in ("spring-buyers", "summer-sellers"):
        campaign = status[name]
        counts = campaign["enrollments"]
        assert shown[(name, "", "status")] == campaign["status"]
        assert shown[(name, "", "enrolled")] == str(counts["total"])
        assert shown[(name, "", "live")] == str(counts["live"])
        assert shown[(name, "", "done")] == str(counts["done"])
        for key in ("sent", "in_flight", "credits"):
            assert shown[(name, "", key)] == str(campaign[key]), key
        ended = {row: int(v) for (c, row, f), v in shown.items() if c == name and f == "ended"
                 and not row.isdigit() and row != "enrolled"}  # fmt: skip
        assert ended == counts["ended"]


def test_the_funnel_rates_and_waits_of_a_campaign(world: World, make_app: MakeApp) -> None:
    shown = fields(call(make_app(), "/").body)

    def step(row: str, name: str) -> str:
        return shown[("spring-buyers", row, name)]

    # step 1: 9 sent (the 10th number is on the do-not-call list: never enrolled), 4
    # delivered, 1 undelivered; then a STOP and a reply
    assert [step("1", f) for f in ("sent", "delivered", "failed", "replied", "opted_out")] == [
        "9", "4", "1", "1", "1",
    ]  # fmt: skip
    assert step("1", "ended") == "-"
    assert ("spring-buyers", "0", "ended") not in shown
    # a STOP and a reply of 9 messaged; 4 of 9 messages reported delivered
    assert shown[("spring-buyers", "", "optout_rate")] == "11.1%"
    assert shown[("spring-buyers", "", "reply_rate")] == "11.1%"
    assert shown[("spring-buyers", "", "delivery_rate")] == "44.4%"
    assert shown[("summer-sellers", "", "delivery_rate")] == "-"  # no delivery reported
    # every live enrollment waits for its next step's 30 days
    assert shown[("spring-buyers", "not due yet", "count")] == "7"
    assert shown[("summer-sellers", "not due yet", "count")] == "1"


def test_the_optout_rate_is_highlighted_past_the_threshold(make_app: MakeApp) -> None:
    alert = re.compile(r'data-campaign="spring-buyers".*?data-alert="(\w+)"', re.S)
    found = alert.search(call(make_app(), "/").body)
    assert found is not None and found.group(1) == "yes"  # 11.1% > 2%
    found = alert.search(call(make_app(optout_threshold=0.2), "/").body)
    assert found is not None and found.group(1) == "no"


def test_the_sends_of_each_day_are_drawn(make_app: MakeApp) -> None:
    body = call(make_app(), "/").body
    bars = re.findall(r'data-series="sent" data-day="([\d-]+)" data-value="(\d+)"', body)
    # the whole page's chart (10 sent on March 2), then each campaign's
    assert ("2026-03-02", "10") in bars
    assert ("2026-03-02", "9") in bars and ("2026-03-02", "1") in bars
    balance = re.findall(r'data-series="balance" data-day="([\d-]+)" data-value="(\d+)"', body)
    assert ("2026-03-01", "50") in balance and ("2026-03-02", "40") in balance


def test_the_replies_and_the_forecast_are_shown(make_app: MakeApp) -> None:
    app = make_app()
    body = call(app, "/").body
    assert "Sounds good, thanks" in body and "STOP" in body  # the latest replies
    assert "Replies: not available" not in body and "Forecast: not available" not in body


def test_the_page_never_writes_to_the_state(world: World, make_app: MakeApp) -> None:
    before = contents(world.state)
    app = make_app()
    for path, method, query in [("/", "GET", ""), ("/explain", "GET", "phone=2125550102"),
                                ("/", "POST", ""), ("/explain", "DELETE", ""),
                                ("/login", "POST", "")]:  # fmt: skip
        call(app, path, method=method, query=query)
    assert app.store().read_only
    assert contents(world.state) == before


def test_the_number_search_shows_what_explain_says(world: World, make_app: MakeApp) -> None:
    explained = world.json("explain", SPRING[0])
    page = call(make_app(), "/explain", query=urlencode({"phone": "(212) 555-0100"}))
    assert page.status == 200
    rows = re.findall(r'<tr data-kind="(\w+)"><td>([^<]+)</td>', page.body)
    assert rows == [(ev["kind"], ev["at"]) for ev in explained["history"]]
    assert "OPTED OUT since" in page.body
    unknown = call(make_app(), "/explain", query="phone=%2B12125550199")
    assert unknown.status == 404
    assert "+12125550199: unknown number (the state has no record of it)" in unknown.body
    invalid = call(make_app(), "/explain", query="phone=12")
    assert invalid.status == 400 and "&#39;12&#39;:" in invalid.body


def test_numbers_can_be_masked(make_app: MakeApp) -> None:
    app = make_app(mask_numbers=True)
    pages = [call(app, "/").body, call(app, "/explain", query="phone=%2B12125550102").body]
    for body in pages:
        for number in {*SPRING, *SUMMER, DNC}:
            assert number not in body and number[2:] not in body
    assert "+1••••••0102" in pages[1]


def test_without_the_token_only_the_login_form_and_health_answer(make_app: MakeApp) -> None:
    app = make_app(token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": "campaignctl_dashboard=x"},
                    {"Authorization": f"Basic {TOKEN}"}):  # fmt: skip
        answer = call(app, "/", headers=headers)
        assert answer.status == 401 and 'name="token"' in answer.body
        assert "spring-buyers" not in answer.body
        refused = call(app, "/explain", query="phone=%2B12125550102", headers=headers)
        assert refused.status == 401 and "+12125550102" not in refused.body
    assert call(app, "/healthz").status == 200
    assert call(app, "/", headers={"Authorization": f"Bearer {TOKEN}"}).status == 200


def test_the_login_form_sets_a_cookie_that_admits(make_app: MakeApp) -> None:
    app = make_app(token=TOKEN)
    wrong = call(app, "/login", method="POST", form=urlencode({"token": "nope", "next": "/"}))
    assert wrong.status == 401 and "wrong token" in wrong.body and not wrong.cookies
    given = call(app, "/login", method="POST",
                 form=urlencode({"token": TOKEN, "next": "/explain?phone=2125550102"}))  # fmt: skip
    assert given.status == 303 and given.headers["Location"] == "/explain?phone=2125550102"
    (cookie,) = given.cookies
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    session = cookie.split(";")[0]
    assert call(app, "/", headers={"Cookie": session}).status == 200
    elsewhere = call(app, "/login", method="POST",
                     form=urlencode({"token": TOKEN, "next": "https://evil.example.com/"}))  # fmt: skip
    assert elsewhere.headers["Location"] == "/"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "dashboard.example.com"])
def test_serving_beyond_this_machine_needs_a_token(world: World, host: str) -> None:
    from click.testing import CliRunner

    from campaignctl.cli.main import cli

    base = ["--dir", str(world.repo.dir), "--state", world.state]
    refused = CliRunner().invoke(cli, [*base, "dashboard", "--host", host])
    assert refused.exit_code == 1
    assert refused.output == (
        f"error: --host {host} serves the dashboard beyond this machine: give a token "
        "(--token or CAMPAIGNCTL_DASHBOARD_TOKEN), or bind 127.0.0.1\n"
    )
    short = CliRunner().invoke(cli, [*base, "dashboard", "--host", host, "--token", "abc"])
    assert short.exit_code == 1
    assert short.output.startswith("error: the dashboard token is 3 characters; use at least 16")


def test_a_page_never_waits_behind_a_slow_panel_reading_the_state(make_app: MakeApp) -> None:
    app = make_app()
    assert call(app, "/").status == 200  # the state opened, the panels started
    answered: list[int] = []
    with app.pages._open()._read():  # a panel in the middle of a long read (a forecast)
        page = threading.Thread(target=lambda: answered.append(call(app, "/").status))
        page.start()
        page.join(timeout=60)
        assert answered == [200]  # answered while the panel's read went on
    page.join()
