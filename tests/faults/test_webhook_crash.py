"""`campaignctl webhooks serve` out of disk, and killed with SIGKILL while it handles Twilio's
webhooks; then Twilio's retries are replayed.

What must hold: every STOP and every status callback is in the state exactly once (the opt-out
with one history row and the number's enrollments ended, the delivery status recorded and a
30005 ending the enrollment), whatever moment the disk filled up or the process died; and an
apply afterwards sends to no number after its STOP.

The world: a campaign whose first step went out through the local Twilio server; then the
contacts answer (STOP in its various dresses, replies, HELP), Twilio posts status callbacks,
and numbers not yet enrolled send STOP before the group grows to include them.
"""

from __future__ import annotations

import http.client
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tests.cli.repo import Repo
from tests.delivery.helpers import closed_port, post_signed
from tests.faults.system import fill, small_disk
from tests.faults.tally import TALLY, sized
from tests.faults.world import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    NOW,
    NOW_AT,
    SENDER,
    Process,
    campaign_repo,
    clean_env,
    emulator_at_noon,
    phones,
    run,
    twilio_env,
)

STOP_DRESSES = ["STOP", "stop", "Opt out", "ＳＴＯＰ", "Stop texting me please", "unsubscribe."]
ROLES = ["stop", "stop", "reply", "help", "delivered", "unreachable", "quiet"]
STEP_2_DUE = (NOW_AT + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    """One webhook as Twilio posts it, and the mark it leaves in webhook_events."""

    path: str  # with its query
    params: dict[str, str]
    key: str
    phone: str
    final: bool = True  # False: a "sent" that a later status may overtake (then ignored)


@dataclass(frozen=True)
class World:
    """The campaign repository after step 1 went out, and what its contacts do next."""

    repo: Repo
    enrolled: int  # numbers sent step 1 before the webhooks
    later: int  # numbers that join the group afterwards
    roles: dict[str, str]  # phone -> stop, reply, help, delivered, unreachable, quiet
    events: list[Event]


def build_world(root: Path, seed: int, enrolled: int, later: int) -> World:
    """Step 1 sent to `enrolled` numbers; then a role for each of them and of `later`
    numbers (mostly STOP: inbound events cost nothing to set up), and the events."""
    rng = random.Random(seed)
    repo = campaign_repo(root, enrolled, credits=4 * (enrolled + later))
    with emulator_at_noon() as emulator:
        code, _out, err = run(repo, ["apply"], twilio_env(emulator), "first-apply.log")
        assert code == 0, err
        assert emulator.wait_idle(10)
        sids = {m["to"]: m["sid"] for m in emulator.messages()}
    assert sorted(sids) == phones(enrolled)
    attempts = dict(_rows(repo.state, "SELECT phone, id FROM attempts"))
    roles = {phone: rng.choice(ROLES) for phone in phones(enrolled)}
    roles |= {p: rng.choice(["stop", "stop", "quiet"]) for p in phones(later, enrolled)}
    events: list[Event] = []
    for number, (phone, role) in enumerate(sorted(roles.items())):
        sid = f"SM{seed:08x}{number:024x}"
        if role in ("stop", "reply", "help"):
            body = {"reply": "Sounds good, call me", "help": "help"}.get(role)
            params = {"AccountSid": ACCOUNT_SID, "From": phone, "To": SENDER,
                      "Body": body or rng.choice(STOP_DRESSES), "MessageSid": sid}  # fmt: skip
            events.append(Event("/twilio/inbound", params, sid, phone))
        elif role in ("delivered", "unreachable"):
            message = sids[phone]
            path = "/twilio/status" + (f"?attempt={attempts[phone]}" if number % 2 else "")
            sent = {"MessageSid": message, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}
            events.append(Event(path, sent, f"{message}:sent", phone, final=False))
            final = {"MessageSid": message, "MessageStatus": "delivered"}
            if role == "unreachable":
                final = {
                    "MessageSid": message,
                    "MessageStatus": "undelivered",
                    "ErrorCode": "30005",
                }
            events.append(Event(path, final, f"{message}:{final['MessageStatus']}", phone))
    rng.shuffle(events)
    return World(repo, enrolled, later, roles, events)


def _rows(state: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# ------------------------------------------------------------------------------ the server


# Runs campaignctl with a profiler in the threads it starts (waitress's request handlers,
# not the start-up): SIGKILL on itself at the N-th SQL statement, just before it or just after.
KILL_AT_STATEMENT = """
import os, runpy, signal, sqlite3, sys, threading
target, moment = int(sys.argv[1]), sys.argv[2]
seen, lock = [0], threading.Lock()
def profile(frame, event, arg):
    if event == moment and getattr(arg, "__name__", "") in ("execute", "executemany") \\
            and isinstance(getattr(arg, "__self__", None), sqlite3.Connection):
        with lock:
            seen[0] += 1
            if seen[0] == target:
                os.kill(os.getpid(), signal.SIGKILL)
if target:
    threading.setprofile(profile)
sys.argv = ["campaignctl", *sys.argv[3:]]
runpy.run_module("campaignctl", run_name="__main__", alter_sys=True)
"""
KillAt = tuple[int, str]  # the N-th statement; "c_call": before it, "c_return": after it


@contextmanager
def serving(
    repo: Repo, log_name: str, logs: Path, kill_at: KillAt = (0, "")
) -> Iterator[tuple[Process, str]]:
    """`campaignctl webhooks serve` on the repo's state (killing itself at `kill_at`, if
    given); yields it and its URL once it answers, or once it has exited."""
    url = f"http://127.0.0.1:{closed_port()}"
    log_path = logs / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out, log_path.with_name(log_name + ".err").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", KILL_AT_STATEMENT, str(kill_at[0]), kill_at[1],
             "--state", str(repo.state), "--now", NOW, "webhooks", "serve",
             "--port", url.rsplit(":", 1)[1], "--public-url", url],
            stdout=out, stderr=err, env=clean_env(TWILIO_AUTH_TOKEN=AUTH_TOKEN),
        )  # fmt: skip
    TALLY.runs += 1
    process = Process(proc, log_path)
    deadline = time.monotonic() + 30
    while process.alive():
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.05)
    try:
        yield process, url
    finally:
        process.stop()


def post(url: str, event: Event) -> int | None:
    """Post one webhook, signed like Twilio; its HTTP status, or None without an answer."""
    try:
        return post_signed(url + event.path, event.params, token=AUTH_TOKEN)[0]
    except (OSError, http.client.HTTPException):
        return None


def replay(url: str, events: list[Event]) -> None:
    """Twilio's retries, once the server can work again: every event, each answered 200."""
    for event in events:
        assert post(url, event) == 200, event


# ------------------------------------------------------------------------------ the checks


def check_recorded(world: World) -> None:
    """Every STOP and status once, replies and HELP as they should be, nothing else."""
    state = world.repo.state
    history = {p: n for p, n in _rows(state, "SELECT phone, count(*) FROM optout_history"
                                             " WHERE action = 'add' GROUP BY phone")}  # fmt: skip
    optouts = dict(_rows(state, "SELECT phone, source FROM optouts"))
    ended = dict(_rows(state, "SELECT phone, coalesce(end_reason, status) FROM enrollments"))
    delivery = {p: (s, c) for p, s, c in _rows(state, "SELECT phone, delivery_status,"
                                                      " error_code FROM attempts")}  # fmt: skip
    keys = {str(k) for (k,) in _rows(state, "SELECT message_sid FROM webhook_events")}
    lost, twice = [], []
    for phone, role in world.roles.items():
        enrolled = phone in phones(world.enrolled)
        if role == "stop":
            if optouts.get(phone) != "sms" or (enrolled and ended.get(phone) != "opted_out"):
                lost.append(
                    f"{phone}: STOP not honoured ({optouts.get(phone)}, {ended.get(phone)})"
                )
            if history.get(phone, 0) > 1:
                twice.append(f"{phone}: {history[phone]} opt-outs recorded for one STOP")
            continue
        if phone in optouts:
            twice.append(f"{phone}: opted out, but it sent no STOP")
        want_end = {"reply": "replied", "unreachable": "provider_rejected"}.get(role, "live")
        want_delivery = {"delivered": ("delivered", None), "unreachable": ("undelivered", 30005)}
        if enrolled and ended.get(phone) != want_end:
            lost.append(f"{phone} ({role}): enrollment {ended.get(phone)}, want {want_end}")
        if role in want_delivery and delivery.get(phone) != want_delivery[role]:
            lost.append(f"{phone}: status {delivery.get(phone)}, want {want_delivery[role]}")
    expected = {e.key for e in world.events}
    lost += [f"{k}: not marked processed" for k in {e.key for e in world.events if e.final} - keys]
    twice += [f"{k}: marked, but no such event" for k in keys - expected]
    TALLY.losses += len(lost)
    TALLY.duplicates += len(twice)
    assert not lost and not twice, "\n".join(lost + twice)


def check_apply_after(world: World, logs: Path) -> None:
    """The group grows, step 2 comes due: an apply sends to every number still live or new,
    and to no number after its STOP (nor after a reply or a 30005)."""
    repo = world.repo
    everyone = phones(world.enrolled + world.later)
    repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(everyone)])
    with emulator_at_noon() as emulator:
        args = ["apply", "--now", STEP_2_DUE]
        code, _out, err = run(repo, args, twilio_env(emulator), "after.log", logs)
        assert code == 0, err
        assert emulator.wait_idle(10)
        sent = sorted(m["to"] for m in emulator.messages())
    want = sorted(p for p in everyone if world.roles[p] in ("help", "delivered", "quiet"))
    TALLY.messages_checked += len(everyone)
    stopped = [p for p in sent if world.roles[p] == "stop"]
    TALLY.duplicates += len(sent) - len(set(sent)) + len(stopped)
    TALLY.losses += len(set(want) - set(sent))
    assert not stopped, f"sent to numbers after their STOP: {stopped}"
    assert sent == want


# ------------------------------------------------------------------------------ a full disk


def test_a_full_disk_at_any_point_loses_no_stop_and_no_status(tmp_path: Path) -> None:
    """The disk fills up while the events are handled, at every level from none left to
    enough for all (a page at a time): an event is recorded whole or answered 500, and once
    the disk has room again Twilio's retries record every one exactly once."""
    base = build_world(tmp_path / "base", seed=7, enrolled=14, later=6)
    assert set(base.roles.values()) == set(ROLES)  # every kind of event is among them
    logs = tmp_path / "logs"
    room_for_all = measured_room(base, tmp_path / "measure", logs)
    # a page at a time up to what they took once; then twice that, which is room for all
    # whatever moment the checkpoint thread copies the log back at
    levels = [*range(0, room_for_all + 8192, 4096), 2 * room_for_all + 8192]
    if not sized(0, 1):  # reduced: none, all, and a seeded few between
        levels = sorted({0, levels[-1], *random.Random(3).sample(levels, min(6, len(levels)))})
    refused = []
    with small_disk(tmp_path / "disk", "8m") as disk:
        for number, room in enumerate(levels):
            world = copied(base, disk / f"level{number}")
            with serving(world.repo, f"full-{number}.log", logs) as (server, url):
                warm_up(url)  # the state opened (and its -shm made) before the disk fills
                filler = fill(disk, room)
                TALLY.fault("webhooks full disk")
                answers = [post(url, event) for event in world.events]
                assert set(answers) <= {200, 500}, answers
                refused.append(answers.count(500))
                filler.unlink()
                replay(url, world.events)
            assert server.proc.returncode == 0, server.output()
            assert "Traceback" not in server.output()
            check_recorded(world)
            shutil.rmtree(world.repo.root)
    TALLY.fault("webhook events answered 500 on a full disk", sum(refused))
    # the disk ran out before the first event, and part-way through the events
    assert refused[0] == len(base.events) and refused[-1] == 0, refused
    assert any(0 < count < len(base.events) for count in refused), refused


def measured_room(base: World, root: Path, logs: Path) -> int:
    """How many bytes of disk the events took once: what the state's files grew by (its
    write-ahead log, and the file itself, into which the store's checkpoint thread copies
    pages at moments of its own)."""
    world = copied(base, root)
    state = world.repo.state
    files = [state, state.with_name("state.db-wal")]
    with serving(world.repo, "measure.log", logs) as (_server, url):
        warm_up(url)
        before = sum(f.stat().st_size for f in files if f.exists())
        replay(url, world.events)
        grown = sum(f.stat().st_size for f in files if f.exists()) - before
    shutil.rmtree(root)
    return grown


def copied(world: World, root: Path) -> World:
    shutil.copytree(world.repo.root, root)
    return World(Repo(root), world.enrolled, world.later, world.roles, world.events)


def warm_up(url: str) -> None:
    """A status callback for a message nobody sent: opens the state, changes nothing."""
    unknown = Event("/twilio/status", {"MessageSid": "SM" + "0" * 32, "MessageStatus": "sent"},
                    "", "")  # fmt: skip
    assert post(url, unknown) == 200


# ------------------------------------------------------------------------------ kill -9


def test_kill_9_while_handling_webhooks_loses_no_stop_and_no_status(tmp_path: Path) -> None:
    """Clients post the events (and Twilio's retries of them) without pause to a server that
    SIGKILLs itself at a seeded random SQL statement of its handlers (before or after it: at
    every point between the writes of an event), or is killed after a seeded random delay if
    it gets no further; again and again on the same state. Then the retries of everything
    are replayed to a server left running."""
    kills = sized(5, 110)
    rng = random.Random(29)
    world = build_world(tmp_path / "repo", seed=29, enrolled=sized(30, 120), later=sized(90, 2000))
    logs = tmp_path / "logs"
    answered: set[str] = set()
    cut: list[Event] = []
    hits, runs = 0, 0
    while hits < kills:
        runs += 1
        assert runs <= 3 * kills, f"only {hits} of {runs} servers could be killed"
        kill_at = (rng.randint(1, 60), rng.choice(["c_call", "c_return"]))
        with serving(world.repo, f"serve-{runs}.log", logs, kill_at) as (server, url):
            with posting(url, world.events, answered, cut, rng.randrange(1 << 30)) as posted:
                posted.wait(5)  # the clients are under way
                pause(server, rng.uniform(1.0, 3.0))  # until it kills itself, at most this
                where = "at a statement" if not server.alive() else "after a delay"
                if server.kill():
                    hits += 1
                    TALLY.fault(f"webhooks serve killed {where}")
            output = server.stderr()
        assert "Traceback" not in output, output
    TALLY.fault("webhook requests cut off by kill -9", len(cut))
    with serving(world.repo, "replay.log", logs) as (server, url):
        replay(url, world.events)
    assert server.proc.returncode == 0, server.output()
    check_recorded(world)
    check_apply_after(world, logs)


def pause(server: Process, seconds: float) -> None:
    """Let the server run on for `seconds` (or until it exits)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.alive():
        time.sleep(0.005)


@contextmanager
def posting(
    url: str, events: list[Event], answered: set[str], cut: list[Event], seed: int
) -> Iterator[threading.Event]:
    """Three clients posting events without pause, those not yet answered 200 first (Twilio
    retries those), sometimes one already answered (a retry after a lost answer). Keys
    answered 200 go to `answered`, requests left without an answer to `cut`. Yields an
    event set once a request has been answered."""
    stop, first = threading.Event(), threading.Event()

    def client(number: int) -> None:
        rng = random.Random(seed + number)
        while not stop.is_set():
            waiting = [e for e in events if e.key not in answered]
            event = rng.choice(waiting if waiting and rng.random() < 0.8 else events)
            status = post(url, event)
            if status == 200:
                answered.add(event.key)
                first.set()
            elif status is None:
                cut.append(event)
                first.set()  # the server is gone
                time.sleep(0.01)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(3)]
    for thread in threads:
        thread.start()
    try:
        yield first
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
