"""`campaignctl outbox`: what the outbox provider recorded, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.store.helpers import T0, active_campaign, cli, contact, later, phone, run, send

TEMPLATE = """\
apiVersion: campaignctl/v1
kind: Template
metadata: {name: hello}
spec:
  status: published
  steps:
    - body: "Hi {{ first_name }}, it's Sam. Reply STOP to opt out."
---
apiVersion: campaignctl/v1
kind: ProspectGroup
metadata: {name: people}
spec:
  defaultRegion: US
  contacts:
    - phones: ["(415) 555-0100"]
      fields: {first_name: Ana}
    - phones: ["+1 212 555 0199"]
      fields: {first_name: Ben}
---
apiVersion: campaignctl/v1
kind: Campaign
metadata: {name: hello-people}
spec:
  template: hello
  prospectGroup: people
  status: active
  sender: {from: "+15125550100"}
"""


def test_outbox_lists_recorded_messages(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.add_credits(10, None, T0)
        active_campaign(store, "c1")
        active_campaign(store, "c2", "g2")
        provider = OutboxProvider(store)
        for n, (campaign, minutes) in enumerate([("c1", 1), ("c2", 2), ("c1", 3)]):
            store.enroll_many(campaign, [contact(phone(n))], T0)
            attempt = store.attempt(send(store, campaign, phone(n), 1, later(minutes=minutes)))
            assert attempt is not None
            provider.send(attempt.message())
    lines = cli(path, "outbox").output.splitlines()
    assert lines[0].split() == ["TIME", "CAMPAIGN", "TO", "STEP", "BODY"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["2026-03-02T15:01:00Z", "c1", phone(0), "1"],
        ["2026-03-02T15:02:00Z", "c2", phone(1), "1"],
        ["2026-03-02T15:03:00Z", "c1", phone(2), "1"],
    ]
    document = json.loads(
        cli(path, "outbox", "--campaign", "c1", "--limit", "1", "--format", "json").output
    )
    [message] = document["messages"]
    assert (message["to"], message["from"], message["body"]) == (phone(2), "+15125550100", "step 1")


def test_an_apply_without_twilio_fills_the_outbox(tmp_path: Path) -> None:
    config = tmp_path / "campaigns.d"
    config.mkdir()
    (config / "all.yaml").write_text(TEMPLATE)
    state = tmp_path / "state.db"
    now = "2026-03-02T18:00:00Z"  # 13:00 in New York, 10:00 in San Francisco
    assert run(state, "credits", "add", "5", "--now", now).returncode == 0
    applied = run(state, "--dir", str(config), "apply", "--now", now)
    assert applied.returncode == 0, applied.stderr
    document = json.loads(run(state, "outbox", "--format", "json").stdout)
    sent = sorted((m["to"], m["body"]) for m in document["messages"])
    assert sent == [
        ("+12125550199", "Hi Ben, it's Sam. Reply STOP to opt out."),
        ("+14155550100", "Hi Ana, it's Sam. Reply STOP to opt out."),
    ]
    again = run(state, "--dir", str(config), "apply", "--now", "2026-03-02T18:15:00Z")
    assert again.returncode == 0
    assert len(json.loads(run(state, "outbox", "--format", "json").stdout)["messages"]) == 2
    assert "The outbox is empty." in run(tmp_path / "other.db", "outbox").stdout
