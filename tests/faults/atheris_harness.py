"""Coverage-guided fuzzing with atheris (libFuzzer), where it is installed:

    python -m tests.faults.atheris_harness yaml|csv|webhook CORPUS_DIR -runs=2000 -seed=1

Each input becomes a resource file, a group CSV, or a signed webhook body, and goes through
campaignctl's own entry points (`validate` and `plan` through the CLI's main, the webhook
WSGI application). An input that makes them raise anything but the CLI's clean exit 0/1, or
answer 500, is a crash: atheris prints it, saves it, and exits non-zero.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["campaignctl"]):
    from campaignctl.cli.main import _register
    from campaignctl.cli.main import main as cli_main

    _register()  # the commands, and what they import, instrumented too
    from campaignctl.clock import FrozenClock
    from campaignctl.core.instants import parse_instant
    from campaignctl.store import Store
    from campaignctl.webhooks.app import WebhookApp

NOW = "2026-03-02T17:00:00Z"
TOKEN = "atheris-token"
PUBLIC = "https://hooks.example.com"
SENT_SID = "SM" + "0" * 32

TEMPLATE = """\
apiVersion: campaignctl/v1
kind: Template
metadata:
  name: hello
spec:
  status: published
  steps:
    - body: "Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out."
"""
GROUP = """\
apiVersion: campaignctl/v1
kind: ProspectGroup
metadata:
  name: people
spec:
  defaultRegion: US
  csv: people.csv
"""
CAMPAIGN = """\
apiVersion: campaignctl/v1
kind: Campaign
metadata:
  name: spring
spec:
  template: hello
  prospectGroup: people
  status: active
  sender: {from: "+15125550147", messagesPerSecond: 1}
"""
CSV = "phone,first_name\n+12125550100,Ana\n(212) 555-0101,Bo\n"
SEEDS = {
    "yaml": TEMPLATE.encode(),
    "csv": CSV.encode(),
    "webhook": b"\x01From=%2B12125550100&Body=STOP&MessageSid=SM1",
    "callback": b"\xc1MessageSid="
    + SENT_SID.encode()
    + b"&MessageStatus=undelivered&ErrorCode=30005",
}


def cli_target(target: str) -> Callable[[bytes], None]:
    root = Path(tempfile.mkdtemp(prefix="campaignctl-atheris-"))
    config = root / "campaigns.d"
    config.mkdir()
    (config / "template.yaml").write_text(TEMPLATE)
    (config / "group.yaml").write_text(GROUP)
    (config / "campaign.yaml").write_text(CAMPAIGN)
    (config / "people.csv").write_text(CSV)
    fuzzed = config / ("template.yaml" if target == "yaml" else "people.csv")
    base = ["--dir", str(config), "--state", str(root / "state.db"), "--now", NOW]

    def one_input(data: bytes) -> None:
        fuzzed.write_bytes(data)
        for command in ("validate", "plan"):
            sink = io.StringIO()
            try:
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    cli_main([*base, command])
            except SystemExit as exc:
                if exc.code not in (0, 1, None):
                    raise RuntimeError(f"{command} exited {exc.code}: {sink.getvalue()}") from exc

    return one_input


def webhook_target() -> Callable[[bytes], None]:
    from urllib.parse import parse_qs

    from twilio.request_validator import RequestValidator

    from campaignctl.providers.base import Outcome
    from campaignctl.webhooks.app import Form
    from tests.delivery.helpers import enroll, record_attempt

    root = Path(tempfile.mkdtemp(prefix="campaignctl-atheris-"))
    with Store.open(root / "state.db") as store:  # a number enrolled, a message sent to it
        enroll(store, "spring", ["+12125550100"])
        attempt = record_attempt(store, "spring", "+12125550100")
        store.record_outcome(attempt, Outcome("sent", provider_id=SENT_SID), parse_instant(NOW), 30)
    app = WebhookApp(root / "state.db", TOKEN, PUBLIC, FrozenClock(parse_instant(NOW)))
    validator = RequestValidator(TOKEN)

    def one_input(data: bytes) -> None:
        head, data = data[:1] or b"\0", data[1:]  # the first byte picks the endpoint
        path = "/twilio/inbound" if head < b"\x80" else "/twilio/status"
        query = f"attempt={head[0] - 0xC0}" if head > b"\xc0" else ""
        form = Form()
        for name, values in parse_qs(
            data.decode("utf-8", "replace"), keep_blank_values=True
        ).items():
            form[name] = values
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "HTTP_X_TWILIO_SIGNATURE": validator.compute_signature(
                PUBLIC + path + (f"?{query}" if query else ""), form
            ),
        }
        answered: list[str] = []
        app(environ, lambda status, headers, exc_info=None: answered.append(status))  # type: ignore[arg-type,misc]
        if answered[0].startswith("500"):
            raise RuntimeError(f"{path} answered {answered[0]} to {data!r}")

    return one_input


def main() -> None:
    target = sys.argv.pop(1)
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else None
    if corpus is not None and not any(corpus.iterdir()):
        for name, seed in SEEDS.items():
            if name == target or (target == "webhook" and name == "callback"):
                (corpus / name).write_bytes(seed)
    one_input = webhook_target() if target == "webhook" else cli_target(target)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
