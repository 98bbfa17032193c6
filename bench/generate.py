"""Deterministic, realistic data for the benchmarks: contacts across every US area code, and
the campaign repos that use them.

    space = NumberSpace(seed=7)                      # valid exchanges of every area code
    summary = write_contacts_csv(path, 100_000, seed=7)
    config_dir = write_campaign_repo(root, 100_000, seed=7)
    config_dir = write_validate_repo(root, seed=7)   # 2,000 YAML files, 100,000 contacts

Phone numbers: for each area code of campaignctl's table (core/data/npa_states.json), a pool of
exchanges that `phonenumbers.is_valid_number` accepts (checked with several line numbers);
contact i gets number i of a seeded permutation of (area code, exchange, line), so every number
is distinct and area codes (hence zones and states) are evenly spread.

Each contact row is first_name,last_name,phone,city,timezone, with some realistic noise:
  0.1%  an invalid number (a 7-digit local number without its area code)
  0.05% a toll-free number (no usable time zone: skipped unknown_timezone)
  2%    a second number in the phone column ("a;b")
  2%    an explicit timezone
  0.5%  no city (the templates need one: skipped missing_field)
Phones are written in the formats people type: (512) 555-0100, 512-555-0100, +1 512 555 0100...

Files are written row by row: a million contacts never sit in memory.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import phonenumbers

from bench.people import FIRST_NAMES, LAST_NAMES, STATES
from bench.repo import write_campaign_files, write_validate_files

EXCHANGES_PER_AREA_CODE = 24
LINES = 10_000
CHECK_LINES = ("0100", "4821", "9999")  # an exchange is kept when all of these are valid

INVALID_RATE = 0.001
TOLL_FREE_RATE = 0.0005
SECOND_PHONE_RATE = 0.02
TIMEZONE_RATE = 0.02
NO_CITY_RATE = 0.005
TOLL_FREE_CODES = ("800", "833", "844", "855", "866", "877", "888")

HEADER = ("first_name", "last_name", "phone", "city", "timezone")


def area_code_table() -> dict[str, str]:
    """campaignctl's area code -> state table."""
    text = resources.files("campaignctl.core").joinpath("data/npa_states.json").read_text("utf-8")
    table: dict[str, str] = json.loads(text)["npa"]
    return {str(npa): str(state) for npa, state in table.items()}


def _is_valid(e164: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(e164)))
    except phonenumbers.NumberParseException:
        return False


@dataclass(frozen=True)
class AreaCode:
    npa: str
    state: str
    exchanges: tuple[str, ...]


class NumberSpace:
    """Distinct valid US numbers, number(i) for i in range(capacity), evenly spread."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"numbers-{seed}")
        self.area_codes: list[AreaCode] = []
        self.left_out: list[str] = []  # area codes with too few valid exchanges
        for npa, state in sorted(area_code_table().items()):
            candidates = [f"{x}" for x in range(200, 1000) if x % 100 != 11 and x != 555]
            rng.shuffle(candidates)
            found: list[str] = []
            for nxx in candidates:
                if all(_is_valid(f"+1{npa}{nxx}{line}") for line in CHECK_LINES):
                    found.append(nxx)
                    if len(found) == EXCHANGES_PER_AREA_CODE:
                        break
            if len(found) < EXCHANGES_PER_AREA_CODE:
                self.left_out.append(npa)
            else:
                self.area_codes.append(AreaCode(npa, state, tuple(found)))
        self.capacity = len(self.area_codes) * EXCHANGES_PER_AREA_CODE * LINES
        multiplier = rng.randrange(self.capacity // 3, 2 * self.capacity // 3)
        while math.gcd(multiplier, self.capacity) != 1:
            multiplier += 1
        self._multiplier = multiplier
        self._offset = rng.randrange(self.capacity)

    def number(self, index: int) -> tuple[AreaCode, str, str]:
        """(area code, exchange, line) of number `index`; distinct for distinct indexes."""
        if not 0 <= index < self.capacity:
            raise ValueError(f"index {index} outside 0..{self.capacity - 1}")
        mixed = (index * self._multiplier + self._offset) % self.capacity
        rest, position = divmod(mixed, len(self.area_codes))
        line, exchange = divmod(rest, EXCHANGES_PER_AREA_CODE)
        area = self.area_codes[position]
        return area, area.exchanges[exchange], f"{line:04d}"


def _written(npa: str, nxx: str, line: str, style: int) -> str:
    """One number as people write it."""
    return (
        f"({npa}) {nxx}-{line}",
        f"{npa}-{nxx}-{line}",
        f"+1 {npa} {nxx} {line}",
        f"{npa}{nxx}{line}",
        f"1-{npa}-{nxx}-{line}",
        f"{npa}.{nxx}.{line}",
        f"+1{npa}{nxx}{line}",
    )[style]


@dataclass
class ContactsSummary:
    """What a generated CSV holds (the tests and benchmarks check against it)."""

    rows: int = 0
    numbers: int = 0  # phone numbers written (a row may have two)
    invalid: int = 0  # numbers meant to be invalid
    toll_free: int = 0
    second_phones: int = 0
    with_timezone: int = 0
    without_city: int = 0
    states: set[str] = field(default_factory=set)

    @property
    def valid(self) -> int:
        return self.numbers - self.invalid


def contact_rows(
    count: int, seed: int, space: NumberSpace | None = None, summary: ContactsSummary | None = None
) -> Iterator[tuple[str, str, str, str, str]]:
    """The rows of `count` contacts, one at a time (the same rows for the same seed)."""
    space = space or NumberSpace(seed)
    if 2 * count > space.capacity:
        raise ValueError(f"at most {space.capacity // 2} contacts")
    summary = summary if summary is not None else ContactsSummary()
    rng = random.Random(f"contacts-{seed}")
    for index in range(count):
        area, nxx, line = space.number(index)
        cities, zone = STATES[area.state]
        noise = rng.random()
        style = rng.randrange(7)
        if noise < INVALID_RATE:
            phone = f"{nxx}-{line}"
            summary.invalid += 1
        elif noise < INVALID_RATE + TOLL_FREE_RATE:
            code = TOLL_FREE_CODES[index % len(TOLL_FREE_CODES)]
            phone = _written(code, f"{200 + index // LINES % 800}", f"{index % LINES:04d}", style)
            summary.toll_free += 1
        else:
            phone = _written(area.npa, nxx, line, style)
            summary.states.add(area.state)
        summary.numbers += 1
        if rng.random() < SECOND_PHONE_RATE:
            other_area, other_nxx, other_line = space.number(count + index)
            phone += ";" + _written(other_area.npa, other_nxx, other_line, rng.randrange(7))
            summary.numbers += 1
            summary.second_phones += 1
        timezone = ""
        if rng.random() < TIMEZONE_RATE:
            timezone = zone
            summary.with_timezone += 1
        city = cities[rng.randrange(len(cities))]
        if rng.random() < NO_CITY_RATE:
            city = ""
            summary.without_city += 1
        summary.rows += 1
        yield (
            FIRST_NAMES[rng.randrange(len(FIRST_NAMES))],
            LAST_NAMES[rng.randrange(len(LAST_NAMES))],
            phone,
            city,
            timezone,
        )


def write_contacts_csv(
    path: Path, count: int, seed: int, space: NumberSpace | None = None
) -> ContactsSummary:
    """Write a contacts CSV of `count` rows, streaming; returns what it holds."""
    summary = ContactsSummary()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(contact_rows(count, seed, space, summary))
    return summary


def write_campaign_repo(
    root: Path, contacts: int, seed: int, *, messages_per_second: float = 1.0
) -> tuple[Path, ContactsSummary]:
    """A campaigns.d/ under `root` with one active campaign on a group of `contacts`.

    Returns the config directory and what its CSV holds.
    """
    config_dir = root / "campaigns.d"
    write_campaign_files(config_dir, messages_per_second=messages_per_second)
    summary = write_contacts_csv(
        config_dir / "groups" / "contacts" / "prospects.csv", contacts, seed
    )
    return config_dir, summary


def write_validate_repo(
    root: Path, seed: int, *, files: int = 2000, contacts: int = 100_000
) -> tuple[Path, list[Path]]:
    """A campaigns.d/ of `files` single-document YAML files holding `contacts` contacts (half
    of the groups inline, half in CSVs). Returns the directory and its YAML files."""
    config_dir = root / "campaigns.d"
    space = NumberSpace(seed)
    rows = contact_rows(contacts, seed, space)
    return config_dir, write_validate_files(config_dir, rows, files=files, contacts=contacts)
