"""The fault suite's size (reduced under `make test`, full under `make faults`, which sets
CAMPAIGNCTL_FAULTS=full) and the counts it prints at the end of the run."""

from __future__ import annotations

import pytest

from tests.faults.tally import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.runs and not TALLY.fuzzed and not TALLY.faults:
        return  # no fault test ran
    terminalreporter.section("fault injection")
    for line in TALLY.lines():
        terminalreporter.write_line(line)
