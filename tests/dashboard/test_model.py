"""The page's pure parts: the funnel and rates made from counts, the balance of each day,
masks, and the one chart function (its SVG read back as XML)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from campaignctl.dashboard import model
from campaignctl.dashboard.svg import Series, chart
from campaignctl.store.dashboard import CampaignRow, DashboardFacts

FIRST = date(2026, 1, 1)
STATUSES = st.sampled_from(["live", "done", "ended"])
REASONS = st.sampled_from([None, "replied", "opted_out", "dnc", "removed", "wrong_number"])
ATTEMPT = st.sampled_from(["sent", "failed", "pending", "unknown", "retry"])
DELIVERY = st.sampled_from([None, "delivered", "undelivered", "failed", "sent", "read"])

enrollment_counts = st.lists(
    st.tuples(st.just("c"), STATUSES, REASONS, st.integers(0, 3), st.integers(1, 50)),
    max_size=12,
)
attempt_counts = st.lists(
    st.tuples(
        st.just("c"), st.integers(1, 3), ATTEMPT, DELIVERY, st.integers(1, 50), st.integers(0, 200)
    ),
    max_size=12,
)


def facts(enrollments: list[tuple[str, str, str | None, int, int]],
          attempts: list[tuple[str, int, str, str | None, int, int]]) -> DashboardFacts:  # fmt: skip
    row = CampaignRow("c", "active", None, "t", "g", None, None)
    return DashboardFacts(1, 0, None, None, [row], enrollments, attempts, {}, {})


@given(enrollment_counts, attempt_counts, st.floats(0, 1))
def test_the_funnel_accounts_for_every_enrollment_and_attempt(
    enrollments: list[tuple[str, str, str | None, int, int]],
    attempts: list[tuple[str, int, str, str | None, int, int]],
    threshold: float,
) -> None:
    (view,) = model.campaign_views(facts(enrollments, attempts), FIRST, FIRST, threshold)
    assert view.enrolled == sum(e[-1] for e in enrollments)
    ended = sum(n for _, s, _, _, n in enrollments if s == "ended")
    assert ended == sum(s.replied + s.opted_out + sum(s.ended.values()) for s in view.steps)
    assert view.sent == sum(a[4] for a in attempts if a[2] == "sent")
    for step in view.steps:
        assert step.delivered <= step.sent
    for rate in (view.replies, view.optouts):
        assert rate.value is None or 0 <= rate.value <= 1
    assert view.optout_alert == ((view.optouts.value or 0) > threshold)
    if view.delivery is not None:
        assert view.delivery.value is None or 0 <= view.delivery.value <= 1


@given(
    st.integers(-1000, 1000),
    st.dictionaries(
        st.integers(0, 12).map(lambda n: FIRST + timedelta(days=n)), st.integers(-50, 50)
    ),
)
def test_the_balance_of_each_day_ends_at_the_balance_of_the_last(
    balance: int, ledger: dict[date, int]
) -> None:
    days = model.days_between(FIRST, FIRST + timedelta(days=9))
    history = model.balance_per_day(balance, ledger, days)
    assert [d for d, _ in history] == days
    later = sum(v for d, v in ledger.items() if d > days[-1])
    assert history[-1][1] == balance - later
    for (_, before), (day, after) in itertools.pairwise(history):
        assert after - before == ledger.get(day, 0)


def test_the_burn_down_stops_at_zero() -> None:
    per_day = [(FIRST + timedelta(days=n), 5, 30) for n in range(4)]
    assert [b for _, b in model.burn_down(100, per_day)] == [70, 40, 10, 0]


def test_a_masked_number_keeps_its_country_and_last_four_digits() -> None:
    assert model.mask_phone("+14155550100") == "+1••••••0100"
    assert model.mask_phone("+447") == "••••"


@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 10_000)), max_size=40),
       st.lists(st.tuples(st.integers(0, 120), st.integers(-5, 500)), max_size=40))  # fmt: skip
def test_a_chart_is_svg_with_one_mark_per_value_inside_its_box(
    bars: list[tuple[int, int]], line: list[tuple[int, int]]
) -> None:
    bar_points = [(FIRST + timedelta(days=d), float(v)) for d, v in dict(bars).items()]
    line_points = [(FIRST + timedelta(days=d), float(v)) for d, v in dict(line).items()]
    svg = chart([Series("sent <a>", bar_points), Series("balance", line_points, "line")],
                title="t & <b>", today=FIRST + timedelta(days=3))  # fmt: skip
    root = ET.fromstring(str(svg))
    ns = "{http://www.w3.org/2000/svg}"
    if not bar_points and not line_points:
        assert root.get("class") == "chart empty"
        return
    width, height = (float(v) for v in root.get("viewBox", "").split()[2:])
    rects = root.findall(f"{ns}rect")
    assert len(rects) == sum(1 for _, v in bar_points if v > 0)
    assert len(root.findall(f"{ns}circle")) == len(line_points)
    for rect in rects:
        x, y = float(rect.get("x", "")), float(rect.get("y", ""))
        assert 0 <= x <= width and 0 <= y <= height
        assert rect.get("data-series") == "sent <a>"
        value = float(rect.get("data-value", ""))
        assert (rect.get("data-day"), value) in [(d.isoformat(), v) for d, v in bar_points]
