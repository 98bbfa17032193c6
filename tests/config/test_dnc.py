"""Do-not-call lists: the three registry line formats, comments, and unreadable entries."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from campaignctl.config.dnc import parse_entry
from tests.config.helpers import found, load_repo, messages

DNC = """\
apiVersion: campaignctl/v1
kind: DoNotCallList
metadata:
  name: house
spec:
  numbers: ["+14155550188", "(212) 555-0123"]
  files: [registry-415.txt]
"""
FILE = "campaigns.d/dnc/registry-415.txt"


def test_formats_comments_and_blank_lines(root: Path) -> None:
    registry = "# registry download\n4155550101\n\n415,5550142\n+14155550190  # added\n"
    result = load_repo(root, {"dnc/house.yaml": DNC, "dnc/registry-415.txt": registry})
    assert result.desired is not None, messages(result)
    assert result.desired.dnc == {
        "+14155550188",
        "+12125550123",
        "+14155550101",
        "+14155550142",
        "+14155550190",
    }
    assert FILE in result.files


def test_unreadable_entry_is_an_error_at_its_line(root: Path) -> None:
    registry = "4155550101\n415-555\n"
    result = load_repo(root, {"dnc/house.yaml": DNC, "dnc/registry-415.txt": registry})
    assert found(result) == [(FILE, 2, "error", "dnc")]
    assert "'415-555' is not a phone number" in messages(result)[0]


def test_unreadable_inline_entry(root: Path) -> None:
    result = load_repo(
        root,
        {"dnc/house.yaml": DNC.replace('"+14155550188"', '"call me"'), "dnc/registry-415.txt": ""},
    )
    assert found(result) == [("campaigns.d/dnc/house.yaml", 6, "error", "dnc")]


def test_missing_and_binary_files(root: Path) -> None:
    result = load_repo(root, {"dnc/house.yaml": DNC})
    assert found(result) == [("campaigns.d/dnc/house.yaml", 7, "error", "file")]
    result = load_repo(root, {"dnc/house.yaml": DNC, "dnc/registry-415.txt": b"415\x00\xff"})
    assert found(result) == [(FILE, 1, "error", "dnc")]


@given(st.from_regex(r"[2-9][0-9]{9}", fullmatch=True))
def test_ten_digits_and_area_code_pairs_agree(digits: str) -> None:
    assert parse_entry(digits) == parse_entry(f"{digits[:3]},{digits[3:]}") == "+1" + digits


@given(st.text(max_size=30))
def test_parse_entry_never_raises(text: str) -> None:
    result = parse_entry(text)
    assert result is None or result.startswith("+")
