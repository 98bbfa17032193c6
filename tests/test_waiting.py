"""next_step: what happens now to the next message of each live enrollment of a number,
on a real configuration directory and a real state file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from campaignctl.app.waiting import Waiting, next_step
from campaignctl.core.instants import parse_instant
from campaignctl.providers.base import Outcome
from campaignctl.store import Store
from tests.cli.repo import TEMPLATE, Repo

NY, CHICAGO = "+12125550100", "+13125550101"  # the numbers of the standard group
NIGHT = "2026-03-02T05:00:00Z"  # midnight in New York
AFTERNOON = "2026-03-02T19:00:00Z"  # 14:00 in New York


def _at(text: str) -> datetime:
    return parse_instant(text)


def _enrolled(tmp_path: Path, credits: int = 10, at: str = NIGHT) -> Repo:
    """The standard repository, with `credits`, applied once at `at`."""
    repo = Repo(tmp_path).standard()
    if credits:
        assert repo.run("credits", "add", str(credits), now=at).exit_code == 0
    applied = repo.run("apply", now=at)
    assert applied.exit_code == 0, applied.output
    return repo


def _waits(repo: Repo, at: str, phone: str = NY) -> list[Waiting]:
    with Store.open(repo.state, create=False) as store:
        return next_step(repo.dir, store, phone, _at(at))


def test_an_opted_out_number_is_skipped_then_has_nothing_waiting(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    assert _waits(repo, AFTERNOON, "+14155550199") == []
    assert repo.run("optout", "add", NY, now=NIGHT).exit_code == 0
    [wait] = _waits(repo, AFTERNOON)
    assert (wait.what, wait.step, wait.reason) == ("skip", 1, "opted_out")
    assert repo.run("apply", now=AFTERNOON).exit_code == 0
    assert _waits(repo, AFTERNOON) == []


def test_an_attempt_in_flight_is_waited_for(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    with Store.open(repo.state) as store:
        attempt_id = store.record_intent(
            campaign="spring-buyers", phone=NY, step=1, body="Hi", segments=1, credits=1,
            sender_key="+15125550147", provider="outbox", now=_at(AFTERNOON),
        )  # fmt: skip
    [wait] = _waits(repo, "2026-03-02T19:05:00Z")
    assert (wait.what, wait.step) == ("in_flight", 1)
    assert wait.detail == f"attempt {attempt_id} is pending since 2026-03-02T19:00:00Z"
    with Store.open(repo.state) as store:
        store.record_outcome(attempt_id, Outcome("unknown"), _at(AFTERNOON), 30)
    [wait] = _waits(repo, "2026-03-02T19:05:00Z")
    assert wait.detail == f"attempt {attempt_id} is unknown since 2026-03-02T19:00:00Z"


def test_suspended_sending_holds_a_due_message(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    assert repo.run("suspend", "--reason", "wrong link", now=NIGHT).exit_code == 0
    [wait] = _waits(repo, AFTERNOON)
    assert (wait.what, wait.reason, wait.until, wait.detail) == (
        "defer", "suspended", None, "wrong link"
    )  # fmt: skip


def test_a_paused_campaign_holds_a_due_message(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    repo.campaign(status="paused")
    [wait] = _waits(repo, AFTERNOON)
    assert (wait.what, wait.reason, wait.detail) == (
        "defer", "campaign_paused", "campaign is paused"
    )  # fmt: skip


def test_a_balance_too_low_holds_a_due_message(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path, credits=0)
    [wait] = _waits(repo, AFTERNOON)
    assert (wait.what, wait.reason, wait.detail) == (
        "defer", "insufficient_credits", "costs 1, balance is 0"
    )  # fmt: skip


def test_a_message_to_a_number_messaged_lately_waits_30_days(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path, at=AFTERNOON)
    # a second campaign on the same number: at most one message to it in any 30 days
    repo.template("second-followup")
    repo.campaign("autumn", template="second-followup", group="autumn")
    repo.group("autumn", rows=[(NY, "Ana")])
    with Store.open(repo.state) as store:
        store.end_enrollment("spring-buyers", NY, "removed", _at(AFTERNOON))
    assert repo.run("apply", now="2026-03-03T19:00:00Z").exit_code == 0
    [wait] = _waits(repo, "2026-03-03T19:05:00Z")
    assert (wait.campaign, wait.what, wait.reason, wait.until) == (
        "autumn", "defer", "recent_outreach", _at("2026-04-01T19:00:00Z")
    )  # fmt: skip
    assert wait.local == {"America/New_York": "15:00"}


def test_a_campaign_no_longer_configured_sends_nothing(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    repo.campaign("autumn", status="draft")
    (repo.dir / "campaigns" / "spring-buyers.yaml").unlink()
    [wait] = _waits(repo, AFTERNOON)
    assert (wait.what, wait.step) == ("idle", 1)
    assert wait.detail == "its campaign is not in the configuration any more: it sends nothing"


def test_a_refused_plan_cannot_tell(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    edited = TEMPLATE.format(name="buyer-followup").replace("new listings", "fresh listings")
    repo.write("templates/buyer-followup.yaml", edited)
    [wait] = _waits(repo, AFTERNOON)
    assert wait.what == "unknown"
    assert wait.detail is not None and wait.detail.startswith("cannot tell: the planner refuses: ")
    assert "\n" not in wait.detail


def test_a_later_step_is_told_without_the_configuration(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path, at=AFTERNOON)
    repo.write("campaigns/broken.yaml", "kind: [\n")
    [wait] = _waits(repo, "2026-03-10T12:00:00Z")
    assert (wait.what, wait.step, wait.until, wait.detail) == (
        "scheduled", 2, _at("2026-04-01T19:00:00Z"), "30 days after step 1 was sent"
    )  # fmt: skip


def test_a_changed_group_is_noted(tmp_path: Path) -> None:
    repo = _enrolled(tmp_path)
    repo.group(rows=[(NY, "Ana"), (CHICAGO, "Bo"), ("+14155550102", "Cy")])
    [wait] = _waits(repo, AFTERNOON)
    assert wait.what == "send"
    assert wait.note == (
        "group 'open-house' changed since the last apply, which syncs it first: "
        "a number no longer in it is ended instead"
    )
    [unchanged] = _waits(repo, AFTERNOON, CHICAGO)
    assert unchanged.note == wait.note  # the same group: every number of it
