"""Prometheus metrics of the controller, served on --metrics-port.

A message that waits (credits, the pace...) is planned again, and deferred again, at every
tick until it goes (one waiting for its window or the 30-day gap is not read again before
then: it waits until the `until` it was deferred to): counting every such decision would
count one message many times over. So a deferral is counted once per message, when it
starts waiting (`campaignctl_messages_deferred_total`), and what waits now is a gauge by
reason (`campaignctl_messages_waiting`). Every other action is done once and counted as done.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from campaignctl.core.nextdue import lower_bound
from campaignctl.core.types import Plan

MessageKey = tuple[str, str, int | None]  # campaign, phone, step


class Waiting:
    """The messages that waited at the last tick, to tell a new deferral from one more
    tick of the same wait. Deferrals beyond those an apply lists one by one (a tally of a
    very large tick) are told by the growth of their count per campaign and reason."""

    def __init__(self) -> None:
        # each waiting message: the reason it began waiting for, and until when it is not
        # read again (a window, the 30-day gap: core/nextdue.py), if known
        self.listed: dict[MessageKey, tuple[str, datetime | None]] = {}
        self.tallied: Tally[tuple[str, str]] = Tally()

    def update(self, plan: Plan) -> tuple[Tally[str], Tally[str]]:
        """Take this tick's deferrals; returns (new deferrals, all waiting now), by reason."""
        new: Tally[str] = Tally()
        now: Tally[str] = Tally()
        listed: dict[MessageKey, tuple[str, datetime | None]] = {}
        # a wait for a window or the 30-day gap is not read again before its end: it still
        # waits, unless this plan decided that message (the plan counts it in its tallies)
        decided = {(a.campaign, a.phone or "", a.step) for a in plan.actions}
        carried: Tally[tuple[str, str]] = Tally()
        for waits, (began, until) in self.listed.items():
            if until is not None and until > plan.now and waits not in decided:
                listed[waits] = (began, until)
                carried[(waits[0], began)] += 1
        for action in plan.actions:
            if action.type != "defer":
                continue
            key: MessageKey = (action.campaign, action.phone or "", action.step)
            reason: str = action.reason or ""
            before = self.listed.get(key)  # a wait keeps the reason it began with
            label = before[0] if before else reason
            listed[key] = (label, lower_bound(action))
            now[label] += 1
            if before is None:
                new[reason] += 1
        tallied: Tally[tuple[str, str]] = Tally()
        for tally in plan.tallies:
            if tally.type == "defer":
                tallied[(tally.campaign, tally.reason or "")] += tally.count
        for (campaign, why), count in tallied.items():
            now[why] += count  # those listed before, now counted: not new
            new[why] += max(0, count - self.tallied[(campaign, why)] - carried[(campaign, why)])
        self.listed, self.tallied = listed, tallied
        return new, now


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.actions = Counter(
            "campaignctl_actions_total",
            "Plan actions applied, by type and reason (deferrals are counted by "
            "campaignctl_messages_deferred_total).",
            ["type", "reason"],
            registry=self.registry,
        )
        self.deferred = Counter(
            "campaignctl_messages_deferred_total",
            "Messages that had to wait, each counted once when its wait began, by the rule "
            "that held it (quiet_hours, insufficient_credits, rate_limit...).",
            ["reason"],
            registry=self.registry,
        )
        self.waiting = Gauge(
            "campaignctl_messages_waiting",
            "Messages due but waiting after the last tick, by the rule that holds them.",
            ["reason"],
            registry=self.registry,
        )
        self.outcomes = Counter(
            "campaignctl_send_outcomes_total",
            "Provider outcomes of send attempts.",
            ["outcome"],
            registry=self.registry,
        )
        self.credits_spent = Counter(
            "campaignctl_credits_spent_total", "Credits debited for sends.", registry=self.registry
        )
        self.balance = Gauge(
            "campaignctl_credit_balance",
            "Credit balance after the last tick.",
            registry=self.registry,
        )
        self.tick_seconds = Histogram(
            "campaignctl_tick_duration_seconds",
            "Duration of a reconcile tick.",
            registry=self.registry,
        )
        self.ticks_failed = Counter(
            "campaignctl_ticks_failed_total",
            "Ticks that ended in an error.",
            registry=self.registry,
        )
        self.last_success = Gauge(
            "campaignctl_last_successful_tick_timestamp_seconds",
            "Unix time of the last tick that succeeded.",
            registry=self.registry,
        )
        self._waits = Waiting()
        self._reasons: set[str] = set()  # every reason the gauge has shown, reset to 0 when gone

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def observe(
        self, plan: Plan, outcomes: dict[str, int], balance: int, seconds: float, finished_at: float
    ) -> None:
        for action in plan.actions:
            if action.type != "defer":
                self.actions.labels(action.type, action.reason or "").inc()
        for tally in plan.tallies:
            if tally.type != "defer":
                self.actions.labels(tally.type, tally.reason or "").inc(tally.count)
        new, now = self._waits.update(plan)
        for reason, count in new.items():
            self.deferred.labels(reason).inc(count)
        self._set_waiting(now.items())
        for outcome, count in outcomes.items():
            self.outcomes.labels(outcome).inc(count)
        self.credits_spent.inc(plan.summary().get("credits", 0))
        self.balance.set(balance)
        self.tick_seconds.observe(seconds)
        self.last_success.set(finished_at)

    def _set_waiting(self, counts: Iterable[tuple[str, int]]) -> None:
        now = dict(counts)
        for reason in self._reasons | set(now):
            self.waiting.labels(reason).set(now.get(reason, 0))
        self._reasons |= set(now)
