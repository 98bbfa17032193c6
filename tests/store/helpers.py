"""Values and a real state file for the store and state-command tests."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import psycopg
from click.testing import CliRunner, Result

from campaignctl.core.types import (
    CampaignSpec,
    Contact,
    Desired,
    GroupSpec,
    LaunchRecord,
    QuietHours,
    Sender,
    Settings,
    Step,
    TemplateSpec,
)
from campaignctl.errors import Location
from campaignctl.store import Store

HERE = Location("test.yaml", 1, 1)
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SENDER = Sender(from_number="+15125550100")
STEPS = (Step("Hi {{ first_name }}, reply STOP to opt out."), Step("Still looking?", 30))


def phone(n: int) -> str:
    """A valid, distinct US number for each n (415 555 01xx, then other exchanges)."""
    return f"+1415{200 + n // 10000:03d}{n % 10000:04d}"


def contact(number: str, **fields: str) -> Contact:
    return Contact(
        phone=number,
        fields=fields or {"first_name": "Ana"},
        zones=("America/Los_Angeles",),
        us_state="CA",
        source=HERE,
    )


def launch(
    group: str = "g1", steps: tuple[Step, ...] = STEPS, stop_on_reply: bool = True
) -> LaunchRecord:
    return LaunchRecord(
        template="t1",
        prospect_group=group,
        steps=steps,
        sender=SENDER,
        quiet_hours=QuietHours(time(9, 0), time(20, 30)),
        stop_on_reply=stop_on_reply,
    )


def desired(groups: dict[str, GroupSpec], campaigns: dict[str, str]) -> Desired:
    """campaigns: campaign name -> group name."""
    return Desired(
        campaigns={
            name: CampaignSpec(
                name=name,
                template="t1",
                prospect_group=group,
                status="active",
                sender=SENDER,
                quiet_hours=QuietHours(),
                stop_on_reply=True,
                source=HERE,
            )
            for name, group in campaigns.items()
        },
        templates={"t1": TemplateSpec("t1", "published", STEPS, HERE)},
        groups=groups,
        dnc=frozenset(),
        settings=Settings(),
        config_digest="sha256:test",
    )


def group(
    name: str, contacts: Sequence[Contact], digest: str = "d1", loaded: bool = True
) -> GroupSpec:
    return GroupSpec(name=name, source=HERE, digest=digest, contacts=tuple(contacts), loaded=loaded)


def active_campaign(
    store: Store, name: str = "c1", group_name: str = "g1", now: datetime = T0
) -> None:
    store.ensure_campaign(name, now)
    store.set_campaign_status(name, "active", None, now, launch(group_name))


def send(
    store: Store, campaign: str, number: str, step: int, now: datetime, credits: int = 1
) -> int:
    return store.record_intent(
        campaign=campaign,
        phone=number,
        step=step,
        body=f"step {step}",
        segments=1,
        credits=credits,
        sender_key=SENDER.key,
        provider="outbox",
        now=now,
    )


def later(days: float = 0, **kw: float) -> datetime:
    return T0 + timedelta(days=days, **kw)


# ----------------------------------------------------------------------------- the CLI


def cli(state: Path, *args: str, now: datetime | None = T0) -> Result:
    """Invoke the real command group in-process (click's runner), on a real state file."""
    from campaignctl.cli.main import _register
    from campaignctl.cli.main import cli as group_command

    _register()
    argv = ["--state", str(state), *args]
    if now is not None:
        argv += ["--now", now.isoformat()]
    return CliRunner().invoke(group_command, argv)


def run(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m campaignctl` in a subprocess: real exit codes and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "campaignctl", "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def inserts_refused(backend: str, state: str, table: str, message: str) -> Iterator[None]:
    """While inside, the database itself refuses every insert into `table` (with
    `message`), as a full disk would refuse a write in the middle of a transaction."""
    if backend == "sqlite":
        other = sqlite3.connect(state)
        other.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {table}"
            f" BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
        other.commit()
        try:
            yield
        finally:
            other.execute("DROP TRIGGER refuse")
            other.commit()
            other.close()
        return
    with psycopg.connect(state, autocommit=True) as pg:
        pg.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        pg.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
        try:
            yield
        finally:
            pg.execute(f"DROP TRIGGER refuse ON {table}")
            pg.execute("DROP FUNCTION refuse()")
