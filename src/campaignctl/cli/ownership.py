"""A state belongs to one config directory (SPEC section 3): the check every command that
uses the state makes before it runs, and the record `apply` and `reconcile` make.

The first apply records the directory's name and resolved path in the state. A later
command run with a directory of another name is refused, naming both and the two ways on
(`--state` for a state of its own, `--adopt-dir` when it is the same configuration renamed).
Only the name is compared: CI plans against the live state from a checkout of its own path.
"""

from __future__ import annotations

from pathlib import Path

import click

from campaignctl.config.paths import display_path
from campaignctl.errors import CampaignctlError
from campaignctl.store import ConfigOwner, Store
from campaignctl.store.location import StateLocation

WITHOUT_STATE = frozenset(
    {"validate", "schema export", "template copy", "twilio-emulator", "state copy"}
)
"""Commands that never open the state the global options name (`state copy` names its
own). `webhooks serve` reads no config: it is checked only when given a directory."""

RECORDING = frozenset({"apply", "reconcile"})
"""Commands that carry a config directory out on the state: they record it (`apply` once
it has succeeded, so a refused apply leaves the state as it was; `reconcile` as it starts)."""

READING_CONFIG = frozenset({"plan", "apply", "reconcile", "explain"})
"""Commands that read the config directory, so they check it even when it is the default;
the others check it when --dir or CAMPAIGNCTL_DIR names one."""

NAMING_STATE = frozenset({"plan", "apply"})
"""Commands whose text output starts by naming the state they use."""


def directory_owner(directory: Path) -> ConfigOwner:
    resolved = directory.resolve()
    return ConfigOwner(resolved.name, str(resolved))


def refusal(state: StateLocation, owner: ConfigOwner, directory: Path) -> CampaignctlError:
    """The one line that refuses a state of another config directory."""
    mine = directory_owner(directory)
    own_state = " (--state naming another database)"
    if state.path is not None:
        own_state = f" (--state {display_path(state.path.parent / f'{mine.name}.db')})"
    return CampaignctlError(
        f"the state {state.shown} belongs to the config directory {owner.name} "
        f"({owner.path}), not to {mine.name} ({mine.path}): give {mine.name} a state of its "
        f"own{own_state}, or add --adopt-dir if {mine.name} is {owner.name} renamed"
    )


def _exists(state: StateLocation) -> bool:
    if state.path is not None:
        return state.path.exists()
    assert state.url is not None
    from campaignctl.store.postgres import has_state

    return has_state(state.url)


def check(
    command: str,
    directory: Path,
    state: StateLocation,
    *,
    dir_given: bool,
    adopt: bool,
) -> None:
    """Refuse `command` when the state belongs to a config directory of another name
    (unless `adopt`); `reconcile` records its directory as it starts. A state that does
    not exist yet is left alone."""
    if command in WITHOUT_STATE or not (dir_given or command in READING_CONFIG):
        return
    if command != "reconcile" and not _exists(state):
        return
    if command == "reconcile":
        record(directory, state)
        return
    with Store.open(state, create=False) as store:
        owner = store.config_owner()
    if owner is not None and owner.name != directory_owner(directory).name and not adopt:
        raise refusal(state, owner, directory)


def record(directory: Path, state: StateLocation, *, adopt: bool = False) -> None:
    """Record `directory` as the state's own when none is (or, with `adopt`, another is);
    refuse a state of another directory otherwise."""
    mine = directory_owner(directory)
    with Store.open(state) as store:
        owner = store.config_owner()
        if owner is not None and owner.name != mine.name and not adopt:
            raise refusal(state, owner, directory)
        if owner is None or owner.name != mine.name:
            store.record_config_owner(mine)


def after(command: str, directory: Path, state: StateLocation, *, adopt: bool) -> None:
    """Once a command has succeeded: `apply` records its directory."""
    if command == "apply":
        record(directory, state, adopt=adopt)


def announce(command: str, state: StateLocation, directory: Path) -> None:
    """The first line of `plan` and `apply` in text: the state they use."""
    if command in NAMING_STATE:
        click.echo(f"State: {state.shown} (config directory {display_path(directory)})")
