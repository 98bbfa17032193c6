"""Which config directory a state belongs to: its name and resolved path, kept in `meta`.

Two sibling directories (`--dir teamA`, `--dir teamB`) would otherwise share the state
beside them, and each apply would end the other's enrollments as removed. The name is what
is compared: a checkout moved or cloned elsewhere (CI planning against the live state from
its own path) keeps its directory's name, while another team's directory has another.
"""

from __future__ import annotations

from typing import NamedTuple

from campaignctl.store.db import StoreBase


class ConfigOwner(NamedTuple):
    """The config directory a state belongs to: its name, and its path when recorded."""

    name: str
    path: str


class OwnerMixin(StoreBase):
    def config_owner(self) -> ConfigOwner | None:
        """The config directory recorded by the first apply, or None (never applied)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT config_dir_name, config_dir_path FROM meta WHERE id = 1"
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return ConfigOwner(str(row[0]), str(row[1] or ""))

    def record_config_owner(self, owner: ConfigOwner) -> None:
        """Record the config directory this state belongs to. The serial stays: a plan
        saved before is still exactly current."""
        with self._write(bump=False) as conn:
            conn.execute(
                "UPDATE meta SET config_dir_name = ?, config_dir_path = ? WHERE id = 1",
                [owner.name, owner.path],
            )
