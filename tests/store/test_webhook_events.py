"""Webhook idempotency: an event is processed once, and again only if its processing failed."""

from __future__ import annotations

from campaignctl.core.instants import parse_instant
from campaignctl.store import Store

NOW = parse_instant("2026-03-02T17:00:00Z")


def test_seen_once_and_forgotten_after_a_failure(store: Store) -> None:
    assert store.webhook_seen("SM1", NOW) is False  # first delivery: process it
    assert store.webhook_seen("SM1", NOW) is True  # Twilio's retry: skip
    store.forget_webhook("SM1")  # processing failed: the retry must go through
    assert store.webhook_seen("SM1", NOW) is False
    assert store.webhook_seen("SM2", NOW) is False
