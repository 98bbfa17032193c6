"""Scripted faults: rules that change how the emulator answers the next matching requests.

A fault matches an operation ("create", "list", "fetch", "any", or "deliver" for the final
status of a message) and optionally one To number; it applies to the next `times` matching
requests (None: to every one). Examples, as JSON for POST /_emulator/faults:

    {"op": "create", "times": 2, "status": 500, "after_create": true}   create, then answer 500
    {"op": "create", "code": 20429}                                     answer 429 once
    {"op": "create", "delay": 2}                                        create, answer 2s later
    {"op": "create", "to": "+14155550100", "code": 21610, "times": null}  always opted out
    {"op": "create", "drop": true, "after_create": true}                create, reset the connection
    {"op": "create", "malformed": true}                                 answer 201 with broken JSON
    {"op": "deliver", "to": "+14155550100", "final_status": "undelivered", "code": 30005}
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, cast

Operation = Literal["create", "list", "fetch", "any", "deliver"]
OPERATIONS: tuple[Operation, ...] = ("create", "list", "fetch", "any", "deliver")

STATUS_FOR_CODE = {20003: 401, 20404: 404, 20429: 429, 20500: 500, 20503: 503}


@dataclass
class Fault:
    op: Operation = "create"
    to: str | None = None  # only requests for this To number
    times: int | None = 1  # how many matching requests it applies to; None: all of them
    status: int | None = None  # HTTP status of the error answer (derived from code if unset)
    code: int | None = None  # Twilio error code of the answer (or of the delivery, for deliver)
    message: str | None = None
    after_create: bool = False  # create the message first, then answer the fault
    delay: float = 0.0  # seconds to wait before answering (the message is created first)
    drop: bool = False  # close the connection (reset) instead of answering
    malformed: bool = False  # answer success with a body that is not JSON
    final_status: str | None = None  # deliver: "undelivered" or "failed" instead of delivered

    @property
    def is_error(self) -> bool:
        return self.status is not None or (self.code is not None and self.op != "deliver")

    @property
    def http_status(self) -> int:
        if self.status is not None:
            return self.status
        return STATUS_FOR_CODE.get(self.code or 0, 400)

    @property
    def creates_message(self) -> bool:
        """Whether a create answered with this fault leaves a message behind."""
        return self.after_create or not (self.is_error or self.drop or self.malformed)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> Fault:
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        if data.get("op", "create") not in OPERATIONS:
            raise ValueError(f"op must be one of {', '.join(OPERATIONS)}")
        fault = cls(**cast(dict[str, Any], data))
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1 (or null for every request)")
        return fault


class FaultBook:
    """The programmed faults, consumed in order; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, op: Operation, to: str | None) -> Fault | None:
        """The first fault matching this request, counted as used."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.op not in (op, "any") or (op == "deliver") != (fault.op == "deliver"):
                    continue
                if fault.to is not None and fault.to != to:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        del self._faults[index]
                return fault
        return None
