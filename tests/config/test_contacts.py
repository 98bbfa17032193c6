"""Contacts from CSV files and inline YAML: columns, lines, zones, digests, skipping."""

from __future__ import annotations

from pathlib import Path

from campaignctl.config import load
from tests.config.helpers import found, load_repo, make_repo, messages, write

CSV_GROUP = """\
apiVersion: campaignctl/v1
kind: ProspectGroup
metadata:
  name: leads
spec:
  csv: contacts/leads.csv
"""
CSV = "campaigns.d/groups/contacts/leads.csv"


def with_csv(root: Path, csv: str | bytes, group: str = CSV_GROUP):  # type: ignore[no-untyped-def]
    return load_repo(root, {"groups/leads.yaml": group, "groups/contacts/leads.csv": csv})


def test_phone_column_with_several_numbers_and_fields(root: Path) -> None:
    result = with_csv(
        root,
        "first_name,phone,city\nAna,(415) 555-0100; +1 212 555 0199,Austin\nBen,512-555-0104,\n",
    )
    assert result.desired is not None
    group = result.desired.groups["leads"]
    assert [(c.phone, c.source.line) for c in group.contacts] == [
        ("+14155550100", 2),
        ("+12125550199", 2),
        ("+15125550104", 3),
    ]
    assert group.contacts[0].fields == {"first_name": "Ana", "city": "Austin"}
    assert group.contacts[0].zones == ("America/Los_Angeles",)
    assert group.contacts[0].us_state == "CA"
    assert group.field_names == {"first_name", "city"}
    assert str(group.contacts[2].source) == f"{CSV}:3:1"


def test_numbered_phone_columns_and_explicit_timezone(root: Path) -> None:
    result = with_csv(
        root,
        "first_name,phone1,phone2,timezone\nVik,(800) 555-0199,,America/Denver\n"
        "Ana,208-555-0100,,\n",
    )
    assert result.desired is not None
    contacts = result.desired.groups["leads"].contacts
    assert contacts[0].zones == ("America/Denver",)
    assert contacts[1].zones == ("America/Boise", "America/Los_Angeles")
    assert result.desired.groups["leads"].field_names == {"first_name"}


def test_invalid_number_is_a_warning_at_its_csv_line(root: Path) -> None:
    result = with_csv(root, "first_name,phone\nAna,415-555-0100\nXena,555-0199\n")
    assert result.ok
    assert found(result) == [(CSV, 3, "warning", "invalid_phone")]
    assert result.desired is not None
    invalid = result.desired.groups["leads"].invalid
    assert [(i.raw, i.source.line) for i in invalid] == [("555-0199", 3)]


def test_invalid_timezone_in_csv_is_an_error(root: Path) -> None:
    result = with_csv(root, "first_name,phone,timezone\nAna,415-555-0100,Pacific Time\n")
    assert found(result) == [(CSV, 2, "error", "timezone")]


def test_multiline_quoted_field_keeps_the_line_of_the_record_start(root: Path) -> None:
    result = with_csv(root, 'first_name,phone,notes\nAna,415-555-0100,"two\nlines"\nBen,bad,x\n')
    assert found(result) == [(CSV, 4, "warning", "invalid_phone")]


def test_row_width_mismatch(root: Path) -> None:
    result = with_csv(root, "first_name,phone\nAna,415-555-0100\nBen,212-555-0199,extra\n")
    assert found(result) == [(CSV, 3, "error", "csv")]


def test_header_problems(root: Path) -> None:
    for header, text in [
        ("first_name,city\n", "no phone column"),
        ("first_name,,phone\n", "column 2 of the header has no name"),
        ("phone,Phone\n", "appears twice"),
        ("", "empty CSV"),
    ]:
        result = with_csv(root, header + "x,y,z\n" if header else "")
        assert found(result) == [(CSV, 1, "error", "csv")], header
        assert text in messages(result)[0]


def test_non_utf8_csv_is_one_clear_line(root: Path) -> None:
    result = with_csv(root, "first_name,phone\nJos\xe9,415-555-0100\n".encode("latin-1"))
    assert messages(result) == [
        f"{CSV}:2:4: error: not UTF-8 text (byte 0xe9 cannot be decoded): save a contacts CSV "
        "as UTF-8"
    ]


def test_bom_is_ignored(root: Path) -> None:
    result = with_csv(root, "\ufefffirst_name,phone\nAna,415-555-0100\n".encode())
    assert result.ok and result.issues == ()


def test_csv_outside_the_config_directory(root: Path) -> None:
    write(root.parent, "secret.csv", "phone\n4155550100\n")
    group = CSV_GROUP.replace("contacts/leads.csv", "../../secret.csv")
    result = load_repo(root, {"groups/leads.yaml": group})
    assert found(result, "file") == [("campaigns.d/groups/leads.yaml", 6, "error", "file")]


def test_missing_csv(root: Path) -> None:
    result = load_repo(root, {"groups/leads.yaml": CSV_GROUP})
    assert found(result, "file") == [("campaigns.d/groups/leads.yaml", 6, "error", "file")]


def test_csv_field_needed_by_template_but_empty(root: Path) -> None:
    result = with_csv(root, "first_name,phone\nAna,415-555-0100\n,212-555-0199\n")
    assert found(result) == [(CSV, 3, "warning", "missing_field")]


def test_group_digest_covers_csv_bytes_inline_contacts_and_region(root: Path) -> None:
    def digest(**files: str) -> str:
        result = with_csv(
            root,
            files.get("csv", "first_name,phone\nAna,415-555-0100\n"),
            files.get("group", CSV_GROUP),
        )
        assert result.desired is not None, messages(result)
        return result.desired.groups["leads"].digest

    first = digest()
    assert digest() == first
    assert digest(csv="first_name,phone\nAna,415-555-0101\n") != first
    assert digest(group=CSV_GROUP + "  defaultRegion: CA\n") != first
    inline = (
        CSV_GROUP + '  contacts:\n    - phones: ["212-555-0199"]\n      fields: {first_name: Ben}\n'
    )
    assert digest(group=inline) != first


def test_parse_contacts_false_skips_parsing_but_keeps_digest_and_field_names(root: Path) -> None:
    make_repo(
        root,
        {
            "groups/leads.yaml": CSV_GROUP,
            "groups/contacts/leads.csv": "first_name,phone\nAna,415-555-0100\nX,bad\n",
        },
    )
    full = load(root)
    asked: list[tuple[str, str]] = []

    def parse(name: str, digest: str) -> bool:
        asked.append((name, digest))
        return False

    skipped = load(root, parse_contacts=parse)
    assert full.desired is not None and skipped.desired is not None
    group = skipped.desired.groups["leads"]
    assert asked == [("leads", full.desired.groups["leads"].digest)]
    assert not group.loaded and group.contacts == () and group.invalid == ()
    assert group.field_names == {"first_name"}
    assert found(skipped) == []  # the invalid row was not read
    assert found(full) == [(CSV, 3, "warning", "invalid_phone")]
    assert skipped.desired.config_digest == full.desired.config_digest
