"""requireConsent on the real state and executor (tests/planner/world.py): a contact without
a consent record is never enrolled, one that gains a record later is, and a live enrollment
made before the setting was turned on sends nothing more."""

from __future__ import annotations

from campaignctl.core.types import Desired, Settings
from tests.planner.world import World, at, campaign, contact, desired, group, template

NEW_YORK = ("America/New_York",)
ANA, BO = "+12125550100", "+12125550101"
CONSENT = {"consentSource": "open-house sign-in sheet", "consentAt": "2026-03-01T00:00:00Z"}


def _desired(require: bool, bo_consents: bool = False) -> Desired:
    people = [
        contact(ANA, NEW_YORK, "NY", first_name="Ana", **CONSENT),
        contact(BO, NEW_YORK, "NY", first_name="Bo", **(CONSENT if bo_consents else {})),
    ]
    return desired(
        [campaign("spring", "t", "g")],
        [template("t", ["Hi {{ first_name }}. Reply STOP to opt out.", "Still looking?"], [0, 30])],
        [group("g", people)],
        settings=Settings(require_consent=require),
    )


def test_a_contact_without_consent_is_skipped_until_its_record_is_added() -> None:
    world = World(balance=100)
    plan = world.tick(_desired(True), at("2026-03-02T15:00:00Z"))
    skipped = [(a.phone, a.reason) for a in plan.actions if a.type == "skip"]
    assert skipped == [(BO, "no_consent")]
    assert [s.phone for s in world.log] == [ANA]
    world.tick(_desired(True, bo_consents=True), at("2026-03-03T15:00:00Z"))
    assert [s.phone for s in world.log] == [ANA, BO]


def test_a_live_enrollment_without_consent_sends_nothing_once_it_is_required() -> None:
    world = World(balance=100)
    world.tick(_desired(False), at("2026-03-02T15:00:00Z"))
    assert sorted(s.phone for s in world.log) == [ANA, BO]
    # the group is unchanged (nothing to enroll): the rule holds at the send
    plan = world.tick(_desired(True), at("2026-04-01T15:00:00Z"))
    assert [(s.phone, s.step) for s in world.log if s.step == 2] == [(ANA, 2)]
    assert [(a.phone, a.step, a.reason) for a in plan.actions if a.type == "skip"] == [
        (BO, 2, "no_consent")
    ]
    assert world.ended == {("spring", BO): "no_consent"}
