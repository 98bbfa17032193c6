"""JSON Schemas generated from the models: one per kind, and one combined for editors.

The loader checks every document against the schema of its kind with a compiled validator
built once per process, so `campaignctl validate` and an editor pointed at `schemas/`
(yaml-language-server) report the same problems.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
from pydantic import Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from campaignctl.config.models import KINDS, MODELS, DocumentModel

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URL = "https://campaignctl.dev/schemas/"
COMBINED_FILE = "campaignctl.schema.json"


class _Generator(GenerateJsonSchema):
    """Pydantic's generator, with two simplifications an editor shows more clearly (and that
    validate faster): no title on every property, and `X | None` written as
    `"type": ["string", "null"]` rather than an `anyOf` of two schemas."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: Any) -> dict[str, Any]:
        inner = self.generate_inner(schema["schema"])
        kind = inner.get("type")
        if isinstance(kind, str) and kind != "null" and "$ref" not in inner:
            return {**inner, "type": [kind, "null"]}
        return super().nullable_schema(schema)


PYDANTIC_KEYWORDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
    "min_length": "minLength",
    "max_length": "maxLength",
    "multiple_of": "multipleOf",
}
"""Pydantic's names for constraints it leaves in a schema as they were written (on an
optional field of an annotated type), and the JSON Schema keywords that mean the same: a
validator or an editor ignores the former, so `dailyLimit: 0` would pass in the editor."""


def standard_keywords(schema: Any) -> Any:
    """`schema` with pydantic's constraint names written as JSON Schema's keywords, inside
    every subschema (never inside `properties`, whose keys are field names, nor values)."""
    if isinstance(schema, list):
        return [standard_keywords(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs", "patternProperties"):
            out[key] = {name: standard_keywords(sub) for name, sub in value.items()}
        elif key in ("default", "const", "enum", "examples"):
            out[key] = value
        else:
            name = str(key)
            out[PYDANTIC_KEYWORDS.get(name, name)] = standard_keywords(value)
    return out


def schema_file_name(kind: str) -> str:
    return f"{kind.lower()}.schema.json"


@cache
def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind of document."""
    body = standard_keywords(
        MODELS[kind].model_json_schema(by_alias=True, schema_generator=_Generator)
    )
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_BASE_URL + schema_file_name(kind),
        **body,
        "title": f"campaignctl {kind}",
    }


@cache
def combined_schema() -> dict[str, Any]:
    """Every kind in one schema (oneOf, told apart by `kind`), for an editor to use on all files."""
    adapter: TypeAdapter[DocumentModel] = TypeAdapter(
        Annotated[DocumentModel, Field(discriminator="kind")]
    )
    body = standard_keywords(adapter.json_schema(by_alias=True, schema_generator=_Generator))
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_BASE_URL + COMBINED_FILE,
        "title": "campaignctl resource",
        "description": "A campaignctl resource: " + ", ".join(KINDS) + ".",
        **body,
    }


def schema_files() -> dict[str, dict[str, Any]]:
    """File name -> schema, as committed under `schemas/`."""
    files = {schema_file_name(kind): schema_for(kind) for kind in KINDS}
    files[COMBINED_FILE] = combined_schema()
    return files


def render_schema(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def export_schemas(directory: Path) -> list[Path]:
    """Write every schema file into `directory` (created if missing); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, schema in schema_files().items():
        path = directory / name
        path.write_text(render_schema(schema), encoding="utf-8")
        written.append(path)
    return written


@cache
def validator_for(kind: str) -> Draft202012Validator:
    """The compiled validator of a kind, built once per process and reused.

    It checks the same schema as the exported file, with every `$ref` inlined: resolving
    references costs about a third of the validation time.
    """
    schema = schema_for(kind)
    return Draft202012Validator(inline_refs(schema, schema.get("$defs", {})))


def inline_refs(schema: Any, definitions: dict[str, Any]) -> Any:
    """`schema` with each local `#/$defs/X` reference replaced by X (the models have no cycles)."""
    if isinstance(schema, list):
        return [inline_refs(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    reference = schema.get("$ref")
    rest = {
        key: inline_refs(value, definitions)
        for key, value in schema.items()
        if key not in ("$ref", "$defs")
    }
    if not isinstance(reference, str) or not reference.startswith("#/$defs/"):
        return rest
    target = inline_refs(definitions[reference.removeprefix("#/$defs/")], definitions)
    return {"allOf": [target, rest]} if rest else target
