"""The controller as a real process forwarding replies to a real receiver: failures retried
with backoff, a SIGKILL in the middle of a forward, a restart. Every reply reaches the
receiver; the only one it gets twice is the one in flight at the kill, under the same
idempotency key and in the same signed bytes; the state records each one forwarded."""

from __future__ import annotations

from pathlib import Path

from campaignctl.store import Store
from campaignctl.store.inbound import InboundEvent
from tests.faults.world import NOW_AT, SENDER, campaign_repo, clean_env, phones, run, start
from tests.replies.receiver import Receiver, receiving, verify

SECRET = "crash-test-forward-secret"


def settings(forward_url: str) -> str:
    return (
        "apiVersion: campaignctl/v1\nkind: Settings\nmetadata:\n  name: settings\nspec:\n"
        f"  replies:\n    forwardUrl: {forward_url}\n"
    )


def add_replies(state: str, first: int, count: int) -> list[str]:
    """`count` replies from the campaign's numbers; their MessageSids."""
    sids = []
    with Store.open(state) as store:
        for n in range(first, first + count):
            sid = f"SM{n:032x}"
            number = phones(8)[n % 8]
            event = InboundEvent(sid, number, "reply", None, f"reply number {n}", SENDER)
            store.record_inbound(event, NOW_AT)
            sids.append(sid)
    return sids


def forwards(state: str) -> dict[str, tuple[bool, int]]:
    with Store.open(state) as store:
        return {r.message_sid: (r.forwarded_at is not None, r.forward_attempts)
                for r in store.replies()}  # fmt: skip


def test_a_kill_9_in_the_middle_of_a_forward_loses_and_doubles_nothing(
    tmp_path: Path, state: str
) -> None:
    repo = campaign_repo(tmp_path, 8, state=state)
    sids = add_replies(state, 0, 6)
    env = clean_env(CAMPAIGNCTL_FORWARD_SECRET=SECRET)
    args = ["reconcile", "--interval", "1h", "--no-watch"]
    # the first reply fails twice (backoff), then the fifth request is held: the kill
    with receiving(Receiver(failures=[500, 502], hold_at=5)) as receiver:
        repo.write("settings.yaml", settings(receiver.url))
        first = start(repo, args, env, "reconcile-1.log", state=state)
        try:
            assert receiver.held.wait(60), first.output()
        finally:
            assert first.kill(), first.output()
        assert forwards(state)[sids[1]] == (True, 1)  # accepted before the kill: kept
        assert forwards(state)[sids[2]] == (False, 0)  # in flight at the kill
        second = start(repo, args, env, "reconcile-2.log", state=state)
        try:
            assert receiver.wait_for(set(sids)), second.output()
            later = add_replies(state, 6, 2)  # arrive while it runs
            assert receiver.wait_for(set(sids + later)), second.output()
        finally:
            assert second.stop() == 0, second.output()
    received = receiver.keys()
    assert set(received) == set(sids + later)
    assert received[sids[0]] == 3  # 500, 502, accepted
    assert received[sids[2]] == 2  # held at the kill, sent again after the restart
    assert sum(received.values()) == len(sids + later) + 3
    for key in received:
        bodies = {r.body for r in receiver.received if r.key == key}
        assert len(bodies) == 1  # the same bytes at every attempt
    assert all(verify(SECRET, r.body, r.signature) for r in receiver.received)
    assert all(done for done, _attempts in forwards(state).values())
    assert forwards(state)[sids[0]] == (True, 3)
    assert "forward to" in first.output() and "failed (HTTP 500" in first.output()


def test_reconcile_once_forwards_what_is_due(tmp_path: Path) -> None:
    repo = campaign_repo(tmp_path, 2)
    state = str(repo.state)
    sids = add_replies(state, 0, 3)
    env = clean_env(CAMPAIGNCTL_FORWARD_SECRET=SECRET)
    with receiving(Receiver()) as receiver:
        repo.write("settings.yaml", settings(receiver.url))
        code, out, err = run(repo, ["reconcile", "--once"], env, "once.log")
    assert code == 0, out + err
    assert set(receiver.keys()) == set(sids)
    assert all(done for done, _attempts in forwards(state).values())
    # without the secret: kept, not forwarded, and said once
    more = add_replies(state, 3, 1)
    with receiving(Receiver()) as receiver:
        repo.write("settings.yaml", settings(receiver.url))
        code, out, err = run(repo, ["reconcile", "--once"], clean_env(), "unsigned.log")
    assert code == 0 and receiver.received == []
    assert forwards(state)[more[0]] == (False, 0)
    assert (out + err).count("CAMPAIGNCTL_FORWARD_SECRET is not") == 1
