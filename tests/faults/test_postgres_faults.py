"""The fault suite on a PostgreSQL state: real `reconcile` processes on a real server (the
test's own cluster, tests/postgres.py), the local Twilio emulator, and the same audit as on
SQLite: every due message exactly once, the state agreeing with the provider.

- the leader killed with -9 in the middle of its sends, a standby taking over;
- the leader stalled (SIGSTOP) past its lease: waited out, it hands nothing more over;
- the server restarted under a running controller: it waits, reconnects and goes on;
- the controller's sessions cut (pg_terminate_backend) while a send is between its intent
  and its outcome: the next tick settles it by look-up;
- two webhook servers and a controller under concurrent load: every STOP recorded once, and
  honoured when it came before the number's send.
"""

from __future__ import annotations

import random
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from campaignctl.emulator import Fault, TwilioEmulator
from tests.cli.repo import Repo
from tests.delivery.helpers import closed_port, post_signed
from tests.faults.tally import TALLY, sized
from tests.faults.test_two_controllers import (
    audited,
    in_flight,
    leader_killed_standby_takes_over,
    leader_stalled_standby_takes_over,
    reaping,
    wait_until,
)
from tests.faults.world import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SENDER,
    Process,
    Script,
    campaign_repo,
    clean_env,
    emulator_at_noon,
    phones,
    start,
    twilio_env,
)
from tests.postgres import Server

SLOW = {"slow answer": lambda r: Fault(delay=r.uniform(0.05, 0.15))}


@pytest.fixture
def database(postgres_server: Server) -> Iterator[str]:
    """A fresh database holding the state's schema; its URL."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


def pending(url: str, after: int = 0) -> int:
    """Attempts between intent and outcome right now (of those whose id is above `after`)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM attempts WHERE status = 'pending' AND id > %s", [after]
        ).fetchone()
    return int(row[0]) if row else 0


def last_attempt(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM attempts").fetchone()
    return int(row[0]) if row else 0


def cut_sessions(url: str) -> int:
    """pg_terminate_backend of every other session on the database: the controller's."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(1 for (done,) in rows if done)


def controlling(
    repo: Repo, database: str, emulator: TwilioEmulator, rng: random.Random, total: int
) -> tuple[Script, Process]:
    """Every create answered slowly (so that faults fall among the sends), and a controller
    ticking every second; the scripted faults and the controller."""
    script = Script()
    script.plant(emulator, rng, "create", 1.0, SLOW, 3 * total)
    args = ["reconcile", "--interval", "1s"]
    return script, start(repo, args, twilio_env(emulator), "ctl.log", state=database)


def finish(
    controller: Process,
    emulator: TwilioEmulator,
    url: str,
    total: int,
    credits: int,
    script: Script,
) -> None:
    """Wait for every due message, stop the controller, and audit."""
    wait_until(
        lambda: len(emulator.messages()) >= total and not in_flight(url),
        f"all {total} sent and settled",
        90,
    )
    assert controller.stop() == 0, controller.stderr()
    assert "Traceback" not in controller.stderr(), controller.stderr()
    audited(emulator, script, url, total, credits)


def test_leader_killed_mid_tick_a_standby_takes_over(tmp_path: Path, database: str) -> None:
    leader_killed_standby_takes_over(tmp_path, database)


def test_a_stalled_leader_is_waited_out_and_hands_nothing_more_over(
    tmp_path: Path, database: str
) -> None:
    leader_stalled_standby_takes_over(tmp_path, database)


def test_the_server_restarted_under_a_running_controller(
    tmp_path: Path, database: str, postgres_server: Server
) -> None:
    if postgres_server.cluster is None:
        pytest.skip("the server is not one these tests started: it cannot be restarted")
    rng = random.Random(5)
    restarts, first, later = sized(1, 3), 30, 20
    total = first + (restarts - 1) * later
    credits = 2 * total
    repo = campaign_repo(tmp_path, first, credits, state=database)
    with emulator_at_noon() as emulator, reaping() as started:
        script, controller = controlling(repo, database, emulator, rng, total)
        started.append(controller)
        count = first
        for round_ in range(restarts):
            if round_:  # contacts keep coming, so each restart falls in the middle of sending
                count += later
                repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(count))])
            before = len(emulator.messages())
            wait_until(lambda n=before: len(emulator.messages()) >= n + 3, "sending", 30)
            postgres_server.restart()
            TALLY.fault("database restarted")
            wait_until(lambda n=count: len(emulator.messages()) >= n, "sending goes on", 60)
        assert controller.alive(), controller.stderr()
        finish(controller, emulator, database, total, credits, script)
    errors = [line for line in controller.stderr().splitlines() if " ERROR " in line]
    assert all("tick failed" in line for line in errors), errors


def test_sessions_cut_between_intent_and_outcome_are_settled_by_lookup(
    tmp_path: Path, database: str
) -> None:
    rng = random.Random(11)
    # enough contacts that every cut still finds sends to fall among: with the sender's calls
    # handed over concurrently, a cut's tick may have sent a dozen before the cut lands
    cuts, total = sized(3, 8), sized(60, 200)
    credits = 2 * total
    repo = campaign_repo(tmp_path, total, credits, state=database)
    with emulator_at_noon() as emulator, reaping() as started:
        script, controller = controlling(repo, database, emulator, rng, total)
        started.append(controller)
        for _ in range(cuts):
            before, seen = len(emulator.messages()), last_attempt(database)
            at = before + rng.randint(1, 4)  # the seeded moment: after that many more sends
            wait_until(lambda n=at: len(emulator.messages()) >= n, "sending", 30)
            # a send of the controller's session now between intent and outcome (not one the
            # last cut left pending: that session is gone until the next tick settles it)
            wait_until(
                lambda n=seen: pending(database, n) > 0, "a send between intent and outcome", 30
            )
            left = pending(database)
            assert cut_sessions(database) > 0
            TALLY.fault("session cut (pg_terminate_backend)")
            TALLY.left_in_flight += left
        finish(controller, emulator, database, total, credits, script)


# ------------------------------------------------------------------ webhooks under load


def serve_webhooks(repo: Repo, url: str, name: str) -> tuple[Process, str]:
    """`campaignctl webhooks serve` on the state at `url`; it and its URL, once it answers."""
    base = f"http://127.0.0.1:{closed_port()}"
    args = ["webhooks", "serve", "--port", base.rsplit(":", 1)[1], "--public-url", base]
    process = start(repo, args, clean_env(TWILIO_AUTH_TOKEN=AUTH_TOKEN), name, state=url)
    wait_until(lambda: answers(f"{base}/healthz") or not process.alive(), "serving", 30)
    assert process.alive(), process.output()
    return process, base


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def rows(url: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement.encode(), params).fetchall()


def test_two_webhook_servers_and_a_controller_every_stop_once_and_honoured(
    tmp_path: Path, database: str
) -> None:
    """While the controller sends, STOPs for a seeded third of the numbers are posted to
    both webhook servers at once (and again: Twilio's retries). Each is recorded once; a
    number that had no attempt yet when its STOP was answered is never sent to; every
    other number gets exactly one message."""
    rng = random.Random(17)
    total = sized(60, 240)
    repo = campaign_repo(tmp_path, total, 2 * total, state=database)
    stopping = sorted(rng.sample(phones(total), total // 3))
    order = rng.sample(stopping, len(stopping))
    never: set[str] = set()  # STOP answered before any attempt to the number
    with emulator_at_noon() as emulator, reaping() as started:
        servers = [serve_webhooks(repo, database, f"serve-{n}.log") for n in "ab"]
        script, controller = controlling(repo, database, emulator, rng, total)
        started += [controller, *(process for process, _url in servers)]
        wait_until(lambda: len(emulator.messages()) >= 3, "sending starts", 30)

        def stop_one(phone: str, number: int) -> None:
            params = {"AccountSid": ACCOUNT_SID, "From": phone, "To": SENDER,
                      "Body": "STOP", "MessageSid": f"SM{number:032x}"}  # fmt: skip
            posts = [
                threading.Thread(
                    target=lambda u=u: codes.append(
                        post_signed(f"{u}/twilio/inbound", params, token=AUTH_TOKEN)[0]
                    )
                )
                for _process, u in servers * 2
            ]
            codes: list[int] = []
            for thread in posts:
                thread.start()
            for thread in posts:
                thread.join(30)
            assert codes == [200] * len(posts), (phone, codes)
            if not rows(database, "SELECT id FROM attempts WHERE phone = %s", phone):
                never.add(phone)

        for number, phone in enumerate(order):
            stop_one(phone, number)
        TALLY.fault("STOPs posted to two webhook servers at once", len(order))
        rest = [p for p in phones(total) if p not in set(stopping)]
        wait_until(
            lambda: {m["to"] for m in emulator.messages()} >= set(rest) and not in_flight(database),
            "every number without a STOP sent and settled",
            90,
        )
        assert controller.stop() == 0, controller.stderr()
        for process, _url in servers:
            assert process.stop() == 0, process.stderr()
        assert emulator.wait_idle(10)
        script.settle(emulator)
        sent = [m["to"] for m in emulator.messages()]
    logs = "".join(p.stderr() for p in [controller, *(s for s, _ in servers)])
    assert "Traceback" not in logs, logs
    recorded = dict(rows(database, "SELECT phone, count(*) FROM optout_history"
                                   " WHERE action = 'add' GROUP BY phone"))  # fmt: skip
    events = rows(database, "SELECT message_sid, count(*) FROM webhook_events GROUP BY 1")
    twice = [p for p in sent if sent.count(p) > 1]
    after_stop = sorted(set(sent) & never)
    lost = sorted(set(rest) - set(sent))
    TALLY.messages_checked += total
    TALLY.duplicates += len(twice) + len(after_stop)
    TALLY.losses += len(lost)
    assert recorded == {p: 1 for p in stopping}, recorded
    assert sorted(n for _sid, n in events) == [1] * len(stopping), events
    assert not twice and not after_stop and not lost, (twice, after_stop, lost)
    assert never, "no STOP came before its number's turn: the scenario proved nothing"
