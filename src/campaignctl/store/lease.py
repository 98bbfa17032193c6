"""The apply lease: one applier at a time, and a crashed one blocks for one TTL at most.

The lease is a single row (holder, token, expires_at). Taking it increments the token, a
fencing token: every write of an apply checks, in its own transaction, that the row still
holds its token, so a holder that stalled past its expiry and was taken over cannot write.
Lease times use the wall clock (injectable), never the `--now` time of the command.

A holder named `role:host:pid` (see `process_holder`) that ran on this host and whose process
is gone (killed, crashed) is taken over at once rather than after its TTL: a `kill -9` of an
apply must not make the next apply wait, or fail saying another apply is running. A live or
unknown process, or another host, still holds the lease until it expires.

A holder frozen in the middle of a write must not keep the others from taking over once its
lease expires: taking, resuming or renewing a lease of a given time to live limits this
store's stalls to a third of it (`Conn.limit_stalls`: on PostgreSQL the server ends a write
transaction left waiting on its client that long, and a lease write waits for another
writer no longer than that). The server does not end a session frozen in the middle of a
batch of statements (a pipeline, a COPY), or just after a pipeline (see store.postgres). A
process taking a lease that is free to take, kept waiting by such a writer through a whole
stall limit, ends that session itself (`Conn.end_stalled_writers`).
"""

from __future__ import annotations

import logging
import os
import socket
import time

from campaignctl.errors import StateError
from campaignctl.store.db import LeaseHeld, StoreBase, wall_text

POLL_SECONDS = 0.05

log = logging.getLogger("campaignctl.store")


class LeaseLost(StateError):
    """The lease this holder had is no longer its own (expired, or taken by another)."""


def process_holder(role: str) -> str:
    """A lease holder name that says which process holds it: `role:host:pid`."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


def holder_gone(holder: str) -> bool:
    """True when `holder` names a process of this host that no longer exists."""
    role, _, rest = holder.partition(":")
    host, _, pid_text = rest.rpartition(":")
    if not role or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # exists but belongs to someone else, or cannot tell
        return False
    return False


class LeaseMixin(StoreBase):
    def acquire_lease(
        self, holder: str, ttl_seconds: float = 60.0, wait_seconds: float = 0.0
    ) -> int:
        """Take the lease and return its fencing token (always greater than any before).

        Raises LeaseHeld, naming the holder and its expiry, when another holder keeps it for
        longer than wait_seconds. An expired lease is taken over.
        """
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        deadline = self._monotonic() + max(wait_seconds, 0.0)
        self._conn.limit_stalls(ttl_seconds / 3)
        while True:
            try:
                with self._write(bump=False, kind="lease") as conn:
                    current, token, expires_at = conn.execute(
                        "SELECT holder, token, expires_at FROM lease WHERE id = 1"
                    ).fetchone()
                    now = self._wall()
                    ours = self._lease_token is not None and token == self._lease_token
                    if current is None or expires_at <= now or ours or holder_gone(current):
                        new_token = token if ours else token + 1
                        conn.execute(
                            "UPDATE lease SET holder = ?, token = ?, expires_at = ?,"
                            " acquired_at = ? WHERE id = 1",
                            [holder, new_token, now + ttl_seconds, now],
                        )
                        self._lease_token = new_token
                        return int(new_token)
                held = (
                    f"{current}, lease until {wall_text(expires_at)}, "
                    f"{max(expires_at - now, 0):.0f}s from now"
                )
            except StateError as exc:
                if not self._conn.lease_wait_ended(exc.__cause__):
                    raise
                # another writer (a holder frozen in its transaction) kept the state longer
                # than the stall limit: the lease is not to be had yet, unless that writer
                # is a stalled holder of a lease that is free to take
                if self._end_stalled_writers():
                    continue
                held = "another process is in the middle of a write to the state"
            if self._monotonic() >= deadline:
                raise LeaseHeld(f"{self.where}: another apply is running ({held}); try again later")
            time.sleep(min(POLL_SECONDS, max(deadline - self._monotonic(), 0.0)))

    def _end_stalled_writers(self) -> int:
        """When the lease is free to take (expired, or its holder gone) but a writer kept
        the state through a whole stall limit: end the sessions that hold the state's writes
        while they wait on their client, as the server ends one left idle in its transaction
        (`Conn.end_stalled_writers`). How many were ended."""
        holder, _token, expires_at = self.current_lease()
        if holder is None:
            lease = "the lease was free"
        elif expires_at <= self._wall():
            lease = f"the lease of {holder} had expired"
        elif holder_gone(holder):
            lease = f"the process of {holder}, which held the lease, was gone"
        else:
            return 0
        ended = self._conn.end_stalled_writers()
        for session in ended:
            log.warning("%s: ended %s, stalled in a write while %s", self.where, session, lease)
        return len(ended)

    def renew_lease(self, token: int, ttl_seconds: float = 60.0) -> None:
        """Push the expiry on; raises LeaseLost when the lease is no longer ours."""
        self._conn.limit_stalls(ttl_seconds / 3)
        with self._write(bump=False, kind="lease") as conn:
            current, held_token = conn.execute(
                "SELECT holder, token FROM lease WHERE id = 1"
            ).fetchone()
            if current is None or held_token != token:
                raise LeaseLost(
                    f"{self.where}: lost the lease (token {token}); "
                    "another process took over after it expired"
                )
            conn.execute(
                "UPDATE lease SET expires_at = ? WHERE id = 1", [self._wall() + ttl_seconds]
            )

    def resume_lease(self, holder: str, token: int, ttl_seconds: float = 60.0) -> None:
        """Hold again, in this store, a lease `holder` took earlier with `token` (in another
        store of the same process: a controller leads across ticks, each on a fresh store).

        Raises LeaseLost when the lease has expired or another holder took it meanwhile:
        whoever held it then must take it anew, with a new token.
        """
        self._conn.limit_stalls(ttl_seconds / 3)
        with self._write(bump=False, kind="lease") as conn:
            current, held_token, expires_at = conn.execute(
                "SELECT holder, token, expires_at FROM lease WHERE id = 1"
            ).fetchone()
            now = self._wall()
            if current != holder or held_token != token or expires_at <= now:
                raise LeaseLost(
                    f"{self.where}: lost the lease (token {token}); "
                    + (f"now held by {current}" if current else "it is free")
                )
            conn.execute("UPDATE lease SET expires_at = ? WHERE id = 1", [now + ttl_seconds])
        self._lease_token = token

    def detach_lease(self) -> None:
        """Forget the lease this store holds without freeing it (another store of this
        process goes on holding it); closing the store then leaves it held."""
        self._lease_token = None

    def current_lease(self) -> tuple[str | None, int, float]:
        """Who holds the lease now (None: nobody), its token, and its expiry (wall seconds)."""
        with self._read() as conn:
            holder, token, expires_at = conn.execute(
                "SELECT holder, token, expires_at FROM lease WHERE id = 1"
            ).fetchone()
        return holder, int(token), float(expires_at)

    def release_lease(self, token: int) -> None:
        """Free the lease if it still holds this token (a no-op otherwise)."""
        with self._write(bump=False, kind="lease") as conn:
            conn.execute(
                "UPDATE lease SET holder = NULL, expires_at = 0 WHERE id = 1 AND token = ?",
                [token],
            )
        if self._lease_token == token:
            self._lease_token = None

    def _release_held_lease(self) -> None:
        if self._lease_token is not None:
            self.release_lease(self._lease_token)

    @property
    def lease_token(self) -> int | None:
        """The fencing token this store holds, if any."""
        return self._lease_token
