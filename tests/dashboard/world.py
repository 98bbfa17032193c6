"""A state the dashboard tests look at, built the way a real one is: `credits add` and
`apply` through the real CLI (outbox provider), and Twilio's callbacks through the real
webhook application (signed): a STOP, a reply, deliveries and a failed delivery.

    spring-buyers    10 numbers: one on the do-not-call list (never enrolled); 9 sent
                     step 1; then 0100 texts STOP (opted out), 0101 replies (ended
                     replied), 0102-0105 are reported delivered, 0106 undelivered (30003)
    summer-sellers   2 numbers: 0100 is held by spring-buyers (skipped already_enrolled);
                     0150 is sent step 1
"""

from __future__ import annotations

import io
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from click.testing import CliRunner
from twilio.request_validator import RequestValidator

from campaignctl.cli.main import cli
from campaignctl.clock import FrozenClock
from campaignctl.store import Store
from campaignctl.webhooks.app import WebhookApp
from tests.cli.repo import CAMPAIGN, Repo

NOON = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 12:00 in New York: everyone may be texted
LATER = NOON + timedelta(days=1)  # what the dashboard tests look from
HOOKS_TOKEN = "hooks-" + secrets.token_hex(8)
PUBLIC = "https://hooks.example.com"
SPRING = [f"+1212555{n:04d}" for n in range(100, 110)]
DNC = SPRING[-1]
SUMMER = [SPRING[0], "+13125550150"]
CREDITS = 50


@dataclass(frozen=True)
class World:
    repo: Repo
    state: str  # the --state value: a file path or a postgresql:// URL

    def run(self, *args: str, now: datetime = LATER) -> str:
        """The CLI in this process; its output (exit 0 asserted)."""
        base = ["--dir", str(self.repo.dir), "--state", self.state, "--now", _iso(now)]
        result = CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def json(self, *args: str, now: datetime = LATER) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.run(*args, "--format", "json", now=now))
        return data

    def status(self) -> dict[str, dict[str, Any]]:
        """`status --status all --format json`, by campaign; and the balance under ''."""
        data = self.json("status", "--status", "all")
        found: dict[str, dict[str, Any]] = {c["name"]: c for c in data["campaigns"]}
        found[""] = {"balance": data["balance"]}
        return found


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def webhook(app: WebhookApp, path: str, params: dict[str, str]) -> int:
    """One of Twilio's callbacks, signed as Twilio signs it, through the WSGI app."""
    body = urlencode(params).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_TWILIO_SIGNATURE": RequestValidator(HOOKS_TOKEN).compute_signature(
            PUBLIC + path, params
        ),
    }
    setup_testing_defaults(environ)
    answered: list[str] = []
    app(environ, lambda status, headers, exc_info=None: answered.append(status))  # type: ignore[arg-type, return-value]
    return int(answered[0].split()[0])


def _message_ids(state: str) -> dict[str, str]:
    """The outbox message id of each number's step 1, as the provider gave it."""
    with Store.open(state, create=False) as store:
        return {record.to: record.id for record in store.outbox()}


def build(repo: Repo, state: str) -> World:
    """Write the repository and make the state (see the module)."""
    repo.template()
    repo.group(rows=[(phone, "Ana") for phone in SPRING])
    repo.campaign()
    repo.group("summer-list", rows=[(phone, "Bo") for phone in SUMMER])
    repo.write(
        "campaigns/summer-sellers.yaml",
        CAMPAIGN.format(name="summer-sellers", template="buyer-followup", group="summer-list",
                        status="active", sender="+15125550148", mps=1),
    )  # fmt: skip
    repo.dnc([DNC])
    world = World(repo, state)
    world.run("credits", "add", str(CREDITS), now=NOON - timedelta(days=1))
    world.run("apply", now=NOON)
    hooks = WebhookApp(state, HOOKS_TOKEN, PUBLIC, FrozenClock(NOON + timedelta(hours=1)))
    try:
        sent = _message_ids(state)
        for phone, body in ((SPRING[0], "STOP"), (SPRING[1], "Sounds good, thanks")):
            params = {"From": phone, "To": "+15125550147", "Body": body,
                      "MessageSid": "SM" + secrets.token_hex(16)}  # fmt: skip
            assert webhook(hooks, "/twilio/inbound", params) == 200
        for phone in SPRING[2:6]:
            params = {"MessageSid": sent[phone], "MessageStatus": "delivered"}
            assert webhook(hooks, "/twilio/status", params) == 200
        params = {"MessageSid": sent[SPRING[6]], "MessageStatus": "undelivered",
                  "ErrorCode": "30003"}  # fmt: skip
        assert webhook(hooks, "/twilio/status", params) == 200
    finally:
        hooks.close()
    return world
