"""Placeholders and sandboxed rendering: the tiny allowed language, blanks, and the contract
that nothing but TemplateProblem or MissingField ever escapes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.core.templates import (
    MissingField,
    Placeholder,
    TemplateProblem,
    missing_fields,
    placeholders,
    render,
)

BODY = "Hi {{ first_name }}, new listings in {{ city | default('your area') }}. Reply STOP."


def test_placeholders_in_order_with_defaults() -> None:
    assert placeholders(BODY) == (Placeholder("first_name", False), Placeholder("city", True))


def test_a_field_used_once_without_default_is_required() -> None:
    body = "{{ city | default('here') }} and {{ city }} then {{ name | default('you') | title }}"
    assert placeholders(body) == (Placeholder("city", False), Placeholder("name", True))


def test_render_fills_fields_and_applies_filters() -> None:
    assert render(BODY, {"first_name": "Ana", "city": "Austin"}) == (
        "Hi Ana, new listings in Austin. Reply STOP."
    )
    body = "{{ a | upper }} {{ b | lower }} {{ c | title }} {{ d | capitalize }} [{{ e | trim }}]"
    fields = {"a": "ana", "b": "BOB", "c": "el paso", "d": "hello WORLD", "e": "  x  "}
    assert render(body, fields) == "ANA bob El Paso Hello world [x]"
    assert render("{{ e | trim('-') }}", {"e": "--x--"}) == "x"


@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
def test_blank_fields_use_the_default_or_are_missing(blank: str | None) -> None:
    fields = {"first_name": "Ana"} if blank is None else {"first_name": "Ana", "city": blank}
    assert render(BODY, fields) == "Hi Ana, new listings in your area. Reply STOP."
    no_default = "Hi {{ first_name }}"
    other = {} if blank is None else {"first_name": blank}
    with pytest.raises(MissingField) as caught:
        render(no_default, other)
    assert caught.value.name == "first_name"
    assert missing_fields(no_default, other) == ("first_name",)


def test_missing_fields_lists_only_required_blanks() -> None:
    assert missing_fields(BODY, {"city": "Austin"}) == ("first_name",)
    assert missing_fields(BODY, {"first_name": "Ana"}) == ()


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("{% if a %}x{% endif %}", 1, "statements"),
        ("{% raw %}{{ x }}{% endraw %}", 1, "statements"),
        ("{{ a.b }}", 1, "attribute"),
        ("{{ ''.__class__ }}", 1, "attribute"),
        ("{{ a['b'] }}", 1, "item access"),
        ("{{ a[1:2] }}", 1, "item access"),
        ("{{ lipsum() }}", 1, "calls"),
        ("{{ a is defined }}", 1, "tests"),
        ("{{ 'text' }}", 1, "literal"),
        ("{{ a ~ b }}", 1, "only {{ field }}"),
        ("{{ a if b }}", 1, "only {{ field }}"),
        ("{{ a | safe }}", 1, "not allowed"),
        ("{{ a | attr('x') }}", 1, "not allowed"),
        ("{{ a | upper(1) }}", 1, "no arguments"),
        ("{{ a | default(b) }}", 1, "quoted string"),
        ("{{ a | default('x', 'y') }}", 1, "true or false"),
        ("{{ a | default(nope='x') }}", 1, "no argument 'nope'"),
        ("{{ a | default('x', default_value='y') }}", 1, "twice"),
        ("{{ a | default(*b) }}", 1, "literal arguments"),
        ("{{ a | upper | default('x') }}", 1, "put default first"),
        ("{{ self }}", 1, "reserved"),
        ("line one\nline two {{ a.b }}", 2, "attribute"),
        ("one\ntwo\nthree {{ a", 3, "end of template"),
        ("{{ }}", 1, ""),
        ("{{ a }", 1, ""),
    ],
)
def test_forbidden_constructs_are_problems_with_their_line(
    body: str, line: int, words: str
) -> None:
    with pytest.raises(TemplateProblem) as caught:
        placeholders(body)
    assert caught.value.line == line
    assert words in caught.value.message
    with pytest.raises(TemplateProblem):
        render(body, {"a": "x", "b": "y"})


def test_default_with_boolean_flag_is_allowed() -> None:
    assert render("{{ a | default('x', true) }}", {}) == "x"


def test_line_endings_and_trailing_newline_are_kept() -> None:
    assert render("Hi {{ a }}\r\nbye\r\n", {"a": "Ana"}) == "Hi Ana\r\nbye\r\n"
    assert render("Hi {{ a }}\n", {"a": "Ana"}) == "Hi Ana\n"
    assert render("Hi {{ a }}\rbye", {"a": "Ana"}) == "Hi Ana\rbye"


def test_field_values_are_never_evaluated() -> None:
    assert render("{{ a }}", {"a": "{{ b }} {% x %}"}) == "{{ b }} {% x %}"
    assert render("{{ a }}", {"a": "<b>&"}) == "<b>&"  # no escaping: it is an SMS


def test_comments_are_dropped_and_plain_braces_are_text() -> None:
    assert render("a{# note #}b {{ x }}", {"x": "1"}) == "ab 1"
    assert render("price {5} } {", {}) == "price {5} } {"


# --------------------------------------------------------------------------- properties

JINJA_NOISE = st.sampled_from([*list("{}%#|()'\".,:[]~-+ "), "{{", "}}", "{%", "%}", "{#", "#}"])
NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n not in {"self", "loop", "super", "caller", "varargs", "kwargs", "true", "false",
                        "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
                        "else", "import", "for", "recursive", "with", "without", "context",
                        "as", "elif", "endif", "block", "pluck"}
)  # fmt: skip
ARBITRARY_BODIES = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(JINJA_NOISE, NAMES, st.sampled_from(["upper", "default", "trim", "a.b"])),
             max_size=20).map("".join),
)  # fmt: skip
FIELD_MAPS = st.dictionaries(
    st.one_of(NAMES, st.text(max_size=5)), st.text(max_size=10), max_size=5
)


@settings(max_examples=400)
@given(ARBITRARY_BODIES, FIELD_MAPS)
def test_only_the_two_documented_errors_escape(body: str, fields: dict[str, str]) -> None:
    try:
        placeholders(body)
    except TemplateProblem as problem:
        assert problem.line >= 1
    try:
        output = render(body, fields)
    except (TemplateProblem, MissingField):
        return
    assert isinstance(output, str)


@given(st.text(max_size=200).map(lambda s: s.replace("{", "")))
def test_a_body_without_braces_renders_unchanged(body: str) -> None:
    assert placeholders(body) == ()
    assert render(body, {"a": "x"}) == body


LITERALS = st.text(st.characters(blacklist_characters="{}\r"), max_size=15)
VALUES = st.text(min_size=1, max_size=15).filter(lambda v: v.strip() != "")


@settings(max_examples=200)
@given(st.lists(st.tuples(LITERALS, NAMES), min_size=1, max_size=5), LITERALS, st.data())
def test_present_fields_appear_verbatim(
    pieces: list[tuple[str, str]], tail: str, data: st.DataObject
) -> None:
    names = list(dict.fromkeys(name for _, name in pieces))
    fields = {name: data.draw(VALUES) for name in names}
    body = "".join(f"{text}{{{{ {name} }}}}" for text, name in pieces) + tail
    expected = "".join(text + fields[name] for text, name in pieces) + tail
    assert render(body, fields) == expected
    assert placeholders(body) == tuple(Placeholder(name, False) for name in names)
