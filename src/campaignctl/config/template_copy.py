"""`template copy OLD NEW`: a draft copy of a template, written next to the original.

The copy is made on the text, not by dumping a model, so comments and layout survive: the
name is replaced, the status set to draft, and a comment says where it came from.
"""

from __future__ import annotations

import re
from pathlib import Path

from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode

from campaignctl.config.documents import check_document
from campaignctl.config.files import FileProblem, decode_utf8, read_bytes_checked
from campaignctl.config.loader import find_yaml_files, iter_documents
from campaignctl.config.models import NAME_MESSAGE, NAME_PATTERN
from campaignctl.config.paths import display_path
from campaignctl.config.yamlload import (
    YAML_SIZE_LIMIT,
    Document,
    build_document,
    compose_documents,
    is_empty_document,
    read_yaml_file,
)
from campaignctl.errors import CampaignctlError

_MODELINE = re.compile(r"^#\s*yaml-language-server:.*$", re.MULTILINE)


def copy_template(root: Path, old: str, new: str) -> Path:
    """Write template `old` as a draft named `new`; the path written."""
    if not re.fullmatch(NAME_PATTERN, new):
        raise CampaignctlError(f"{new!r} is not a valid name: {NAME_MESSAGE}")
    if not root.is_dir():
        raise CampaignctlError(f"{display_path(root)}: config directory not found")
    source: tuple[Path, Document] | None = None
    for path in find_yaml_files(root):
        for document in read_yaml_file(path, display_path(path)).documents:
            name = _template_name(document)
            if name == new:
                raise CampaignctlError(
                    f"{document.where(('metadata', 'name'))}: a template named {new!r} exists"
                )
            if name == old and source is None:
                source = (path, document)
    if source is None:
        raise CampaignctlError(f"no template named {old!r} under {display_path(root)}")
    path, document = source
    target = path.parent / f"{new}.yaml"
    text = _copied_text(path, document, old, new, path.relative_to(root).as_posix())
    _check_copy(text, target, new)
    try:
        with target.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise CampaignctlError(
            f"{display_path(target)}: file exists; choose another name"
        ) from None
    except OSError as exc:
        raise CampaignctlError(f"{display_path(target)}: cannot write: {exc.strerror}") from None
    return target


def campaigns_using(root: Path, template: str) -> list[tuple[str, str]]:
    """The campaigns whose file names `template`: (name, the file it is written in)."""
    found: list[tuple[str, str]] = []
    for document in iter_documents(root):
        data = document.data
        if not isinstance(data, dict) or data.get("kind") != "Campaign":
            continue
        spec, metadata = data.get("spec"), data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if isinstance(spec, dict) and spec.get("template") == template and isinstance(name, str):
            found.append((name, document.file))
    return found


def next_steps(root: Path, old: str, new: str, written: Path) -> list[str]:
    """What to do after a copy: edit and publish it, point the campaigns at it, plan."""
    shown = display_path(written)
    lines = [f"  1. edit the wording in {shown}, then set its status: published"]
    users = campaigns_using(root, old)
    if users:
        lines += [
            f"  2. point campaign {name} at it: `template: {new}` in {file}" for name, file in users
        ]
    else:
        lines.append(f"  2. point a campaign at it: `template: {new}` in its spec")
    lines.append("  3. campaignctl plan    # shows the switch, the wording's diff and who moves")
    return ["Next:", *lines]


def _template_name(document: Document) -> str | None:
    data = document.data
    if not isinstance(data, dict) or data.get("kind") != "Template":
        return None
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def _child(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _copied_text(path: Path, document: Document, old: str, new: str, origin: str) -> str:
    try:
        text = decode_utf8(read_bytes_checked(path, YAML_SIZE_LIMIT))
        roots = list(compose_documents(text))
    except FileProblem as problem:
        raise CampaignctlError(f"{display_path(path)}: {problem.message}") from None
    root = roots[document.number]
    assert root is not None
    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def offset(mark: Mark) -> int:
        return starts[mark.line] + mark.column

    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied from the end
    metadata = _child(root, "metadata")
    name = _child(metadata[1], "name") if metadata else None
    if name is None:  # pragma: no cover - a template always has a name to be found
        raise CampaignctlError(f"{display_path(path)}: template {old!r} has no metadata.name")
    edits.append((offset(name[1].start_mark), offset(name[1].end_mark), new))
    spec = _child(root, "spec")
    status = _child(spec[1], "status") if spec else None
    if status is not None:
        edits.append((offset(status[1].start_mark), offset(status[1].end_mark), "draft"))
    elif spec is not None and isinstance(spec[1], MappingNode) and spec[1].value:
        first_key = spec[1].value[0][0]
        at = offset(first_key.start_mark)
        if spec[1].flow_style:
            edits.append((at, at, "status: draft, "))
        else:
            indent = " " * first_key.start_mark.column
            line_start = starts[first_key.start_mark.line]
            edits.append((line_start, line_start, f"{indent}status: draft\n"))
    if sum(1 for r in roots if r is not None and not is_empty_document(r)) == 1:
        body = text
        base = 0
    else:
        base = starts[root.start_mark.line]
        body = text[base : offset(root.end_mark)].rstrip("\n") + "\n"
    for start, end, replacement in sorted(edits, reverse=True):
        body = body[: start - base] + replacement + body[end - base :]
    header = f"# Draft copy of template {old!r} ({origin}): edit it, then publish it\n"
    modeline = _MODELINE.search(text)
    if base and modeline:
        header = modeline.group(0) + "\n" + header
    return header + body


def _check_copy(text: str, target: Path, new: str) -> None:
    roots = [r for r in compose_documents(text) if r is not None and not is_empty_document(r)]
    document = build_document(roots[0], display_path(target), 0)
    resource, issues = check_document(document)
    if resource is None or resource.name != new:
        details = "; ".join(str(issue) for issue in issues) or "the copy is not a template"
        raise CampaignctlError(f"cannot copy: {details}")
