"""Do-not-call lists: inline numbers and files in the national registry's line formats.

A file has one number a line: a bare 10-digit US number (as in the registry's downloads),
``AAA,NNNNNNN`` (area code, number), or a +country number. Blank lines and ``#`` comments are
ignored. An entry that cannot be read is an error, never skipped: a do-not-call entry that is
silently dropped could let a message through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from campaignctl.config.documents import Resource
from campaignctl.config.files import FileProblem, file_sha256, quote, text_lines
from campaignctl.config.models import DoNotCallListDocument
from campaignctl.config.paths import display_path, is_inside
from campaignctl.core import phones
from campaignctl.errors import Issue, Location

_TEN_DIGITS = re.compile(r"[2-9][0-9]{9}")
_AREA_AND_NUMBER = re.compile(r"([2-9][0-9]{2})\s*,\s*([0-9]{7})")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")
_SEPARATORS = str.maketrans("", "", " -.()")


def parse_entry(text: str) -> str | None:
    """The E.164 form of one do-not-call entry, or None when it is not a phone number.

    Well-formed entries are accepted even when `phonenumbers` would call them invalid:
    blocking a number that cannot exist costs nothing.
    """
    entry = text.strip()
    if _TEN_DIGITS.fullmatch(entry):
        return "+1" + entry
    pair = _AREA_AND_NUMBER.fullmatch(entry)
    if pair:
        return "+1" + pair.group(1) + pair.group(2)
    compact = entry.translate(_SEPARATORS)
    if _INTERNATIONAL.fullmatch(compact):
        return compact
    try:
        return phones.normalize(entry, "US").e164
    except phones.InvalidPhone:
        return None


@dataclass(frozen=True)
class DncLoad:
    numbers: frozenset[str]
    issues: tuple[Issue, ...]
    files: tuple[tuple[Path, str], ...]  # (path, sha256) of every file read


_EXPECTED = "expected 10 digits, AAA,NNNNNNN or a +country number"


def load_dnc(resource: Resource, root: Path) -> DncLoad:
    model = resource.model
    assert isinstance(model, DoNotCallListDocument)
    document = resource.document
    numbers: set[str] = set()
    issues: list[Issue] = []
    files: list[tuple[Path, str]] = []
    for index, raw in enumerate(model.spec.numbers):
        number = parse_entry(raw)
        if number is None:
            where = document.where(("spec", "numbers", index))
            issues.append(
                Issue("error", f"{quote(raw)} is not a phone number ({_EXPECTED})", where, "dnc")
            )
        else:
            numbers.add(number)
    for index, name in enumerate(model.spec.files):
        where = document.where(("spec", "files", index))
        path = Path(document.file).parent / name
        if not is_inside(path, root):
            issues.append(
                Issue("error", f"{name!r} is outside {display_path(root)}", where, "file")
            )
            continue
        if not path.is_file():
            issues.append(Issue("error", f"do-not-call file {name!r} not found", where, "file"))
            continue
        files.append((path, file_sha256(path)))
        issues.extend(_read_file(path, numbers))
    return DncLoad(frozenset(numbers), tuple(issues), tuple(files))


def _read_file(path: Path, numbers: set[str]) -> list[Issue]:
    display = display_path(path)
    issues: list[Issue] = []
    try:
        with path.open("rb") as handle:
            for line_number, line in enumerate(text_lines(handle, "a do-not-call file"), 1):
                entry = line.split("#", 1)[0].strip()
                if not entry:
                    continue
                number = parse_entry(entry)
                if number is None:
                    message = f"{quote(entry)} is not a phone number ({_EXPECTED})"
                    issues.append(Issue("error", message, Location(display, line_number, 1), "dnc"))
                else:
                    numbers.add(number)
    except FileProblem as problem:
        where = Location(display, problem.line, problem.col or 1)
        issues.append(Issue("error", problem.message, where, "dnc"))
    return issues
