"""Values in the state that campaignctl cannot have written (an instant out of range or that
cannot be read, broken JSON), put there with sqlite3 directly: every reader refuses the state
with the one-line `corrupt` refusal naming the file, never a traceback, never a guess."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.core.instants import EARLIEST, LATEST, LONGEST_WAIT_DAYS, STORED_LATEST
from campaignctl.errors import StateError
from campaignctl.store import Store
from campaignctl.store.codec import fields_from_json, launch_from_json, zones_from_json
from campaignctl.store.db import DamagedValue, from_text, to_text
from tests.store.helpers import T0, active_campaign, contact, desired, group, phone, send

Reader = Callable[[Store], Any]


def _state(path: Path) -> Path:
    """A state with a row in every table an instant is read from."""
    with Store.open(path) as store:
        store.add_credits(10, "seed", T0)
        active_campaign(store)
        store.enroll_many("c1", [contact(phone(i)) for i in range(3)], T0)
        send(store, "c1", phone(0), 1, T0)  # left in flight
        store.add_optout(phone(1), "manual", "asked", T0)
        store.suspend("maintenance", T0)
        store.resume(T0)
    return path


def _snapshot(store: Store) -> object:
    return store.snapshot(desired({"g1": group("g1", [])}, {"c1": "g1"}), T0 + timedelta(days=1))


READERS: dict[str, tuple[str, Reader]] = {  # column -> (the UPDATE's table, a reader of it)
    "ledger.at": ("ledger", lambda s: s.ledger()),
    "optouts.at": ("optouts", lambda s: s.optouts()),
    "optout_history.at": ("optout_history", lambda s: s.explain(phone(1))),
    "meta.suspended_at": ("meta", lambda s: s.suspended_at()),
    "campaigns.updated_at": ("campaigns", lambda s: s.campaign_status_rows()),
    "campaigns.launched_at": ("campaigns", lambda s: s.campaign_status_rows()),
    "enrollments.enrolled_at": ("enrollments", lambda s: s.enrollments_of(phone(2))),
    "enrollments.next_due_at": ("enrollments", lambda s: s.enrollments_of(phone(2))),
    "attempts.created_at": ("attempts", lambda s: s.in_flight()),
    "decisions.at": ("decisions", lambda s: s.explain(phone(2))),
}

BAD_INSTANTS = [  # SQL literal, what the refusal says
    ("'0226-12-01T15:00:00.000000Z'", "'0226-12-01T15:00:00.000000Z' is out of range"),
    ("'9999-12-31T23:50:00.000000Z'", "'9999-12-31T23:50:00.000000Z' is out of range"),
    ("'1999-12-31T23:59:59.999999Z'", "is out of range"),
    ("'yesterday'", "'yesterday' cannot be read"),
    ("x'00ff'", "b'\\x00\\xff' cannot be read"),  # a blob, not text
    ("'2026-03-02T15:00:00'", "'2026-03-02T15:00:00' has no UTC offset"),
]


def _damage(path: Path, table: str, column: str, literal: str) -> bytes:
    conn = sqlite3.connect(path)
    if table == "decisions":
        conn.execute(
            "INSERT INTO decisions (at, last_at, campaign, phone, type)"
            " VALUES (?, ?, 'c1', ?, 'defer')",
            [to_text(T0), to_text(T0), phone(2)],
        )
    if table == "ledger":  # append-only for campaignctl; a hand edit can still change it
        conn.execute("DROP TRIGGER ledger_no_update")
    conn.execute(f"UPDATE {table} SET {column} = {literal}")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize(("literal", "said"), BAD_INSTANTS)
@pytest.mark.parametrize("where", sorted(READERS))
def test_a_bad_stored_instant_is_refused_as_corrupt(
    tmp_path: Path, where: str, literal: str, said: str
) -> None:
    path = _state(tmp_path / "state.db")
    table, reader = READERS[where]
    damaged = _damage(path, table, where.split(".")[1], literal)
    with pytest.raises(StateError) as caught, Store.open(path, read_only=True) as store:
        reader(store)
    message = str(caught.value)
    assert message.startswith(f"{path}: the state database is corrupt (the stored instant ")
    assert said in message and message.endswith("; restore a backup"), message
    assert "\n" not in message
    assert path.read_bytes() == damaged


@pytest.mark.parametrize(
    ("column", "literal"),
    [
        ("launch", "'{'"),
        ("launch", "'[]'"),
        ("launch", "json_set(launch, '$.steps[1].wait_days', 'soon')"),
        ("launch", f"json_set(launch, '$.steps[1].wait_days', {LONGEST_WAIT_DAYS + 1})"),
        ("launch", "json_set(launch, '$.quiet_hours.start', '25:00')"),
        ("launch", "json_remove(launch, '$.sender')"),
    ],
)
def test_a_damaged_launch_record_is_refused_as_corrupt(
    tmp_path: Path, column: str, literal: str
) -> None:
    path = _state(tmp_path / "state.db")
    damaged = _damage(path, "campaigns", column, literal)
    refusal = r"corrupt \(the stored launch record .*cannot be read"
    with pytest.raises(StateError, match=refusal), Store.open(path, read_only=True) as store:
        _snapshot(store)
    assert path.read_bytes() == damaged


@pytest.mark.parametrize(
    ("column", "literal", "what"),
    [
        ("fields", "'{'", "contact fields"),
        ("fields", "'[1, 2]'", "contact fields"),
        ("zones", "'\"America/New_York\"'", "time zones"),
        ("zones", "'nope'", "time zones"),
    ],
)
def test_damaged_contact_documents_are_refused_as_corrupt(
    tmp_path: Path, column: str, literal: str, what: str
) -> None:
    path = _state(tmp_path / "state.db")
    _damage(path, "enrollments", column, literal)
    refusal = rf"state\.db: .*corrupt \(the stored {what} "
    with pytest.raises(StateError, match=refusal), Store.open(path, read_only=True) as store:
        _snapshot(store)


def test_an_instant_decoded_outside_a_read_still_names_the_file(tmp_path: Path) -> None:
    """`ledger()` decodes its rows after its read transaction: the refusal still says which
    state is damaged (the store names it when it is closed)."""
    path = _state(tmp_path / "state.db")
    _damage(path, "ledger", "at", "'0226-12-01T15:00:00.000000Z'")
    refusal = rf"^{path}: the state database is corrupt"
    with pytest.raises(StateError, match=refusal), Store.open(path) as store:
        store.ledger()


# ----------------------------------------------------------------------------- the rules

STORABLE = st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None),
    max_value=(STORED_LATEST - timedelta(microseconds=1)).replace(tzinfo=None),
    timezones=st.just(UTC),
)


@settings(max_examples=300)
@given(STORABLE)
def test_every_instant_a_command_can_write_reads_back_the_same(at: datetime) -> None:
    assert from_text(to_text(at)) == at


@settings(max_examples=300)
@given(STORABLE, st.sampled_from(["America/New_York", "Asia/Kolkata", "Pacific/Chatham"]))
def test_an_instant_has_one_stored_form_whatever_its_zone(at: datetime, zone: str) -> None:
    """The forms of the instants met last are kept: one met first in another zone (an
    equal instant) gives the same UTC text, and a naive one is read as UTC."""
    local = at.astimezone(ZoneInfo(zone))
    assert to_text(local) == to_text(at) == at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert to_text(at.replace(tzinfo=None)) == to_text(at)


def test_the_latest_instant_a_command_writes_is_storable() -> None:
    """An accepted `now` plus the longest wait a step may ask for (and a window's days)."""
    latest_now = LATEST - timedelta(microseconds=1)
    written = latest_now + timedelta(days=LONGEST_WAIT_DAYS + 14)
    assert from_text(to_text(written)) == written


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=40), st.binary(max_size=12), st.integers(), st.floats()))
def test_any_stored_value_is_an_instant_in_range_or_refused(value: Any) -> None:
    try:
        at = from_text(value)
    except DamagedValue as refused:
        assert "corrupt" in str(refused) and "\n" not in str(refused)
    else:
        assert at.tzinfo is not None and EARLIEST <= at < STORED_LATEST


@settings(max_examples=200)
@given(
    st.one_of(st.text(max_size=30), st.binary(max_size=8)),
    st.sampled_from([fields_from_json, zones_from_json, launch_from_json]),
)
def test_any_stored_document_decodes_or_is_refused(text: Any, decode: Callable[[Any], Any]) -> None:
    try:
        decode(text)
    except DamagedValue as refused:
        assert "corrupt" in str(refused)
