"""The YAML side of the generated repos: one campaign for the enrollment and tick benchmarks,
and 2,000 single-document files for the `validate` benchmark (one resource a file, so
check-jsonschema can read every file too)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

Row = tuple[str, str, str, str, str]

SENDER = "+15125550147"
CAMPAIGN = "spring-prospects"
GROUP = "prospects"
TEMPLATE = "prospect-followup"

_STEPS = """\
  steps:
    - body: "Hi {{ first_name }}, it's Sam at Acme Realty. Still looking for a home in {{ city }}? Reply STOP to opt out."
    - waitDays: 30
      body: "Hi {{ first_name | default('there') }}, new listings in {{ city }} this month. Reply STOP to opt out."
    - waitDays: 45
      body: "Hi {{ first_name | default('there') }}, rates moved this quarter: happy to run the numbers. Reply STOP to opt out."
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _document(kind: str, name: str, spec: str, labels: str = "") -> str:
    metadata = f"  name: {name}\n" + (f"  labels: {labels}\n" if labels else "")
    return f"apiVersion: campaignctl/v1\nkind: {kind}\nmetadata:\n{metadata}spec:\n{spec}"


def _campaign_spec(template: str, group: str, status: str, sender: str, rate: float) -> str:
    return (
        f"  template: {template}\n  prospectGroup: {group}\n  status: {status}\n"
        f'  sender:\n    from: "{sender}"\n    messagesPerSecond: {rate:g}\n'
        "  stopOnReply: true\n"
    )


def write_campaign_files(config_dir: Path, *, messages_per_second: float) -> None:
    """Settings, a published template, an active campaign and its group (CSV beside it)."""
    _write(
        config_dir / "settings.yaml",
        _document("Settings", "bench", "  creditsPerSegment: 1\n  reconcileInterval: 15m\n"),
    )
    _write(
        config_dir / "templates" / f"{TEMPLATE}.yaml",
        _document("Template", TEMPLATE, "  status: published\n" + _STEPS),
    )
    _write(
        config_dir / "campaigns" / f"{CAMPAIGN}.yaml",
        _document(
            "Campaign",
            CAMPAIGN,
            _campaign_spec(TEMPLATE, GROUP, "active", SENDER, messages_per_second),
        ),
    )
    _write(
        config_dir / "groups" / f"{GROUP}.yaml",
        _document("ProspectGroup", GROUP, f"  defaultRegion: US\n  csv: contacts/{GROUP}.csv\n"),
    )


def _inline_group(name: str, rows: list[Row]) -> str:
    lines = ["  defaultRegion: US", "  contacts:"]
    for first, last, phone, city, zone in rows:
        phones = ", ".join(f'"{p}"' for p in phone.split(";"))
        fields = f'{{first_name: "{first}", last_name: "{last}", city: "{city}"}}'
        lines.append(f"    - phones: [{phones}]")
        lines.append(f"      fields: {fields}")
        if zone:
            lines.append(f"      timezone: {zone}")
    return "\n".join(lines) + "\n"


def _take(rows: Iterator[Row], count: int) -> list[Row]:
    return [row for _, row in zip(range(count), rows, strict=False)]


def write_validate_files(
    config_dir: Path, rows: Iterator[Row], *, files: int, contacts: int
) -> list[Path]:
    """`files` YAML files: Settings, a DoNotCallList, and per group a campaign and its group;
    the rest templates (the campaigns' and spare ones, some still drafts)."""
    groups = (files - 2) // 4
    templates = files - 2 - 2 * groups
    per_group, extra = divmod(contacts, groups)
    written = [
        _write(config_dir / "settings.yaml", _document("Settings", "bench", "  reconcileInterval: 15m\n")),
        _write(
            config_dir / "dnc" / "do-not-call.yaml",
            _document("DoNotCallList", "internal", '  numbers: ["+14155550123", "+12125550199"]\n'),
        ),
    ]  # fmt: skip
    for index in range(templates):
        status = "draft" if index >= groups and index % 3 == 0 else "published"
        written.append(
            _write(
                config_dir / "templates" / f"t{index:04d}.yaml",
                _document(
                    "Template", f"t{index:04d}", f"  status: {status}\n" + _STEPS, "{team: east}"
                ),
            )
        )
    for index in range(groups):
        name = f"g{index:04d}"
        group_rows = _take(rows, per_group + (1 if index < extra else 0))
        if index % 2 == 0:
            spec = _inline_group(name, group_rows)
        else:
            csv_path = config_dir / "groups" / "contacts" / f"{name}.csv"
            csv_path.parent.mkdir(parents=True, exist_ok=True)
            with csv_path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(("first_name", "last_name", "phone", "city", "timezone"))
                writer.writerows(group_rows)
            spec = f"  defaultRegion: US\n  csv: contacts/{name}.csv\n"
        written.append(
            _write(config_dir / "groups" / f"{name}.yaml", _document("ProspectGroup", name, spec))
        )
        status = ("draft", "active", "paused")[index % 3]
        sender = f"+1512555{index:04d}"
        campaign = _campaign_spec(f"t{index:04d}", name, status, sender, 1)
        written.append(
            _write(config_dir / "campaigns" / f"c{index:04d}.yaml", _document("Campaign", f"c{index:04d}", campaign))
        )  # fmt: skip
    return written
