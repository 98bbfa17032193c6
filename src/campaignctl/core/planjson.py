"""The plan JSON of SPEC section 4, both ways. Saved plan files use the same form."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar, cast, get_args

from campaignctl.core.actions import (
    ACTION_TYPES,
    Action,
    ActionType,
    Complete,
    Defer,
    End,
    Enroll,
    Pause,
    Reason,
    Resume,
    Send,
    Skip,
    StatusChange,
)
from campaignctl.core.instants import InstantError, format_instant, parse_instant
from campaignctl.core.types import Plan, Relaunch, Tally

T = TypeVar("T")

FORMAT_VERSION = 1

# the text of an instant, memoised: the defers of a large plan share a few `until` times
_instant_text = lru_cache(maxsize=4096)(format_instant)


def action_to_json(action: Action) -> dict[str, Any]:
    if action.type == "campaign_status":
        return {
            "type": action.type,
            "campaign": action.campaign,
            "from": action.from_status,
            "to": action.to_status,
        }
    # the fields a plan shows, in this order, when they have a value
    out: dict[str, Any] = {"type": action.type, "campaign": action.campaign}
    if action.phone is not None:
        out["phone"] = action.phone
    if action.step is not None:
        out["step"] = action.step
    if action.reason is not None:
        out["reason"] = action.reason
    if action.type == "send":
        out["body"] = action.body
        out["segments"] = action.segments
        out["credits"] = action.credits
    if action.detail is not None:
        out["detail"] = action.detail
    if action.type == "defer":
        out["until"] = _instant_text(action.until) if action.until else None
    if action.type == "send" and action.valid_until is not None:
        out["valid_until"] = _instant_text(action.valid_until)
    if action.type == "skip" and action.expired_at is not None:
        out["expired_at"] = _instant_text(action.expired_at)
    return out


def _field(data: dict[str, Any], name: str, kind: type[T]) -> T:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"a {data.get('type')} action needs {name!r} ({kind.__name__})")
    return value


def _optional(data: dict[str, Any], name: str, kind: type[T]) -> T | None:
    return None if data.get(name) is None else _field(data, name, kind)


def _instant(field: str, value: object) -> datetime:
    """A saved plan's instant, refused (ValueError naming the field) if it is not text in
    the sane range: a hand-edited year 0226 or 9999 never reaches the planner."""
    try:
        return parse_instant(value)
    except InstantError as exc:
        raise ValueError(f"{field}: {exc}") from None


def _optional_instant(data: dict[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    return _instant(name, value) if value else None


def action_from_json(data: dict[str, Any]) -> Action:
    """The action a plan file describes; ValueError for one that is not whole."""
    kind = data.get("type")
    campaign = _field(data, "campaign", str)
    detail = _optional(data, "detail", str)
    until = _optional_instant(data, "until")  # checked on any action: the file is whole or refused
    valid_until = _optional_instant(data, "valid_until")
    if kind == "campaign_status":
        statuses = ("draft", "active", "paused", "completed")
        old, new = data.get("from"), data.get("to")
        if old not in statuses or new not in statuses:
            raise ValueError(f"a campaign_status action needs 'from' and 'to' among {statuses}")
        return StatusChange(campaign, old, new, detail)
    if kind in ("pause", "resume", "complete"):
        maker: type[Pause | Resume | Complete] = {
            "pause": Pause,
            "resume": Resume,
            "complete": Complete,
        }[kind]
        return maker(campaign, detail)
    phone = _optional(data, "phone", str)
    if kind == "skip":
        step = _optional(data, "step", int)
        expired_at = _optional_instant(data, "expired_at")
        return Skip(campaign, phone, _reason(data), detail, step, expired_at)
    if phone is None:
        raise ValueError(f"a {kind} action needs 'phone'")
    if kind == "enroll":
        return Enroll(campaign, phone, detail)
    if kind == "end":
        return End(campaign, phone, _reason(data), detail)
    step = _field(data, "step", int)
    if kind == "defer":
        return Defer(campaign, phone, step, _reason(data), until, detail)
    if kind == "send":
        return Send(
            campaign,
            phone,
            step,
            _field(data, "body", str),
            _field(data, "segments", int),
            _field(data, "credits", int),
            valid_until,
            detail,
        )
    raise ValueError(f"unknown action type {kind!r}")


def _reason(data: dict[str, Any]) -> Reason:
    reason = data.get("reason")
    if reason not in get_args(Reason):
        raise ValueError(f"a {data.get('type')} action has an unknown reason {reason!r}")
    return cast(Reason, reason)


def plan_to_json(plan: Plan, *, with_actions: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "now": format_instant(plan.now),
        "expires_at": format_instant(plan.expires_at),
        "config_digest": plan.config_digest,
        "state_serial": plan.state_serial,
        "actions": [action_to_json(a) for a in plan.actions] if with_actions else [],
        "summary": plan.summary(),
        "group_digests": dict(sorted(plan.group_digests.items())),
        "notes": list(plan.notes),
    }
    switches = [r for _, r in sorted(plan.relaunches.items()) if r.switch is not None]
    if switches:  # live campaigns moving to another template (outside `actions`)
        document["template_switches"] = [switch_to_json(r) for r in switches]
    if plan.relaunches:  # accepted edits of launched campaigns, recorded by the apply
        document["edits"] = [
            {"campaign": name, "changes": list(r.changes)}
            for name, r in sorted(plan.relaunches.items())
        ]
    if plan.held:  # campaigns held by a configuration error: nothing is planned for them
        document["held"] = [
            {"campaign": name, "reason": "config_error", "error": error}
            for name, error in sorted(plan.held.items())
        ]
    if plan.actions_digest is not None:  # every action, listed or not: what apply checks
        document["actions_digest"] = plan.actions_digest
    if plan.tallies:  # a large plan or apply: the actions beyond those listed, counted
        document["unlisted"] = [
            {"campaign": t.campaign, "type": t.type, "reason": t.reason, "count": t.count}
            for t in plan.tallies
        ]
    return document


def switch_to_json(relaunch: Relaunch) -> dict[str, Any]:
    """A template switch: the templates, how many live enrollments move, and each step's
    wording and wait before and after (null where the old template had no such step)."""
    switch = relaunch.switch
    assert switch is not None
    steps = []
    for index, new in enumerate(switch.new_steps):
        old = switch.old_steps[index] if index < len(switch.old_steps) else None
        steps.append(
            {
                "step": index + 1,
                "changed": old != new,
                "from": None if old is None else {"body": old.body, "waitDays": old.wait_days},
                "to": {"body": new.body, "waitDays": new.wait_days},
            }
        )
    return {
        "campaign": relaunch.campaign,
        "from": switch.old,
        "to": switch.new,
        "enrollments": switch.enrollments,
        "steps": steps,
    }


def plan_from_json(data: object) -> Plan:
    """Read a saved plan; raises ValueError (with what is wrong) for anything malformed."""
    plan = plan_fields_from_json(data)
    if plan.actions_digest is None and plan.tallies:
        raise ValueError("it lists only some of its actions and has no actions_digest")
    if plan.actions_digest is not None and not plan.tallies:
        digest = ActionsDigest()
        digest.add(plan.actions)
        check_actions_digest(digest, plan.actions_digest)
    return plan


def plan_fields_from_json(data: object) -> Plan:
    """A saved plan's fields as they are, its actions and `unlisted` included, nothing
    checked against actions_digest; raises ValueError for anything malformed."""
    if not isinstance(data, dict):
        raise ValueError("a plan file holds a JSON object")
    doc = cast(dict[str, Any], data)
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format_version {doc.get('format_version')!r} is not {FORMAT_VERSION}")
    try:
        return Plan(
            now=_instant("now", doc["now"]),
            expires_at=_instant("expires_at", doc["expires_at"]),
            config_digest=str(doc["config_digest"]),
            state_serial=int(doc["state_serial"]),
            actions=tuple(action_from_json(a) for a in doc["actions"]),
            group_digests={str(k): str(v) for k, v in doc.get("group_digests", {}).items()},
            notes=tuple(str(n) for n in doc.get("notes", [])),
            tallies=tuple(_tally(t) for t in doc.get("unlisted", [])),
            actions_digest=_optional(doc, "actions_digest", str),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"missing or malformed field: {exc}") from exc


def check_actions_digest(digest: ActionsDigest, expected: str) -> None:
    """Raise ValueError unless the actions read hash to the digest the plan says."""
    if digest.hexdigest() != expected:
        raise ValueError("its actions do not match its actions_digest")


def _tally(data: object) -> Tally:
    """One entry of `unlisted`: how many actions of a kind, campaign and reason are counted."""
    if not isinstance(data, dict):
        raise ValueError("an unlisted entry is a JSON object")
    entry = cast(dict[str, Any], data)
    kind = entry.get("type")
    if kind not in ACTION_TYPES:
        raise ValueError(f"an unlisted entry has an unknown type {kind!r}")
    reason = entry.get("reason")
    if reason is not None and reason not in get_args(Reason):
        raise ValueError(f"an unlisted entry has an unknown reason {reason!r}")
    return Tally(
        _field(entry, "campaign", str),
        cast(ActionType, kind),
        cast(Reason | None, reason),
        _field(entry, "count", int),
    )


def action_key(action: Action) -> tuple[object, ...]:
    """What identifies an action's effect, independent of when the plan was made."""
    return (
        action.type,
        action.campaign,
        action.phone,
        action.step,
        action.reason if action.type != "defer" else None,
        action.body if action.type == "send" else None,
        action.to_status if action.type == "campaign_status" else None,
    )


_DIGEST_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


class ActionsDigest:
    """A running digest of a plan's actions, fed in the order they are decided, a stage at
    a time, that equals the digest of the same actions in the order a plan lists them (by
    kind, each kind in the order decided): a kind's actions are hashed apart from the
    others'. Defers are left out: their `until` moves with the clock, and a saved plan is
    applied while what is due now is the same (`action_key` of each other action)."""

    def __init__(self) -> None:
        self._kinds = {str(kind): hashlib.sha256() for kind in sorted(ACTION_TYPES)}
        self.count = 0  # actions hashed

    def add(self, actions: Iterable[Action]) -> None:
        lines: dict[str, list[str]] = {}
        for action in actions:
            if action.type == "defer":
                continue
            lines.setdefault(action.type, []).append(_DIGEST_ENCODER.encode(action_key(action)))
        for kind, encoded in lines.items():
            self._kinds[kind].update(("\n".join(encoded) + "\n").encode())
            self.count += len(encoded)

    def hexdigest(self) -> str:
        whole = hashlib.sha256()
        for kind, digest in self._kinds.items():
            whole.update(f"{kind} {digest.hexdigest()}\n".encode())
        return "sha256:" + whole.hexdigest()


_DIGEST_CHUNK = 5000  # actions encoded at a time
_ACTIONS_KEY = '"actions":[]'


def plan_digest(plan: Plan) -> str:
    """sha256 of the plan's JSON with sorted keys, compact. The text is hashed piece by
    piece (the actions a chunk at a time), so the text of a large plan is never built
    whole; the digest is the one of `json.dumps(plan_to_json(plan), sort_keys=True,
    separators=(",", ":"))`."""
    document = plan_to_json(plan, with_actions=False)
    text = _DIGEST_ENCODER.encode(document)
    cut = text.index(_ACTIONS_KEY) + len(_ACTIONS_KEY) - 1  # just before the closing "]"
    digest = hashlib.sha256(text[:cut].encode())
    separator = ""
    for start in range(0, len(plan.actions), _DIGEST_CHUNK):
        chunk = [action_to_json(a) for a in plan.actions[start : start + _DIGEST_CHUNK]]
        digest.update((separator + _DIGEST_ENCODER.encode(chunk)[1:-1]).encode())
        separator = ","
    digest.update(text[cut:].encode())
    return "sha256:" + digest.hexdigest()
