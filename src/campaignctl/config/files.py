"""Reading configuration files safely: size limits, UTF-8 only, binary refused, streamed lines.

Every refusal is a `FileProblem` with the line (and column) it is about, so the user gets one
line, `path:line:col: message`, and never a traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class FileProblem(Exception):
    """A file (or part of it) that cannot be read; `line`/`col` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


def read_bytes_checked(path: Path, limit: int | None) -> bytes:
    """The bytes of a file, refusing one over `limit` bytes before reading it."""
    try:
        size = path.stat().st_size
        if limit is not None and size > limit:
            raise FileProblem(
                f"file is {size / 1_048_576:.1f} MB; files over {limit // 1_048_576} MB are "
                "refused (split it, or move contacts to a CSV file)"
            )
        return path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"cannot read file: {exc.strerror or exc}") from exc


def decode_utf8(data: bytes) -> str:
    """Text of a UTF-8 file (a BOM is dropped); binary and other encodings are refused."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _byte_position(data, nul)
        raise FileProblem("binary file (it contains NUL bytes): expected UTF-8 text", line, col)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(data, exc.start)
        raise FileProblem(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded): save the file "
            "as UTF-8",
            line,
            col,
        ) from exc


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def text_lines(handle: IO[bytes], what: str) -> Iterator[str]:
    """The lines of a binary file as text, refusing binary or non-UTF-8 content by line.

    `what` names the file in messages ("a contacts CSV").
    """
    for number, raw in enumerate(handle, 1):
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise FileProblem(f"binary data (NUL byte): {what} must be UTF-8 text", number, nul + 1)
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded): save "
                f"{what} as UTF-8",
                number,
                exc.start + 1,
            ) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def quote(raw: str, limit: int = 40) -> str:
    """`raw` quoted, cut to `limit` characters, so a message stays one readable line."""
    text = repr(raw)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
