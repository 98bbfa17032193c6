"""Revocation through real processes and the real twilio SDK: `campaignctl apply` sends
through the emulator (one number answers 21610), the emulator delivers replies to
`campaignctl webhooks serve`: a STOP under Twilio's Advanced Opt-Out gets no second
confirmation from us, a revocation in other words opts out, a "who is this?" holds the
number, a "wrong number" ends it; and the next apply sends nothing more to any of them."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

from campaignctl.emulator import Fault, TwilioEmulator
from campaignctl.store import Store
from tests.delivery.cli import env_for, run, start_webhooks, twilio_env
from tests.delivery.helpers import ACCOUNT_SID, AUTH_TOKEN, SENDER, closed_port

NOW = "2026-03-02T20:00:00Z"  # noon in San Francisco
LATER = "2026-04-06T19:00:00Z"  # step 2 is due for everyone still enrolled
ANA, BEN, CLEO, DAN, EVA, FAY = (f"+1415555010{i}" for i in range(6))
PEOPLE = (ANA, BEN, CLEO, DAN, EVA, FAY)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

CONTACTS = "\n".join(
    f'    - {{phones: ["{p}"], fields: {{first_name: P{i}}}, timezone: America/Los_Angeles}}'
    for i, p in enumerate(PEOPLE)
)
CONFIG = f"""\
apiVersion: campaignctl/v1
kind: Template
metadata: {{name: hello}}
spec:
  status: published
  steps:
    - body: "Hi {{{{ first_name }}}}, it's Sam at Acme Realty. Reply STOP to opt out."
    - waitDays: 30
      body: "Hi {{{{ first_name }}}}, new listings this month. Reply STOP to opt out."
---
apiVersion: campaignctl/v1
kind: ProspectGroup
metadata: {{name: people}}
spec:
  defaultRegion: US
  contacts:
{CONTACTS}
---
apiVersion: campaignctl/v1
kind: Campaign
metadata: {{name: spring}}
spec:
  template: hello
  prospectGroup: people
  status: active
  stopOnReply: false
  sender: {{from: "{SENDER}", messagesPerSecond: 1}}
"""


def test_replies_through_the_webhooks_and_21610_stop_every_later_send(tmp_path: Path) -> None:
    (tmp_path / "campaigns.d").mkdir()
    (tmp_path / "campaigns.d" / "spring.yaml").write_text(CONFIG)
    assert run(["credits", "add", "100"], env_for(), tmp_path).returncode == 0
    port = closed_port()
    hooks_url = f"http://127.0.0.1:{port}"
    hooks, _ = start_webhooks(
        ["--port", str(port), "--public-url", hooks_url, "--now", NOW],
        env_for(TWILIO_AUTH_TOKEN=AUTH_TOKEN), tmp_path,
    )  # fmt: skip
    start = datetime.fromisoformat(NOW.replace("Z", "+00:00")).astimezone(UTC)
    try:
        with TwilioEmulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, now=start,
                            callback_url=hooks_url, delivery_delay=0.01) as emulator:  # fmt: skip
            emulator.add_fault(Fault(to=FAY, code=21610, times=None))  # opted out at Twilio
            env = twilio_env(emulator.url, CAMPAIGNCTL_PUBLIC_URL=hooks_url)
            first = run(["apply", "--now", NOW], env, tmp_path)
            assert first.returncode == 0, first.stderr
            assert emulator.wait_idle()
            assert sorted(m["to"] for m in emulator.messages()) == sorted(PEOPLE[:5])

            answers = {
                phone: emulator.send_inbound(phone, SENDER, body, opt_out_type=kind)
                for phone, body, kind in [
                    (ANA, "STOP", "STOP"),  # Twilio's Advanced Opt-Out confirmed it already
                    (BEN, "Please take me off your list, thanks", None),
                    (CLEO, "who is this?", None),
                    (DAN, "Sorry, wrong number", None),
                ]
            }
            for status, text, _sid in answers.values():
                assert (status, text) == (200, EMPTY_TWIML)  # no message of ours in reply
            assert emulator.wait_idle()
            sent_before = len(emulator.messages())

            emulator.set_now(datetime.fromisoformat(LATER.replace("Z", "+00:00")))
            second = run(["apply", "--now", LATER], env, tmp_path)
            assert second.returncode == 0, second.stderr
            assert emulator.wait_idle()
            new = [m["to"] for m in emulator.messages()][sent_before:]
            assert new == [EVA]  # step 2 to the only number nothing stopped
    finally:
        hooks.send_signal(signal.SIGTERM)
        hooks.communicate(timeout=15)
    assert hooks.returncode == 0

    with Store.open(tmp_path / ".campaignctl" / "state.db") as store:
        sources = {phone: getattr(store.optout_of(phone), "source", None) for phone in PEOPLE}
        ended = {e.phone: e.end_reason for p in PEOPLE for e in store.enrollments_of(p)}
        held = [hold.phone for hold in store.review_holds()]
        wrong = [w.phone for w in store.wrong_numbers()]
        fay_note = store.optout_of(FAY).note  # type: ignore[union-attr]
    assert sources == {ANA: "sms", BEN: "sms", CLEO: None, DAN: None, EVA: None,
                       FAY: "provider"}  # fmt: skip
    assert ended == {ANA: "opted_out", BEN: "opted_out", CLEO: None, DAN: "wrong_number",
                     EVA: None, FAY: "opted_out"}  # fmt: skip
    assert held == [CLEO] and wrong == [DAN]
    assert fay_note is not None and "21610" in fay_note
