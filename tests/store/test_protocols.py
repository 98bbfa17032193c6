"""The narrow protocols of the state: the SQLite Store is each of them, method for method, and
each asks for no more than its consumers call, nor less."""

from __future__ import annotations

import ast
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import campaignctl
from campaignctl.store import Store, protocols
from campaignctl.store.protocols import (
    ApplyStore,
    ApplyWriter,
    BatchStore,
    HistoryReader,
    InFlight,
    LeaseHolder,
    Ledger,
    OptOuts,
    OutboxReader,
    PlanReader,
    SnapshotReader,
    StatusReader,
    Suspension,
    WaitingReader,
)

SOURCE = Path(campaignctl.__file__).parent

# Who calls each protocol's own methods (its bases' have their own consumers).
CONSUMERS: dict[type, tuple[str, ...]] = {
    SnapshotReader: ("app/plan.py", "app/apply.py"),
    WaitingReader: ("app/waiting.py",),
    HistoryReader: ("cli/cmd_explain.py",),
    StatusReader: ("cli/cmd_status.py",),
    Ledger: ("cli/cmd_credits.py", "controller/loop.py"),
    OptOuts: ("cli/cmd_optout.py",),
    Suspension: ("cli/cmd_suspend.py",),
    OutboxReader: ("cli/cmd_outbox.py",),
    LeaseHolder: ("app/lease.py",),
    InFlight: ("app/settle.py",),
    ApplyWriter: ("app/executor.py", "app/apply.py", "app/joining.py"),
    PlanReader: ("app/planstream.py",),
    BatchStore: ("app/streamed.py", "app/group_sync.py"),
    ApplyStore: ("app/apply.py",),
}


def every_protocol() -> list[type]:
    return [
        value
        for value in vars(protocols).values()
        if isinstance(value, type) and value.__module__ == protocols.__name__
    ]


def own_members(protocol: type) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def members(protocol: type) -> set[str]:
    return set().union(
        *(own_members(c) for c in protocol.__mro__ if c.__module__ == protocols.__name__)
    )


def store_calls(module: str) -> set[str]:
    """The attributes a consumer module reads of the state (`store.x`, `self.store.x`)."""
    tree = ast.parse((SOURCE / module).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if (isinstance(owner, ast.Name) and owner.id == "store") or (
            isinstance(owner, ast.Attribute)
            and owner.attr in ("store", "_store")
            and isinstance(owner.value, ast.Name)
            and owner.value.id == "self"
        ):
            found.add(node.attr)
    return found


def shape(function: Callable[..., Any]) -> tuple[object, ...]:
    """A method's parameters (name, kind, default, type) and return type."""
    hints = typing.get_type_hints(function)
    parameters = list(inspect.signature(function).parameters.values())[1:]  # self
    return (
        tuple((p.name, p.kind, p.default, hints.get(p.name)) for p in parameters),
        hints.get("return"),
    )


def as_function(member: object) -> Callable[..., Any]:
    function = member.fget if isinstance(member, property) else member
    assert callable(function)
    return function


def test_every_protocol_is_listed_with_its_consumers() -> None:
    composites = {p for p in every_protocol() if not own_members(p)}
    assert set(every_protocol()) - composites == set(CONSUMERS)


@pytest.mark.parametrize("protocol", every_protocol(), ids=lambda p: p.__name__)
def test_a_store_is_each_protocol_method_for_method(protocol: type, tmp_path: Path) -> None:
    with Store.open(tmp_path / "state.db") as store:
        assert isinstance(store, protocol)
    for name in members(protocol):
        wanted = inspect.getattr_static(protocol, name)
        have = inspect.getattr_static(Store, name)
        assert isinstance(have, property) == isinstance(wanted, property), name
        assert shape(as_function(have)) == shape(as_function(wanted)), name


@pytest.mark.parametrize("protocol", list(CONSUMERS), ids=lambda p: p.__name__)
def test_each_protocol_asks_only_what_its_consumers_call(protocol: type) -> None:
    called = set().union(*(store_calls(module) for module in CONSUMERS[protocol]))
    assert own_members(protocol) <= called, own_members(protocol) - called


@pytest.mark.parametrize(
    "module", sorted({m for ms in CONSUMERS.values() for m in ms}), ids=lambda m: m
)
def test_each_consumer_calls_only_what_its_protocols_offer(module: str) -> None:
    offered = set().union(*(members(p) for p, ms in CONSUMERS.items() if module in ms))
    assert store_calls(module) <= offered, store_calls(module) - offered
