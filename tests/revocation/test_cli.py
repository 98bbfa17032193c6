"""`campaignctl optout import/export` and `campaignctl replies review` through the real CLI
on a real state file (in-process for output, a subprocess for exit codes and stderr)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from campaignctl.core.keywords import classify
from campaignctl.store import Store
from campaignctl.store.inbound import InboundEvent
from tests.store.helpers import T0, active_campaign, cli, contact, later, phone, run

A, B, C = phone(1), phone(2), phone(3)

OWN = """\
number,time,source,note
(415) 200-0001,2026-01-05T10:00:00Z,sms,STOP by SMS
+14152000002,2026-01-06,web form,unsubscribed on the site
415.200.0003,,manual,
"""

TWILIO = """\
contact_id,correlation_id,sender_id,status,source,date_of_consent
+14152000001,ad388b5a46b33b874b0d41f7226db2ef,MG00000000000000000000000000000001,opt-out,opt-out-message,2025-02-28T10:05:27Z
+14152000002,02520cfa6c432f0e3ec3a38c122d428d,MG00000000000000000000000000000001,opt-in,website,2025-03-25
+14152000003,12520cfa6c432f0e3ec3a38c122d428d,+15125550100,opt-out,website,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def serial(state: Path) -> int:
    with Store.open(state) as store:
        return store.serial


def test_import_keeps_time_and_source_and_a_second_import_changes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with Store.open(state) as store:
        active_campaign(store)
        store.enroll_many("c1", [contact(A), contact(phone(9))], T0)
    path = write(tmp_path, "optouts.csv", OWN)
    first = cli(state, "optout", "import", str(path))
    assert first.exit_code == 0, first.output
    assert first.output.endswith(
        ": 3 opted out, 0 already opted out (1 live enrollment(s) ended).\n"
    )
    with Store.open(state) as store:
        records = {r.phone: r for r in store.optouts()}
        assert [e.end_reason for e in store.enrollments_of(A)] == ["opted_out"]
    assert records[A].at == datetime.fromisoformat("2026-01-05T10:00:00+00:00")
    assert (records[A].source, records[B].source, records[C].source) == ("sms", "manual", "manual")
    assert "source web form" in (records[B].note or "") and "optouts.csv:3" in (
        records[B].note or ""
    )
    assert records[C].at == T0  # no time in the file: the moment of the import
    before = serial(state)
    again = cli(state, "optout", "import", str(path), now=later(1))
    assert again.output.endswith(
        ": 0 opted out, 3 already opted out (0 live enrollment(s) ended).\n"
    )
    assert serial(state) == before
    with Store.open(state) as store:
        assert {r.phone: r for r in store.optouts()} == records


def test_twilio_consent_rows_import_their_opt_outs_only(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    path = write(tmp_path, "consents.csv", TWILIO)
    result = cli(state, "optout", "import", str(path), "--format", "json")
    document = json.loads(result.output)
    assert (document["added"], document["already_opted_out"]) == (2, 0)
    assert document["left_out"] == [
        {"where": f"{path}:3", "why": "an opt-in: an import never lifts an opt-out"}
    ]
    with Store.open(state) as store:
        assert {r.phone: r.source for r in store.optouts()} == {A: "sms", C: "manual"}


def test_bad_rows_are_reported_with_their_line_and_nothing_is_imported(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    path = write(tmp_path, "bad.csv", "number,time,source\n+14152000001,,sms\n555,,sms\n"
                 "+14152000002,yesterday,sms\n+14152000003,2026-01-01,sms\n")  # fmt: skip
    result = run(state, "optout", "import", str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{path}:3: error: '555' is not a phone number")
    assert lines[1].startswith(f"{path}:4: error: time: 'yesterday' is not an ISO 8601 instant")
    assert len(lines) == 2 and "Traceback" not in result.stderr
    assert not state.exists()
    missing = run(state, "optout", "import", str(tmp_path / "nowhere.csv"))
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1
    no_column = run(
        state, "optout", "import", str(write(tmp_path, "x.csv", "name,city\nAna,Austin\n"))
    )
    assert no_column.returncode == 1 and ":1: error: no number" in no_column.stderr


def test_export_is_read_back_by_import(tmp_path: Path) -> None:
    state, copy = tmp_path / "state.db", tmp_path / "copy.db"
    cli(state, "optout", "import", str(write(tmp_path, "optouts.csv", OWN)))
    cli(state, "optout", "add", "+14152000004", "--note", "asked by phone")
    exported = cli(state, "optout", "export").output
    assert exported.splitlines()[0] == "number,time,source,note"
    assert exported.splitlines()[1].startswith("+14152000001,2026-01-05T10:00:00Z,sms,")
    out = tmp_path / "out.csv"
    assert cli(state, "optout", "export", "--out", str(out)).exit_code == 0
    assert out.read_text() == exported
    assert cli(copy, "optout", "import", str(out)).exit_code == 0
    with Store.open(state) as first, Store.open(copy) as second:

        def rows(store: Store) -> list[tuple[str, datetime, str]]:
            return [(r.phone, r.at, r.source) for r in store.optouts()]

        assert rows(first) == rows(second) and len(rows(first)) == 4
    headerless = write(tmp_path, "bare.csv", "+14152000005,2026-02-01T00:00:00Z,sms\n")
    assert cli(copy, "optout", "import", str(headerless)).output.endswith(
        ": 1 opted out, 0 already opted out (0 live enrollment(s) ended).\n"
    )


def hold(state: Path, number: str, text: str) -> None:
    with Store.open(state) as store:
        meaning = classify(text)
        store.record_inbound(InboundEvent(f"SM{number}", number, meaning.kind, None, text), T0)


def test_replies_review_lists_and_decides(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    assert cli(state, "replies", "review").output == "Nothing is held for review.\n"
    hold(state, A, "not interested")
    hold(state, B, "¿Quién es?")
    listed = cli(state, "replies", "review").output
    assert A in listed and "'not interested'" in listed and "not-interested" in listed
    assert "2 number(s) held" in listed
    document = json.loads(cli(state, "replies", "review", "--format", "json").output)
    assert [h["phone"] for h in document["held"]] == [A, B]
    kept = cli(state, "replies", "review", "--keep", "(415) 200-0001", "--reason", "called back")
    assert kept.output.startswith(f"{A}: kept (called back); no longer held")
    out = cli(state, "replies", "review", "--optout", B, "--reason", "read as a revocation")
    assert out.output == f"{B}: opted out (read as a revocation); its live enrollments end.\n"
    assert cli(state, "replies", "review").output == "Nothing is held for review.\n"
    decided = json.loads(cli(state, "replies", "review", "--all", "--format", "json").output)
    assert [(h["phone"], h["decision"]) for h in decided["held"]] == [(A, "keep"), (B, "optout")]
    with Store.open(state) as store:
        assert store.optout_of(B) is not None and store.optout_of(A) is None


def test_replies_review_refuses_what_it_cannot_do_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    hold(state, A, "not interested")
    for args, message in [
        (["--keep", A], "needs --reason"),
        (["--keep", A, "--optout", A, "--reason", "x"], "not both"),
        (["--reason", "x"], "goes with --keep"),
        (["--keep", B, "--reason", "x"], "is not held for review"),
        (["--keep", "555", "--reason", "x"], "Invalid value for PHONE"),
    ]:
        result = run(state, "replies", "review", *args)
        assert result.returncode == 1, args
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    help_text = run(state, "replies", "review", "--help").stdout
    assert "campaignctl replies review --keep" in help_text
    assert "campaignctl optout import" in run(state, "optout", "import", "--help").stdout
