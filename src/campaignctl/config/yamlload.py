"""Reading YAML safely, keeping the line and column of every value.

The C parser (libyaml) composes nodes; this module turns them into plain Python values and a
position index, refusing what a configuration file should never contain (besides what files.py
refuses: size, binary, encoding): duplicate keys, documents nested deeper than `MAX_DEPTH`,
aliases re-used beyond `ALIAS_BUDGET` (the "billion laughs"), and tags other than the standard
scalar ones. Every refusal is a `FileProblem` with a position: one line for the user.

Plain scalars follow the YAML 1.2 core schema: `yes`, `no`, `on`, `off` stay strings and
`21:00` is not the integer 1260. Under `RAW_KEYS` (contact fields, labels, phone numbers) a
plain scalar is kept exactly as written, so a ZIP code `02134` stays ``"02134"``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from campaignctl.config.files import FileProblem, decode_utf8, read_bytes_checked
from campaignctl.config.paths import FieldPath
from campaignctl.errors import Location

YAML_SIZE_LIMIT = 5 * 1024 * 1024
MAX_DEPTH = 50
ALIAS_BUDGET = 100

RAW_KEYS = frozenset({"fields", "labels", "phones", "numbers", "from"})

_PLAIN = "!campaignctl/plain"
_TAG = "tag:yaml.org,2002:"


class _PlainTagging(yaml.resolver.BaseResolver):
    """Tags every plain scalar `_PLAIN` (resolved by this module), the rest as given. No path
    resolvers are used, so descending and ascending cost nothing."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _TAG + "str"
        return _TAG + ("seq" if kind is SequenceNode else "map")


class _PythonNodeLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _PlainTagging,
):
    """The pure-Python composer, used only where libyaml is missing."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _PlainTagging.__init__(self)


_NodeLoader: Any = _PythonNodeLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _CNodeLoader(CParser, _PlainTagging):
        """libyaml composes the nodes (fast); plain scalars are resolved by this module."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _PlainTagging.__init__(self)

    _NodeLoader = _CNodeLoader


@dataclass
class Document:
    """One YAML document: its plain value and where each of its values is written."""

    file: str  # display path
    number: int  # 0-based position in its file
    data: Any
    start: tuple[int, int]
    positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)  # value nodes
    key_positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)  # keys
    block_scalars: frozenset[FieldPath] = frozenset()  # `|` / `>` values: text starts a line below

    @property
    def location(self) -> Location:
        return Location(self.file, *self.start)

    def where(self, path: FieldPath, *, key: bool = False) -> Location:
        """The value at `path` (or its key), else the nearest enclosing value that exists."""
        if key and path in self.key_positions:
            return Location(self.file, *self.key_positions[path])
        probe = path
        while probe:
            found = self.positions.get(probe)
            if found is not None:
                return Location(self.file, *found)
            probe = probe[:-1]
        return self.location


@dataclass(frozen=True)
class YamlFile:
    documents: tuple[Document, ...]
    sha256: str
    problem: FileProblem | None  # set when the file (or a document of it) cannot be read


def read_yaml_file(path: Path, display: str) -> YamlFile:
    """Every document of a YAML file, or the problem that stopped reading it."""
    try:
        data = read_bytes_checked(path, YAML_SIZE_LIMIT)
    except FileProblem as problem:
        return YamlFile((), "", problem)
    digest = hashlib.sha256(data).hexdigest()
    documents: list[Document] = []
    try:
        text = decode_utf8(data)
        for number, root in enumerate(compose_documents(text)):
            if root is None or is_empty_document(root):
                continue
            documents.append(build_document(root, display, number))
        if not documents:
            raise FileProblem("empty file: no YAML document (add a resource or delete the file)")
    except FileProblem as problem:
        return YamlFile(tuple(documents), digest, problem)
    return YamlFile(tuple(documents), digest, None)


def is_empty_document(root: Node) -> bool:
    """A document with no content (`---` followed by nothing) is a plain null scalar."""
    return isinstance(root, ScalarNode) and root.tag == _PLAIN and root.value in ("", "~", "null")


TAB_MESSAGE = (
    "a tab in the indentation: YAML indents with spaces only (replace the tab with spaces; "
    "most editors can show tabs and convert them)"
)


def indenting_tab(text: str, line_index: int) -> int | None:
    """The column (from 0) of a tab among the leading blanks of the line (0-based), or None.
    libyaml names such a tab only sometimes ("cannot start any token")."""
    lines = text.split("\n")
    if not 0 <= line_index < len(lines):
        return None
    line = lines[line_index]
    blanks = line[: len(line) - len(line.lstrip(" \t"))]
    position = blanks.find("\t")
    return None if position < 0 else position


def compose_documents(text: str) -> Iterator[Node | None]:
    """The root node of each document (None for an empty one), with YAML errors translated."""
    loader = _NodeLoader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.problem, exc.context) if part)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        tab = indenting_tab(text, mark.line) if mark is not None else None
        if tab is not None:
            raise FileProblem(TAB_MESSAGE, line, tab + 1) from None
        if "'\\t'" in message:
            message += " (YAML does not allow tabs for indentation: use spaces)"
        raise FileProblem(f"YAML syntax error: {message}", line, col) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - text.rfind("\n", 0, exc.position)
        message = f"YAML syntax error: {exc.reason} (character {exc.character!r})"
        raise FileProblem(message, line, col) from None
    except yaml.YAMLError as exc:
        raise FileProblem(f"YAML error: {exc}") from None
    except RecursionError:  # pragma: no cover - only the pure-Python parser recurses
        raise FileProblem(f"document nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def build_document(root: Node, display: str, number: int) -> Document:
    builder = _Builder()
    data = builder.value(root, (), 0, raw=False)
    mark = root.start_mark
    return Document(
        display,
        number,
        data,
        (mark.line + 1, mark.column + 1),
        builder.positions,
        builder.keys,
        frozenset(builder.blocks),
    )


_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL: dict[str, Any] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    ".inf": math.inf,
    "+.inf": math.inf,
    ".Inf": math.inf,
    "-.inf": -math.inf,
    "-.Inf": -math.inf,
    ".nan": math.nan,
    ".NaN": math.nan,
}
_NUMBER_START = frozenset("0123456789+-.")


def plain_scalar(text: str) -> Any:
    """Resolve a plain scalar by the YAML 1.2 core schema."""
    if text in _SPECIAL:
        return _SPECIAL[text]
    if text[0] not in _NUMBER_START:
        return text
    try:
        if _INT.match(text):
            return int(text)
        if text.startswith(("0x", "0o")):
            return int(text, 0)
    except ValueError:  # not a number after all, or too many digits to convert
        return text
    if _FLOAT.match(text):
        return float(text)
    return text


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _problem(node: Node, message: str) -> FileProblem:
    line, col = _mark(node)
    return FileProblem(message, line, col)


class _Builder:
    """Walks one document's nodes into Python values, recording every position."""

    def __init__(self) -> None:
        self.positions: dict[FieldPath, tuple[int, int]] = {}
        self.keys: dict[FieldPath, tuple[int, int]] = {}
        self.blocks: set[FieldPath] = set()
        self.seen: set[int] = set()
        self.reused = 0

    def value(self, node: Node, path: FieldPath, depth: int, raw: bool) -> Any:
        if depth > MAX_DEPTH:
            raise _problem(node, f"document nested deeper than {MAX_DEPTH} levels")
        self.positions[path] = _mark(node)
        if isinstance(node, ScalarNode):
            if node.style in ("|", ">"):
                self.blocks.add(path)
            return self.scalar(node, raw)
        if id(node) in self.seen:
            self.reused += 1
            if self.reused > ALIAS_BUDGET:
                raise _problem(
                    node,
                    f"more than {ALIAS_BUDGET} alias expansions: refusing a possible "
                    "'billion laughs' document",
                )
        self.seen.add(id(node))
        if isinstance(node, SequenceNode):
            if node.tag != _TAG + "seq":
                raise _problem(node, f"unsupported YAML tag {node.tag!r}")
            return [
                self.value(child, (*path, index), depth + 1, raw)
                for index, child in enumerate(node.value)
            ]
        if isinstance(node, MappingNode):
            if node.tag != _TAG + "map":
                raise _problem(node, f"unsupported YAML tag {node.tag!r}")
            return self.mapping(node, path, depth, raw)
        raise _problem(node, "unsupported YAML node")  # pragma: no cover

    def scalar(self, node: ScalarNode, raw: bool) -> Any:
        text: str = node.value
        tag = node.tag
        if tag == _PLAIN:
            return text if raw else plain_scalar(text)
        if tag == _TAG + "str":
            return text
        try:
            if tag == _TAG + "int":
                return int(text.replace("_", ""), 0)
            if tag == _TAG + "float":
                return float(text.replace("_", ""))
        except ValueError:
            raise _problem(node, f"{text!r} is not a valid {tag[len(_TAG) :]}") from None
        if tag == _TAG + "bool" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if tag == _TAG + "null":
            return None
        raise _problem(node, f"unsupported YAML tag {tag!r} (use plain strings and numbers)")

    def mapping(self, node: MappingNode, path: FieldPath, depth: int, raw: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[Node] = []
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _problem(key_node, "mapping keys must be plain strings")
            key = key_node.value
            if key == "<<" and key_node.tag == _PLAIN:
                merges.append(value_node)
                continue
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise _problem(
                    key_node, f"duplicate key {key!r} (first defined on line {first_line[key]})"
                )
            first_line[key] = line
            child: FieldPath = (*path, key)
            self.keys[child] = _mark(key_node)
            result[key] = self.value(value_node, child, depth + 1, raw or key in RAW_KEYS)
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise _problem(source, "a merge key ('<<') needs a mapping or a list of them")
                merged = self.value(source, (*path, "<<"), depth + 1, raw)
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result
