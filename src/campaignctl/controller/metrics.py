"""Prometheus metrics of the controller, served on --metrics-port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from campaignctl.core.types import Plan


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.actions = Counter(
            "campaignctl_actions_total",
            "Plan actions applied, by type and reason.",
            ["type", "reason"],
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

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def observe(
        self, plan: Plan, outcomes: dict[str, int], balance: int, seconds: float, finished_at: float
    ) -> None:
        for action in plan.actions:
            self.actions.labels(action.type, action.reason or "").inc()
        for tally in plan.tallies:
            self.actions.labels(tally.type, tally.reason or "").inc(tally.count)
        for outcome, count in outcomes.items():
            self.outcomes.labels(outcome).inc(count)
        self.credits_spent.inc(plan.summary().get("credits", 0))
        self.balance.set(balance)
        self.tick_seconds.observe(seconds)
        self.last_success.set(finished_at)
