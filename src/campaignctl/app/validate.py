"""Validation against the state: the edits to launched campaigns, checked as `plan` checks
them, read-only, so a pull request that changes a live campaign's sender or rewrites the
template it runs with fails in CI before anyone plans."""

from __future__ import annotations

from datetime import datetime

from campaignctl.core.lifecycle import edit_review
from campaignctl.core.types import Desired
from campaignctl.errors import Issue
from campaignctl.store.protocols import SnapshotReader


def live_edit_issues(desired: Desired, store: SnapshotReader, now: datetime) -> list[Issue]:
    """An error for each refused change to a campaign that has left draft (or to the
    template it runs with), at the line of the field."""
    snapshot = store.snapshot(desired, now, with_due=False)
    problems, _ = edit_review(desired, snapshot)
    return [Issue("error", p.message, p.location, "live_edit") for p in problems]
