"""The apply lease: exclusive, taken over after expiry, and fencing stale holders."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from campaignctl.errors import StateError
from campaignctl.store import LeaseHeld, Store
from tests.store.helpers import T0, active_campaign, contact, phone


class FakeWall:
    """A wall clock the test moves by hand (the store's injectable time source)."""

    def __init__(self, at: float = 1_000_000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def _race(path: str, start_at: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = Store.open(path)
    while time.time() < start_at:
        pass
    try:
        queue.put(("token", store.acquire_lease(f"proc-{multiprocessing.current_process().pid}")))
    except LeaseHeld as exc:
        queue.put(("held", str(exc)))
    time.sleep(0.3)  # hold it while the others try
    store._conn.close()  # exit without releasing, like a crash


def test_two_processes_racing_get_exactly_one_token(state: str) -> None:
    path = state
    Store.open(path).close()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 1.5
    procs = [ctx.Process(target=_race, args=(path, start_at, queue)) for _ in range(4)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=30) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    tokens = [value for kind, value in results if kind == "token"]
    held = [value for kind, value in results if kind == "held"]
    assert tokens == [1]
    assert len(held) == 3 and all("another apply is running" in h for h in held)


def test_an_expired_lease_is_taken_over_with_a_greater_token(state: str) -> None:
    wall = FakeWall()
    path = state
    first, second = Store.open(path, wall_clock=wall), Store.open(path, wall_clock=wall)
    token = first.acquire_lease("apply-1", ttl_seconds=60)
    with pytest.raises(LeaseHeld, match="apply-1") as held:
        second.acquire_lease("apply-2")
    assert "60s from now" in str(held.value)
    wall.at += 59
    with pytest.raises(LeaseHeld):
        second.acquire_lease("apply-2")
    wall.at += 2
    taken = second.acquire_lease("apply-2")
    assert taken > token
    first.close()
    second.close()


def test_waiting_for_a_lease_that_is_released(state: str) -> None:
    path = state
    first, second = Store.open(path), Store.open(path)
    token = first.acquire_lease("apply-1", ttl_seconds=0.3)
    started = time.monotonic()
    assert second.acquire_lease("apply-2", wait_seconds=5) == token + 1  # after expiry
    assert 0.2 < time.monotonic() - started < 5
    first.close()
    second.close()


def test_fencing_a_stale_holder_cannot_write(state: str) -> None:
    wall = FakeWall()
    path = state
    stale, fresh = Store.open(path, wall_clock=wall), Store.open(path, wall_clock=wall)
    stale.acquire_lease("apply-1", ttl_seconds=60)
    active_campaign(stale)
    wall.at += 120  # apply-1 stalls past its expiry; apply-2 takes over
    fresh.acquire_lease("apply-2")
    serial = fresh.serial
    with pytest.raises(StateError, match="lost the lease"):
        stale.enroll_many("c1", [contact(phone(1))], T0)
    with pytest.raises(StateError, match="lost the lease"):
        stale.renew_lease(1)
    assert fresh.serial == serial
    assert fresh.enrollments_of(phone(1)) == []
    fresh.enroll_many("c1", [contact(phone(1))], T0)  # the holder writes
    stale.release_lease(1)  # a stale release frees nothing
    with pytest.raises(LeaseHeld):
        stale.acquire_lease("apply-1")
    stale.close()
    fresh.close()


def test_apply_writes_without_the_lease_wait_for_a_holder(state: str) -> None:
    path = state
    holder, other = Store.open(path), Store.open(path)
    token = holder.acquire_lease("apply-1")
    with pytest.raises(LeaseHeld, match="holds the apply lease"):
        other.ensure_campaign("c1", T0)
    other.add_credits(5, "no lease needed", T0)  # state commands take no lease
    holder.release_lease(token)
    other.ensure_campaign("c1", T0)
    holder.close()
    other.close()


def test_renew_extends_and_close_releases(state: str) -> None:
    wall = FakeWall()
    path = state
    first, second = Store.open(path, wall_clock=wall), Store.open(path, wall_clock=wall)
    token = first.acquire_lease("apply-1", ttl_seconds=60)
    wall.at += 50
    first.renew_lease(token, ttl_seconds=60)
    wall.at += 50
    with pytest.raises(LeaseHeld):
        second.acquire_lease("apply-2")
    serial = first.serial
    first.close()  # a clean exit frees the lease at once
    assert second.acquire_lease("apply-2") == token + 1
    assert second.serial == serial  # lease traffic does not make saved plans stale
    second.close()
