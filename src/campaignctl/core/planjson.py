"""The plan JSON of SPEC section 4, both ways. Saved plan files use the same form."""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

from campaignctl.clock import format_instant, parse_instant
from campaignctl.core.types import ACTION_TYPES, Action, Plan

FORMAT_VERSION = 1

_SIMPLE = ("campaign", "phone", "step", "reason", "body", "segments", "credits", "detail")


def action_to_json(action: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"type": action.type}
    if action.type == "campaign_status":
        out["campaign"] = action.campaign
        out["from"] = action.from_status
        out["to"] = action.to_status
        return out
    for name in _SIMPLE:
        value = getattr(action, name)
        if value is not None:
            out[name] = value
    if action.type == "defer" or action.until is not None:
        out["until"] = format_instant(action.until) if action.until else None
    if action.valid_until is not None:
        out["valid_until"] = format_instant(action.valid_until)
    return out


def action_from_json(data: dict[str, Any]) -> Action:
    kind = data.get("type")
    if kind not in ACTION_TYPES:
        raise ValueError(f"unknown action type {kind!r}")
    until = data.get("until")
    valid_until = data.get("valid_until")
    return Action(
        type=kind,
        campaign=str(data["campaign"]),
        phone=data.get("phone"),
        step=data.get("step"),
        reason=data.get("reason"),
        until=parse_instant(until) if until else None,
        body=data.get("body"),
        segments=data.get("segments"),
        credits=data.get("credits"),
        from_status=data.get("from"),
        to_status=data.get("to"),
        detail=data.get("detail"),
        valid_until=parse_instant(valid_until) if valid_until else None,
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "now": format_instant(plan.now),
        "expires_at": format_instant(plan.expires_at),
        "config_digest": plan.config_digest,
        "state_serial": plan.state_serial,
        "actions": [action_to_json(a) for a in plan.actions],
        "summary": plan.summary(),
        "group_digests": dict(sorted(plan.group_digests.items())),
        "notes": list(plan.notes),
    }


def plan_from_json(data: object) -> Plan:
    """Read a saved plan; raises ValueError (with what is wrong) for anything malformed."""
    if not isinstance(data, dict):
        raise ValueError("a plan file holds a JSON object")
    doc = cast(dict[str, Any], data)
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format_version {doc.get('format_version')!r} is not {FORMAT_VERSION}")
    try:
        return Plan(
            now=parse_instant(doc["now"]),
            expires_at=parse_instant(doc["expires_at"]),
            config_digest=str(doc["config_digest"]),
            state_serial=int(doc["state_serial"]),
            actions=tuple(action_from_json(a) for a in doc["actions"]),
            group_digests={str(k): str(v) for k, v in doc.get("group_digests", {}).items()},
            notes=tuple(str(n) for n in doc.get("notes", [])),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"missing or malformed field: {exc}") from exc


def action_key(action: Action) -> tuple[object, ...]:
    """What identifies an action's effect, independent of when the plan was made."""
    return (
        action.type,
        action.campaign,
        action.phone,
        action.step,
        action.reason if action.type != "defer" else None,
        action.body,
        action.to_status,
    )


def plan_digest(plan: Plan) -> str:
    text = json.dumps(plan_to_json(plan), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
