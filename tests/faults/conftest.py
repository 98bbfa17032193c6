"""The fault suite's size (reduced under `make test`, full under `make faults`, which sets
CAMPAIGNCTL_FAULTS=full) and the counts it prints at the end of the run.

The suite runs on several pytest-xdist workers: each worker hands its counts to the
controlling process when it finishes (xdist's `workeroutput`), which adds them up."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.tally import TALLY


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its counts go to the controller
        # plain dicts and numbers only: execnet cannot carry a Counter
        workeroutput["fault_tally"] = {
            name: dict(value) if isinstance(value, dict) else value
            for name, value in vars(TALLY).items()
        }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    counts = getattr(node, "workeroutput", {}).get("fault_tally")
    if counts:
        TALLY.merge(counts)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.runs and not TALLY.fuzzed and not TALLY.faults:
        return  # no fault test ran
    terminalreporter.section("fault injection")
    for line in TALLY.lines():
        terminalreporter.write_line(line)
