"""The dashboard's deployment files cannot be run here (no systemd, no container engine):
they are checked to run the command as it exists, read-only beside the controller, and never
reachable beyond the host without a token."""

from __future__ import annotations

import shlex

from click.testing import CliRunner

from campaignctl.cli.main import _register, cli
from campaignctl.dashboard.auth import is_loopback
from tests.cli.test_deploy import DEPLOY, compose

_register()


def _accepted(args: list[str]) -> None:
    """The command line parses: every option exists and takes what it is given."""
    command = cli.get_command(None, args[0])  # type: ignore[arg-type]
    assert command is not None, args
    context = command.make_context(args[0], args[1:], resilient_parsing=True)
    assert not context.args, context.args


def test_the_systemd_unit_serves_on_the_loopback_beside_the_controller() -> None:
    unit = (DEPLOY / "campaignctl-dashboard.service").read_text()
    (start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    args = shlex.split(start.split("=", 1)[1])
    assert args[0].endswith("/campaignctl") and args[1] == "dashboard"
    _accepted(args[1:])
    assert is_loopback(args[args.index("--host") + 1])
    assert "After=network-online.target campaignctl-reconcile.service" in unit
    reconcile = (DEPLOY / "campaignctl-reconcile.service").read_text()
    state = "Environment=CAMPAIGNCTL_STATE=/var/lib/campaignctl/state.db"
    assert state in unit and state in reconcile


def test_the_compose_service_asks_for_a_token_and_publishes_on_the_loopback() -> None:
    service = compose()["services"]["dashboard"]
    assert service["command"][0] == "dashboard"
    _accepted(service["command"])
    host = service["command"][service["command"].index("--host") + 1]
    assert not is_loopback(host)  # the container's address: the token is needed ...
    assert service["env_file"] == "dashboard.env"  # ... and comes from here, not Twilio's
    assert service["ports"] == ["127.0.0.1:8090:8090"]
    header = (DEPLOY / "compose.yaml").read_text()
    assert "CAMPAIGNCTL_DASHBOARD_TOKEN=%s" in header


def test_the_help_teaches_with_examples() -> None:
    shown = CliRunner().invoke(cli, ["dashboard", "--help"])
    assert shown.exit_code == 0
    assert "Examples:" in shown.output and "campaignctl dashboard --mask-numbers" in shown.output
