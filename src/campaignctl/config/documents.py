"""Checking one document: its kind, its JSON Schema, its pydantic model.

Both checks run; each problem is reported once, at the line of the value it is about. The
JSON Schema's message wins where both see a problem at the same place (it is what an editor
shows); the model adds what a schema cannot say (start before end, a real time zone...).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError  # type: ignore[import-untyped, unused-ignore]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped, unused-ignore]
from pydantic import ValidationError as ModelError

from campaignctl.config.models import API_VERSION, KINDS, MODELS, DocumentModel
from campaignctl.config.paths import FieldPath, dotted
from campaignctl.config.schema import validator_for
from campaignctl.config.yamlload import Document
from campaignctl.errors import Issue


@dataclass(frozen=True)
class Resource:
    """A document that passed both checks."""

    kind: str
    name: str
    model: DocumentModel
    document: Document


@dataclass(frozen=True)
class _Finding:
    path: FieldPath
    message: str
    at_key: bool = False  # point at the key (an unknown field), not its value


def check_document(document: Document) -> tuple[Resource | None, list[Issue]]:
    data = document.data
    if not isinstance(data, dict):
        message = "a document must be a mapping with apiVersion, kind, metadata and spec"
        return None, [Issue("error", message, document.location, "schema")]
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in MODELS:
        return None, [_kind_issue(document, kind)]
    findings = _schema_findings(kind, data)
    try:
        model = MODELS[kind].model_validate(data)
    except ModelError as exc:
        model = None
        covered = [finding.path for finding in findings]
        for finding in _model_findings(exc):
            if not any(_overlaps(finding.path, path) for path in covered):
                findings.append(finding)
    if findings or model is None:
        issues = [
            Issue("error", _text(f), document.where(f.path, key=f.at_key), "schema")
            for f in findings
        ]
        return None, issues
    return Resource(kind, model.metadata.name, model, document), []


def _kind_issue(document: Document, kind: object) -> Issue:
    kinds = ", ".join(KINDS)
    if kind is None:
        message = f"missing 'kind': one of {kinds}"
        return Issue("error", message, document.location, "schema")
    message = f"kind {kind!r} is not one of {kinds}"
    close = difflib.get_close_matches(str(kind), KINDS, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return Issue("error", message, document.where(("kind",)), "schema")


def _overlaps(a: FieldPath, b: FieldPath) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _text(finding: _Finding) -> str:
    if not finding.path or finding.at_key:
        return finding.message
    return f"{dotted(finding.path)}: {finding.message}"


# --------------------------------------------------------------------------- JSON Schema


def _schema_findings(kind: str, data: dict[str, Any]) -> list[_Finding]:
    findings: list[_Finding] = []
    for error in validator_for(kind).iter_errors(data):
        findings.extend(_translate(error))
    findings.sort(key=lambda f: tuple(str(part) for part in f.path))
    return findings


def _translate(error: ValidationError, parent: dict[str, Any] | None = None) -> Iterable[_Finding]:
    path: FieldPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    instance = error.instance
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in instance:
            if key not in allowed:
                yield _Finding((*path, key), _unknown_field(key, path, allowed), at_key=True)
        return
    if keyword == "required" and isinstance(instance, dict):
        for key in error.validator_value:
            if key not in instance:
                yield _Finding(path, f"missing required field {key!r}")
        return
    custom = _custom_message(schema, keyword) or _custom_message(parent or {}, keyword)
    if keyword in ("anyOf", "oneOf") and not custom and error.context:
        yield from _translate(_best_branch(error), schema)
        return
    if custom:
        scalar = not isinstance(instance, dict | list)
        yield _Finding(path, f"{custom} (got {_show(instance)})" if scalar else custom)
        return
    if keyword == "const" and path == ("apiVersion",):
        yield _Finding(path, f"must be {API_VERSION!r}, not {_show(instance)}")
        return
    if keyword == "type":
        expected = error.validator_value
        yield _Finding(path, f"expected {_type_words(expected)}, got {_show(instance)}")
        return
    if keyword == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        yield _Finding(path, f"{_show(instance)} is not one of: {choices}")
        return
    yield _Finding(path, error.message)


def _custom_message(schema: dict[str, Any], keyword: str) -> str | None:
    """The message an editor shows too: `errorMessage`, or `patternErrorMessage` for a pattern.

    A wrong type keeps its own message ("expected a mapping, got 'x'")."""
    if keyword == "type":
        return None
    if keyword == "pattern" and isinstance(schema.get("patternErrorMessage"), str):
        return "expected " + str(schema["patternErrorMessage"])
    message = schema.get("errorMessage")
    return message if isinstance(message, str) else None


def _best_branch(error: ValidationError) -> ValidationError:
    """For `X | None`, the error of the X branch, not the `null` one."""
    errors = list(error.context or [])
    useful = [e for e in errors if not (e.validator == "type" and e.validator_value == "null")]
    best = best_match(useful or errors)
    return best if best is not None else error


def _unknown_field(key: str, path: FieldPath, allowed: list[str]) -> str:
    where = dotted(path) or "the document"
    message = f"unknown field {key!r} in {where}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return message + f" (did you mean {close[0]!r}?)"
    return message + f" (allowed: {', '.join(allowed)})"


def _type_words(expected: object) -> str:
    words = {"object": "a mapping", "array": "a list", "string": "a string"}
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(
        words.get(str(name), f"{'an' if str(name)[0] in 'aeiou' else 'a'} {name}") for name in names
    )


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


# --------------------------------------------------------------------------- pydantic


def _model_findings(exc: ModelError) -> Iterable[_Finding]:
    for error in exc.errors(include_url=False):
        path: FieldPath = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            yield _Finding(path, f"unknown field {path[-1]!r}", at_key=True)
        elif kind == "missing":
            yield _Finding(path[:-1], f"missing required field {path[-1]!r}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            yield _Finding(path, message)
