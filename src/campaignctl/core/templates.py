"""Message bodies with `{{ field }}` placeholders, rendered by a sandboxed jinja2 environment.

The allowed language is deliberately tiny: `{{ name }}` and `{{ name | filter(...) }}` chains
whose arguments are literals, with the filters default, upper, lower, title, capitalize and
trim. Statements (`{% %}`), attribute or item access, calls, tests and every other filter are
a `TemplateProblem`, found when the body is parsed (walking the jinja2 AST), not when a message
is about to go out.

A field whose value is empty (or only whitespace) counts as absent: `default('x')` applies,
and a placeholder without a default raises `MissingField`, so a sent message never has a blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ALLOWED_FILTERS: tuple[str, ...] = ("default", "upper", "lower", "title", "capitalize", "trim")

# each allowed filter's parameters after the value: (name, the literal type it accepts)
_FILTER_PARAMS: dict[str, tuple[tuple[str, type], ...]] = {
    "default": (("default_value", str), ("boolean", bool)),
    "upper": (),
    "lower": (),
    "title": (),
    "capitalize": (),
    "trim": (("chars", str),),
}
# names jinja2 resolves to something other than a context variable
_RESERVED_NAMES = frozenset({"self", "loop", "super", "caller", "varargs", "kwargs"})
_TEMPLATE_MARKERS = ("{{", "{%", "{#")
_STATEMENTS_NOT_ALLOWED = "only {{ field }} placeholders are allowed, not {% ... %} statements"
_FORBIDDEN_EXPRESSIONS: dict[type[nodes.Node], str] = {
    nodes.Getattr: "attribute access is not allowed",
    nodes.Getitem: "item access is not allowed",
    nodes.Slice: "item access is not allowed",
    nodes.Call: "calls are not allowed",
    nodes.Test: "tests ('is ...') are not allowed",
    nodes.Literal: "a placeholder must name a contact field, not a literal value",
}

Newline = Literal["\n", "\r\n", "\r"]


@dataclass(frozen=True)
class Placeholder:
    name: str
    has_default: bool  # every use of the field starts with `| default(...)`


class TemplateProblem(Exception):
    """Bad syntax, or a construct that is not allowed; `line` is 1-based within the body."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line


class MissingField(Exception):
    """A placeholder without default whose field is absent or blank for this contact."""

    def __init__(self, name: str) -> None:
        super().__init__(f"field {name!r} is empty or missing and has no default")
        self.name = name


@dataclass(frozen=True)
class _Compiled:
    template: Template | None  # None: the body has no placeholder and is sent as written
    placeholders: tuple[Placeholder, ...]


def is_blank(value: str | None) -> bool:
    """True when a field value counts as absent (missing, empty or only whitespace)."""
    return value is None or not value.strip()


def placeholders(body: str) -> tuple[Placeholder, ...]:
    """The distinct fields `body` uses, in order of first use. Raises TemplateProblem."""
    return _compile(body).placeholders


@lru_cache(maxsize=256)
def required_names(body: str) -> tuple[str, ...]:
    """The placeholders of `body` without default, each once. Raises TemplateProblem."""
    return tuple(p.name for p in placeholders(body) if not p.has_default)


def first_blank(names: tuple[str, ...], fields: Mapping[str, str]) -> str | None:
    """The first of `names` that `fields` leaves blank, if any."""
    for name in names:
        value = fields.get(name)
        if value is None or not value.strip():
            return name
    return None


def missing_fields(body: str, fields: Mapping[str, str]) -> tuple[str, ...]:
    """The placeholders without default that `fields` leaves blank. Raises TemplateProblem."""
    return tuple(
        p.name for p in placeholders(body) if not p.has_default and is_blank(fields.get(p.name))
    )


def render(body: str, fields: Mapping[str, str]) -> str:
    """Fill the placeholders of `body`. Raises MissingField or TemplateProblem only."""
    compiled = _compile(body)
    if compiled.template is None:
        return body
    given: list[str | None] = []
    for placeholder in compiled.placeholders:
        value = fields.get(placeholder.name)
        if not is_blank(value):
            given.append(str(value))
        elif not placeholder.has_default:
            raise MissingField(placeholder.name)
        else:
            given.append(None)
    return _filled(body, tuple(given))


@lru_cache(maxsize=1 << 14)
def _filled(body: str, given: tuple[str | None, ...]) -> str:
    """`body` with these values of its placeholders, in their order (None: blank, so its
    default applies). Remembered: the messages of a tick, and of a forecast's months of
    ticks, repeat the same first names and cities, and jinja2 costs more than the lookup."""
    compiled = _compile(body)
    assert compiled.template is not None
    values = {p.name: v for p, v in zip(compiled.placeholders, given, strict=True) if v is not None}
    try:
        return compiled.template.render(values)
    except Exception as exc:  # the AST check makes this unreachable; keep the contract anyway
        raise TemplateProblem(f"cannot render: {exc}") from None


# --------------------------------------------------------------------------- compiling


@lru_cache(maxsize=4096)
def _compile_or_problem(body: str) -> _Compiled | TemplateProblem:
    if not any(marker in body for marker in _TEMPLATE_MARKERS):
        return _Compiled(None, ())
    env = _environment(_newline_of(body))
    try:
        tree = env.parse(body)
        _reject_raw_blocks(env, body)
        found = _check(tree)
        template = env.from_string(body)
    except TemplateProblem as problem:
        return problem
    except TemplateSyntaxError as exc:
        return TemplateProblem(exc.message or "invalid template syntax", exc.lineno or 1)
    except Exception as exc:  # e.g. RecursionError, or an integer literal too long to parse
        return TemplateProblem(f"cannot parse the template: {exc}")
    return _Compiled(template, found)


def _compile(body: str) -> _Compiled:
    result = _compile_or_problem(body)
    if isinstance(result, TemplateProblem):
        raise result
    return result


@lru_cache(maxsize=3)
def _environment(newline: Newline) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        newline_sequence=newline,
        cache_size=0,
    )
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    env.tests = {}
    env.globals.clear()
    return env


def _newline_of(body: str) -> Newline:
    """The body's own line ending, so rendering keeps it (jinja2 normalises line breaks)."""
    crlf = body.count("\r\n")
    if crlf and crlf == body.count("\n") == body.count("\r"):
        return "\r\n"
    if "\r" in body and "\n" not in body:
        return "\r"
    return "\n"


def _reject_raw_blocks(env: ImmutableSandboxedEnvironment, body: str) -> None:
    """`{% raw %}` is a statement too, though jinja2 resolves it before the AST."""
    for line, kind, _ in env.lex(body):
        if kind == "raw_begin":
            raise TemplateProblem(_STATEMENTS_NOT_ALLOWED, line)


def _check(tree: nodes.Template) -> tuple[Placeholder, ...]:
    """Every placeholder of the body, or TemplateProblem for anything else than text and them."""
    seen: dict[str, bool] = {}
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            raise TemplateProblem(_STATEMENTS_NOT_ALLOWED, statement.lineno)
        for child in statement.nodes:
            if isinstance(child, nodes.TemplateData):
                continue
            name, has_default = _placeholder(child)
            seen[name] = seen.get(name, True) and has_default
    return tuple(Placeholder(name, has_default) for name, has_default in seen.items())


def _placeholder(expr: nodes.Expr) -> tuple[str, bool]:
    chain: list[nodes.Filter] = []
    node: nodes.Expr | None = expr
    while isinstance(node, nodes.Filter):
        chain.append(node)
        node = node.node
    if not isinstance(node, nodes.Name):
        raise TemplateProblem(_describe_forbidden(node), (node or expr).lineno)
    if node.name in _RESERVED_NAMES:
        raise TemplateProblem(f"{node.name!r} is reserved and cannot name a field", node.lineno)
    chain.reverse()  # the filter applied first comes first
    for position, filter_node in enumerate(chain):
        _check_filter(filter_node)
        if filter_node.name == "default" and position > 0:
            raise TemplateProblem(
                f"put default first, e.g. {{{{ {node.name} | default('...') | "
                f"{chain[0].name} }}}}: a filter before it fails on a missing field",
                filter_node.lineno,
            )
    return node.name, bool(chain) and chain[0].name == "default"


def _describe_forbidden(node: nodes.Node | None) -> str:
    for kind, message in _FORBIDDEN_EXPRESSIONS.items():
        if isinstance(node, kind):
            return message
    return "only {{ field }} and {{ field | filter('literal') }} are allowed"


def _check_filter(node: nodes.Filter) -> None:
    if node.name not in _FILTER_PARAMS:
        allowed = ", ".join(ALLOWED_FILTERS)
        raise TemplateProblem(
            f"filter {node.name!r} is not allowed (allowed: {allowed})", node.lineno
        )
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        raise TemplateProblem(f"filter {node.name!r} takes literal arguments only", node.lineno)
    params = _FILTER_PARAMS[node.name]
    if len(node.args) > len(params):
        most = f"at most {len(params)} argument(s)" if params else "no arguments"
        raise TemplateProblem(f"filter {node.name!r} takes {most}", node.lineno)
    given = [(params[i], arg) for i, arg in enumerate(node.args)]
    names = [name for name, _ in params]
    for keyword in node.kwargs:
        key = str(keyword.key)
        if key not in names:
            raise TemplateProblem(f"filter {node.name!r} has no argument {key!r}", node.lineno)
        given.append((params[names.index(key)], keyword.value))
    if len({param for param, _ in given}) < len(given):
        raise TemplateProblem(f"filter {node.name!r} got an argument twice", node.lineno)
    for (name, kind), value in given:
        if not isinstance(value, nodes.Const) or type(value.value) is not kind:
            what = "a quoted string" if kind is str else "true or false"
            raise TemplateProblem(
                f"argument {name!r} of filter {node.name!r} must be {what}", node.lineno
            )
