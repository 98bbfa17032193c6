"""The outbox provider: the Provider interface over the state's outbox table."""

from __future__ import annotations

from campaignctl.clock import FrozenClock
from campaignctl.providers.base import Provider
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, contact, later, phone, send


def test_send_records_and_lookup_finds(store: Store) -> None:
    store.add_credits(10, None, T0)
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1)), contact(phone(2))], T0)
    provider: Provider = OutboxProvider(store, FrozenClock(later(minutes=5)))
    assert provider.name == "outbox"
    sent = store.attempt(send(store, "c1", phone(1), 1, T0))
    never = store.attempt(send(store, "c1", phone(2), 1, T0))
    assert sent is not None and never is not None

    outcome = provider.send(sent.message())
    assert outcome.status == "sent" and outcome.provider_id and outcome.provider_id.startswith("OB")
    assert provider.send(sent.message()).provider_id == outcome.provider_id  # idempotent

    found = provider.lookup(sent.message())
    assert found is not None and (found.status, found.provider_id) == ("sent", outcome.provider_id)
    assert provider.lookup(never.message()) is None
    [row] = store.outbox()
    assert (row.at, row.campaign, row.to, row.body) == (later(minutes=5), "c1", phone(1), "step 1")


def test_without_a_clock_the_attempt_time_is_recorded(store: Store) -> None:
    store.add_credits(10, None, T0)
    active_campaign(store)
    store.enroll_many("c1", [contact(phone(1))], T0)
    attempt = store.attempt(send(store, "c1", phone(1), 1, later(hours=2)))
    assert attempt is not None
    OutboxProvider(store).send(attempt.message())
    assert [r.at for r in store.outbox()] == [later(hours=2)]
