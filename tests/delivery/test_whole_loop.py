"""The whole loop through real processes: `campaignctl apply` sends through the emulator
(with scripted 5xx and throttling), the emulator calls `campaignctl webhooks serve` back,
an inbound STOP opts out; and the auth token appears in no output, log, state or plan."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaignctl.emulator import Fault, TwilioEmulator
from campaignctl.store import Store
from tests.delivery.cli import env_for, run, start_webhooks, twilio_env
from tests.delivery.helpers import ACCOUNT_SID, AUTH_TOKEN, SENDER, closed_port

NOW = "2026-03-02T20:00:00Z"  # noon in San Francisco: inside the window
ANA, BEN, CLEO = "+14155550100", "+14155550101", "+14155550102"

CONFIG = f"""\
apiVersion: campaignctl/v1
kind: Template
metadata: {{name: hello}}
spec:
  status: published
  steps:
    - body: "Hi {{{{ first_name }}}}, it's Sam at Acme Realty. Reply STOP to opt out."
---
apiVersion: campaignctl/v1
kind: ProspectGroup
metadata: {{name: people}}
spec:
  defaultRegion: US
  contacts:
    - {{phones: ["{ANA}"], fields: {{first_name: Ana}}, timezone: America/Los_Angeles}}
    - {{phones: ["{BEN}"], fields: {{first_name: Ben}}, timezone: America/Los_Angeles}}
    - {{phones: ["{CLEO}"], fields: {{first_name: Cleo}}, timezone: America/Los_Angeles}}
---
apiVersion: campaignctl/v1
kind: Campaign
metadata: {{name: spring}}
spec:
  template: hello
  prospectGroup: people
  status: active
  sender: {{from: "{SENDER}", messagesPerSecond: 1}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "campaigns.d").mkdir()
    (tmp_path / "campaigns.d" / "spring.yaml").write_text(CONFIG)
    result = run(["credits", "add", "100"], env_for(), tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_apply_callbacks_and_stop_with_no_token_anywhere(project: Path) -> None:
    outputs: list[str] = []
    port = closed_port()
    hooks_url = f"http://127.0.0.1:{port}"
    hooks, _ = start_webhooks(
        ["--port", str(port), "--public-url", hooks_url, "--now", NOW],
        env_for(TWILIO_AUTH_TOKEN=AUTH_TOKEN), project,
    )  # fmt: skip
    start = datetime.fromisoformat(NOW.replace("Z", "+00:00")).astimezone(UTC)
    try:
        with TwilioEmulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, now=start,
                            callback_url=hooks_url, delivery_delay=0.01) as emulator:  # fmt: skip
            emulator.add_fault(
                Fault(to=ANA, status=500, after_create=True),  # created, then a 500
                Fault(to=BEN, status=503),  # refused before creating: sent again
                Fault(to=CLEO, code=20429, times=2),  # throttled twice
            )
            env = twilio_env(emulator.url, CAMPAIGNCTL_PUBLIC_URL=hooks_url)
            plan = run(["plan", "--now", NOW, "--out", "plan.json"], env, project)
            applied = run(["apply", "plan.json", "--now", NOW, "--format", "json"], env, project)
            outputs += [plan.stdout, plan.stderr, applied.stdout, applied.stderr]
            assert applied.returncode == 0, applied.stderr
            assert emulator.wait_idle()
            sent = sorted(m["to"] for m in emulator.messages())
            assert sent == [ANA, BEN, CLEO]  # each exactly once
            assert {m["status"] for m in emulator.messages()} == {"delivered"}
            status, _text, _sid = emulator.send_inbound(ANA, SENDER, "Stop.")
            assert status == 200
            callbacks = emulator.callbacks()
            assert len(callbacks) == 6 and {c.get("http_status") for c in callbacks} == {200}

            wrong = "wrong-" + AUTH_TOKEN[::-1]
            (project / "campaigns.d" / "spring.yaml").write_text(
                CONFIG.replace("spring}", "autumn}").replace("people}", "people2}")
                .replace("prospectGroup: people", "prospectGroup: people2")
                .replace("+1415555", "+1415666"))  # fmt: skip
            refused = run(["apply", "--now", NOW, "--allow-empty"],
                          twilio_env(emulator.url, wrong), project)  # fmt: skip
            outputs += [refused.stdout, refused.stderr]
            assert "20003" in refused.stdout + refused.stderr
            assert refused.returncode == 3  # sending stopped early: nothing was sent
            assert wrong not in refused.stdout + refused.stderr
    finally:
        hooks.send_signal(signal.SIGTERM)
        out, err = hooks.communicate(timeout=15)
        outputs += [out, err]
    assert hooks.returncode == 0

    with Store.open(project / ".campaignctl" / "state.db") as store:
        optout = store.optout_of(ANA)
        attempts = {
            phone: [e.detail or "" for e in store.explain(phone) if e.kind == "attempt"]
            for phone in (ANA, BEN, CLEO)
        }
    assert optout is not None and optout.source == "sms"
    for phone, details in attempts.items():
        assert len(details) == 1 and "delivery delivered" in details[0], (phone, details)
    assert json.loads((project / "plan.json").read_text())["summary"]["send"] == 3

    files = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.name.startswith("state.db") for p in files)
    for text in outputs:
        assert AUTH_TOKEN not in text
    for path in files:
        assert AUTH_TOKEN.encode() not in path.read_bytes(), path
