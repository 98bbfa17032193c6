"""JSON forms of the values the state keeps as documents (launch records, fields, zones)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import time, timedelta
from typing import Any

from campaignctl.core.instants import LONGEST_WAIT_DAYS
from campaignctl.core.types import Enrollment, LaunchRecord, QuietHours, Sender, Step
from campaignctl.store.db import DamagedValue, from_text, opt_from_text, shown

# what decoding a document that campaignctl did not write can raise: broken JSON, a list
# where an object was, a missing key, a number where text was, a time that is not one
_MALFORMED = (ValueError, TypeError, KeyError, AttributeError, IndexError)

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # built once: fast
_string = json.encoder.encode_basestring  # a str as JSON text, as _ENCODER writes it


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def fields_to_json(fields: Mapping[str, str]) -> str:
    """What `dumps(dict(fields))` gives, built directly for text fields: the encoder costs
    more to set up than a contact's few fields cost to write (a million are written when a
    large group is enrolled)."""
    try:
        return (
            "{"
            + ",".join(f"{_string(key)}:{_string(value)}" for key, value in fields.items())
            + "}"
        )
    except TypeError:  # a value that is not text: the general encoder
        return _ENCODER.encode(dict(fields))


def zones_to_json(zones: Sequence[str]) -> str:
    return _zones_text(tuple(zones))


@functools.lru_cache(maxsize=4096)
def _zones_text(zones: tuple[str, ...]) -> str:
    return _ENCODER.encode(list(zones))


def fields_from_json(text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
        return {str(k): str(v) for k, v in value.items()}
    except _MALFORMED:
        raise DamagedValue(f"the stored contact fields {shown(text)} cannot be read") from None


@functools.lru_cache(maxsize=4096)  # a few hundred distinct zone lists in a whole state
def zones_from_json(text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
        if not isinstance(value, list):
            raise TypeError
        return tuple(str(z) for z in value)
    except _MALFORMED:
        raise DamagedValue(f"the stored time zones {shown(text)} cannot be read") from None


def launch_to_json(launch: LaunchRecord) -> str:
    sender = launch.sender
    return dumps(
        {
            "template": launch.template,
            "prospect_group": launch.prospect_group,
            "steps": [_step_json(s) for s in launch.steps],
            "sender": {
                "from_number": sender.from_number,
                "messaging_service_sid": sender.messaging_service_sid,
                "messages_per_second": sender.messages_per_second,
                "daily_limit": sender.daily_limit,
            },
            "quiet_hours": {
                "start": launch.quiet_hours.start.isoformat(),
                "end": launch.quiet_hours.end.isoformat(),
            },
            "stop_on_reply": launch.stop_on_reply,
        }
    )


def _step_json(step: Step) -> dict[str, Any]:
    """A launched step; `send_within` (seconds) only when it has one, so the records of
    steps without it read as they always did."""
    out: dict[str, Any] = {"body": step.body, "wait_days": step.wait_days}
    if step.send_within is not None:
        out["send_within"] = int(step.send_within.total_seconds())
    return out


def _within(data: Any) -> timedelta | None:
    """A launched step's sendWithin: whole seconds, positive, no longer than the longest
    wait (so adding it to an instant stays in range); None when it has none."""
    value = data.get("send_within")
    if value is None:
        return None
    seconds = int(value)
    if not 0 < seconds <= LONGEST_WAIT_DAYS * 86_400:
        raise ValueError(seconds)
    return timedelta(seconds=seconds)


def launch_value(text: str, key: str) -> Any:
    """One top-level value of a stored launch record (None when it has no such key),
    without reading the rest of it."""
    try:
        value = json.loads(text)
        if not isinstance(value, dict):
            raise TypeError
        return value.get(key)
    except _MALFORMED:
        raise DamagedValue(f"the stored launch record {shown(text)} cannot be read") from None


def launch_from_json(text: str) -> LaunchRecord:
    try:
        return _launch(json.loads(text))
    except _MALFORMED:
        raise DamagedValue(f"the stored launch record {shown(text)} cannot be read") from None


def _wait(value: Any) -> int:
    """A step's stored wait: whole days, no longer than any configuration can ask for (so
    adding it to an instant stays in range)."""
    days = int(value)
    if not 0 <= days <= LONGEST_WAIT_DAYS:
        raise ValueError(days)
    return days


def _launch(data: Any) -> LaunchRecord:
    sender = data["sender"]
    quiet = data["quiet_hours"]
    return LaunchRecord(
        template=data["template"],
        prospect_group=data["prospect_group"],
        steps=tuple(
            Step(body=str(s["body"]), wait_days=_wait(s["wait_days"]), send_within=_within(s))
            for s in data["steps"]
        ),
        sender=Sender(
            from_number=sender["from_number"],
            messaging_service_sid=sender["messaging_service_sid"],
            messages_per_second=float(sender["messages_per_second"]),
            daily_limit=sender["daily_limit"],
        ),
        quiet_hours=QuietHours(
            start=time.fromisoformat(quiet["start"]), end=time.fromisoformat(quiet["end"])
        ),
        stop_on_reply=bool(data["stop_on_reply"]),
    )


# the columns of an Enrollment, in the order `enrollment_from_row` takes them
ENROLLMENT_COLUMNS = (
    "campaign, phone, steps_sent, last_sent_at, next_due_at, enrolled_at, fields, zones, us_state"
)


def enrollment_from_row(row: Sequence[Any]) -> Enrollment:
    """An enrollment from its columns, in the order of ENROLLMENT_COLUMNS."""
    campaign, phone, steps_sent, last_sent, next_due, enrolled, fields, zones, us_state = row
    return Enrollment(
        campaign=campaign,
        phone=phone,
        steps_sent=steps_sent,
        last_sent_at=opt_from_text(last_sent),
        next_due_at=from_text(next_due),
        enrolled_at=from_text(enrolled),
        fields=fields_from_json(fields),
        zones=zones_from_json(zones),
        us_state=us_state,
    )
