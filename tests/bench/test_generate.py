"""The benchmark data generator: deterministic, valid, of the size asked, and loadable."""

from __future__ import annotations

import csv
from pathlib import Path

import phonenumbers
import pytest
from bench.generate import (
    NumberSpace,
    area_code_table,
    write_campaign_repo,
    write_contacts_csv,
    write_validate_repo,
)
from phonenumbers import timezone as phone_timezone

from campaignctl import config

SEED = 11


@pytest.fixture(scope="module")
def space() -> NumberSpace:
    return NumberSpace(SEED)


def test_same_seed_writes_the_same_bytes(tmp_path: Path, space: NumberSpace) -> None:
    first = write_contacts_csv(tmp_path / "a.csv", 1000, SEED, space)
    second = write_contacts_csv(tmp_path / "b.csv", 1000, SEED)
    other = write_contacts_csv(tmp_path / "c.csv", 1000, SEED + 1)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()
    assert first == second
    assert other.rows == first.rows == 1000


def test_every_area_code_of_the_table_has_valid_exchanges(space: NumberSpace) -> None:
    table = area_code_table()
    assert space.left_out == []
    assert {area.npa for area in space.area_codes} == set(table)
    zones: set[str] = set()
    for area in space.area_codes:
        number = phonenumbers.parse(f"+1{area.npa}{area.exchanges[0]}0100")
        zones.update(phone_timezone.time_zones_for_number(number))
    # every US clock: Eastern, Central, Mountain, Arizona, Pacific, Alaska, Hawaii
    for zone in ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                 "America/Los_Angeles", "America/Juneau", "Pacific/Honolulu"):  # fmt: skip
        assert zone in zones


def test_numbers_are_distinct_and_valid_except_the_invalid_ones(
    tmp_path: Path, space: NumberSpace
) -> None:
    summary = write_contacts_csv(tmp_path / "contacts.csv", 1000, SEED, space)
    with (tmp_path / "contacts.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary.rows == 1000
    raw = [number for row in rows for number in row["phone"].split(";")]
    assert len(raw) == summary.numbers
    valid: list[str] = []
    for text in raw:
        number = phonenumbers.parse(text, "US")
        if phonenumbers.is_valid_number(number):
            valid.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        else:
            assert len("".join(c for c in text if c.isdigit())) == 7, text
    assert len(valid) == summary.valid
    assert len(set(valid)) == len(valid)
    assert summary.invalid + summary.toll_free > 0
    assert sum(1 for row in rows if not row["city"]) == summary.without_city
    assert sum(1 for row in rows if row["timezone"]) == summary.with_timezone
    assert len(summary.states) >= 45


def test_numbers_never_repeat_across_a_large_range(space: NumberSpace) -> None:
    seen = {space.number(index) for index in range(0, 200_000, 7)}
    assert len(seen) == len(range(0, 200_000, 7))


def test_campaign_repo_loads_with_every_valid_contact(tmp_path: Path) -> None:
    config_dir, summary = write_campaign_repo(tmp_path, 1000, SEED)
    result = config.load(config_dir)
    assert result.errors == ()
    desired = result.require()
    assert list(desired.campaigns) == ["spring-prospects"]
    group = desired.groups["prospects"]
    assert len(group.contacts) == summary.valid
    assert len(group.invalid) == summary.invalid


def test_validate_repo_has_the_files_and_contacts_asked(tmp_path: Path) -> None:
    config_dir, files = write_validate_repo(tmp_path, SEED, files=42, contacts=1000)
    assert len(files) == 42
    assert len(list(config_dir.rglob("*.yaml"))) == 42
    desired = config.load(config_dir).require()
    contacts = sum(len(g.contacts) + len(g.invalid) for g in desired.groups.values())
    assert 1000 <= contacts <= 1100  # some contacts have two numbers
    assert len(desired.campaigns) == len(desired.groups) == 10
