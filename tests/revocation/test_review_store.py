"""The state's side of revocation (store/review.py), on SQLite and PostgreSQL: what each kind
of reply records, the review queue and its decisions, and what the planner then does with a
held number and a wrong number."""

from __future__ import annotations

from dataclasses import replace

import pytest

from campaignctl.core.planner import plan
from campaignctl.core.revocation import Verdict, classify
from campaignctl.core.types import Desired
from campaignctl.errors import StateError
from campaignctl.store import SendBlocked, Store
from campaignctl.store.review import ReplyHandled, record_classified_reply
from tests.store.helpers import (
    T0,
    active_campaign,
    contact,
    desired,
    group,
    later,
    launch,
    phone,
    send,
)

A, B, C = phone(1), phone(2), phone(3)


@pytest.fixture
def ready(store: Store) -> Store:
    """Two campaigns: c1 stops on a reply (the default), c2 does not; A and B in c1, C in c2."""
    store.add_credits(100, "seed", T0)
    active_campaign(store, "c1", "g1")
    store.ensure_campaign("c2", T0)
    store.set_campaign_status("c2", "active", None, T0, launch("g2", stop_on_reply=False))
    store.enroll_many("c1", [contact(A), contact(B)], T0)
    store.enroll_many("c2", [contact(C)], T0)
    return store


def as_launched(want: Desired) -> Desired:
    """The files as the campaigns of `ready` launched: its quiet hours, and c2 without
    stopOnReply (a plan refuses any other edit of a live campaign)."""
    hours = launch().quiet_hours
    campaigns = {
        name: replace(spec, quiet_hours=hours, stop_on_reply=name != "c2")
        for name, spec in want.campaigns.items()
    }
    return replace(want, campaigns=campaigns)


def reply(store: Store, number: str, text: str, at_days: float = 1) -> ReplyHandled:
    """Record a reply the way the webhook's transaction does."""
    with store._write(bump=False) as conn:
        return record_classified_reply(conn, number, text, classify(text), later(at_days))


def ends(store: Store, number: str) -> dict[str, str | None]:
    return {e.campaign: e.end_reason for e in store.enrollments_of(number)}


def test_a_revocation_in_other_words_opts_out_and_ends_everything(ready: Store) -> None:
    done = reply(ready, A, "Hi, please take me off your list. Thanks")
    assert done == ReplyHandled("opted_out", True, ("c1",))
    record = ready.optout_of(A)
    assert record is not None and record.source == "sms"
    assert record.note is not None and "take me off your list" in record.note
    assert ends(ready, A) == {"c1": "opted_out"}
    assert reply(ready, A, "STOP TEXTING ME").changed is False  # already opted out


def test_a_wrong_number_ends_it_and_is_kept(ready: Store) -> None:
    done = reply(ready, C, "Sorry, wrong number")
    assert done == ReplyHandled("wrong_number", True, ("c2",))  # stopOnReply off: ended anyway
    assert ends(ready, C) == {"c2": "wrong_number"}
    [wrong] = ready.wrong_numbers()
    assert (wrong.phone, wrong.text) == (C, "Sorry, wrong number")
    assert reply(ready, C, "wrong number!!").changed is False
    assert ready.optout_of(C) is None  # not an opt-out: nobody there consented


def test_a_reply_that_may_revoke_holds_the_number_once(ready: Store) -> None:
    assert reply(ready, A, "not interested") == ReplyHandled("review", True, ("c1",))
    assert reply(ready, C, "Who is this?") == ReplyHandled("review", True, ())  # c2 goes on
    assert reply(ready, A, "how did you get my number?", 2).changed is False  # held already
    holds = ready.review_holds()
    assert [(h.phone, h.text) for h in holds] == [(A, "not interested"), (C, "Who is this?")]
    assert holds[0].verdict.startswith("not-interested")
    assert ends(ready, C) == {"c2": None}


def test_an_ordinary_reply_ends_only_what_stops_on_reply(ready: Store) -> None:
    assert reply(ready, B, "sounds good, call me") == ReplyHandled("ended", False, ("c1",))
    assert reply(ready, C, "sounds good, call me") == ReplyHandled("kept", False, ())
    assert ready.review_holds() == [] and ready.optouts() == []


def test_decisions_keep_or_opt_out_with_a_reason(ready: Store) -> None:
    reply(ready, A, "not interested")
    reply(ready, C, "who is this")
    with pytest.raises(StateError, match="needs a reason"):
        ready.decide(A, "keep", " ", later(3))
    kept = ready.decide(C, "keep", "called back: wants listings", later(3))
    assert (kept.decision, kept.reason, kept.decided_at) == (
        "keep",
        "called back: wants listings",
        later(3),
    )
    out = ready.decide(A, "optout", "read as a revocation", later(3))
    assert out.decision == "optout"
    record = ready.optout_of(A)
    assert record is not None and record.note == "after review: read as a revocation"
    assert ready.review_holds() == []
    decided = [(h.phone, h.decision) for h in ready.review_holds(decided=True)]
    assert decided == [(A, "optout"), (C, "keep")]  # oldest hold first
    with pytest.raises(StateError, match="is not held for review"):
        ready.decide(A, "keep", "again", later(4))
    assert reply(ready, C, "not interested anymore", 5).changed is True  # held anew


def test_a_revocation_closes_an_open_hold(ready: Store) -> None:
    reply(ready, A, "who is this?")
    reply(ready, A, "stop texting me", 2)
    [hold] = ready.review_holds(decided=True)
    assert (hold.decision, hold.reason) == ("optout", "revoked by SMS")
    assert ready.review_holds() == []


def test_the_planner_holds_a_held_number_and_never_enrolls_a_wrong_one(ready: Store) -> None:
    """The snapshot carries both; a held number's due step waits (defer, replied), a wrong
    number's ends (skip) and it is not enrolled again, by any campaign."""
    reply(ready, C, "who's this?")
    reply(ready, B, "wrong number")
    D = phone(4)
    want = as_launched(desired({"g1": group("g1", [contact(A), contact(B), contact(D)], "d2"),
                                "g2": group("g2", [contact(C), contact(B)], "d2")},
                               {"c1": "g1", "c2": "g2"}))  # fmt: skip
    at = later(1, hours=4)  # 19:00 UTC: 11:00 in Los Angeles
    snapshot = ready.snapshot(want, at)
    assert snapshot.held == frozenset({C}) and snapshot.wrong_numbers == frozenset({B})
    actions = {(a.type, a.campaign, a.phone): a for a in plan(want, snapshot, at).actions}
    held = actions[("defer", "c2", C)]
    assert held.reason == "replied" and held.until is None
    assert "review" in (held.detail or "")
    assert actions[("skip", "c2", B)].reason == "wrong_number"  # never enrolled
    assert ("send", "c1", A) in actions and ("enroll", "c1", D) in actions
    assert not any(a.phone == B for a in actions.values() if a.type in ("send", "enroll"))
    ready.decide(C, "keep", "a neighbour, asked for listings", at)
    after = plan(want, ready.snapshot(want, at), at).actions
    assert any(a.type == "send" and a.phone == C for a in after)


def test_the_state_refuses_a_send_to_a_held_number(ready: Store) -> None:
    """The last line of defence, in the intent's own transaction: a reply that arrived
    after the plan was made still holds the send."""
    reply(ready, A, "no me interesa")
    with pytest.raises(SendBlocked) as blocked:
        send(ready, "c1", A, 1, later(1))
    assert blocked.value.reason == "held"
    ready.decide(A, "keep", "answered by phone", later(1))
    with pytest.raises(SendBlocked, match="enrollment ended"):  # the reply ended c1's sequence
        send(ready, "c1", A, 1, later(1))
    assert send(ready, "c2", C, 1, later(1)) > 0


def test_a_verdict_is_recorded_as_given(ready: Store) -> None:
    """record_classified_reply records the verdict it is handed (inbound.py classifies)."""
    with ready._write(bump=False) as conn:
        done = record_classified_reply(conn, B, "ok", Verdict("revoke", "ok", "test"), later(1))
    assert done.did == "opted_out"
    record = ready.optout_of(B)
    assert record is not None and record.note == "revoked in other words (test: 'ok')"
