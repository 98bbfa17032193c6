"""Reading YAML: positions, YAML 1.2 scalars, and every kind of hostile file refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.config import load
from campaignctl.config.yamlload import (
    ALIAS_BUDGET,
    MAX_DEPTH,
    YAML_SIZE_LIMIT,
    build_document,
    compose_documents,
    plain_scalar,
)
from tests.config.helpers import found, load_repo, messages, write


def documents(text: str) -> list:
    return [
        build_document(root, "f.yaml", n) for n, root in enumerate(compose_documents(text)) if root
    ]


def test_positions_of_values_and_keys() -> None:
    (doc,) = documents("a: 1\nspec:\n  steps:\n    - body: hi\n      waitDays: 30\n")
    assert doc.data == {"a": 1, "spec": {"steps": [{"body": "hi", "waitDays": 30}]}}
    assert doc.positions[("spec", "steps", 0, "body")] == (4, 13)
    assert doc.positions[("spec", "steps", 0, "waitDays")] == (5, 17)
    assert doc.key_positions[("spec", "steps", 0, "waitDays")] == (5, 7)
    # a path that does not exist falls back to the nearest enclosing value
    assert str(doc.where(("spec", "steps", 0, "nope"))) == "f.yaml:4:7"


def test_yaml_1_2_core_scalars() -> None:
    (doc,) = documents(
        "times: [21:00, 08:00]\nwords: [yes, no, on, off, y]\nbools: [true, False]\n"
        "nums: [12, -3, 0x1f, 0o17, 1.5, 1e3]\nnulls: [~, null, NULL]\nquoted: ['12', \"true\"]\n"
    )
    assert doc.data["times"] == ["21:00", "08:00"]
    assert doc.data["words"] == ["yes", "no", "on", "off", "y"]
    assert doc.data["bools"] == [True, False]
    assert doc.data["nums"] == [12, -3, 31, 15, 1.5, 1000.0]
    assert doc.data["nulls"] == [None, None, None]
    assert doc.data["quoted"] == ["12", "true"]


def test_raw_keys_keep_text_as_written() -> None:
    (doc,) = documents(
        "fields: {zip: 02134, answer: no, empty: }\nphones: [4155550100]\nfrom: +15125550100\n"
    )
    assert doc.data["fields"] == {"zip": "02134", "answer": "no", "empty": ""}
    assert doc.data["phones"] == ["4155550100"]
    assert doc.data["from"] == "+15125550100"


def test_merge_keys_explicit_keys_win() -> None:
    (doc,) = documents("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")
    assert doc.data["use"] == {"x": 1, "y": 3}


@given(st.text(min_size=1, max_size=20))
@settings(max_examples=200)
def test_plain_scalar_never_raises(text: str) -> None:
    plain_scalar(text)


# --------------------------------------------------------------------------- hostile files


def one_error(root: Path, relative: str, content: str | bytes) -> str:
    result = load_repo(root, {relative: content})
    errors = [m for m in messages(result) if ": error: " in m]
    assert len(errors) == 1, errors
    assert not result.ok  # invalid: `require()` refuses it
    return errors[0]


def test_empty_file(root: Path) -> None:
    message = one_error(root, "templates/empty.yaml", "")
    assert message.startswith("campaigns.d/templates/empty.yaml: error: empty file")


def test_comment_only_file(root: Path) -> None:
    message = one_error(root, "notes.yaml", "# nothing here\n---\n")
    assert message.startswith("campaigns.d/notes.yaml: error: empty file")


def test_binary_file(root: Path) -> None:
    message = one_error(root, "logo.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert message.startswith("campaigns.d/logo.yaml:3:1: error: binary file")


def test_non_utf8_yaml(root: Path) -> None:
    message = one_error(root, "latin.yaml", "a: 1\nb: caf\xe9\n".encode("latin-1"))
    assert message.startswith("campaigns.d/latin.yaml:2:7: error: not UTF-8 text (byte 0xe9")


def test_file_over_the_size_limit_is_refused_unread(root: Path) -> None:
    big = "a: " + "x" * (YAML_SIZE_LIMIT * 2) + "\n"
    message = one_error(root, "huge.yaml", big)
    assert message.startswith("campaigns.d/huge.yaml: error: file is 10.0 MB; files over 5 MB")


def test_billion_laughs(root: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    message = one_error(root, "bomb.yaml", "\n".join(lines) + "\n")
    assert f"more than {ALIAS_BUDGET} alias expansions" in message
    assert message.startswith("campaigns.d/bomb.yaml:")


def test_deep_nesting_block(root: Path) -> None:
    text = (
        "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_DEPTH + 5)) + f"{'  ' * (MAX_DEPTH + 5)}v\n"
    )
    message = one_error(root, "deep.yaml", text)
    # the root mapping is level 0: the value at level 51 is written on line 52
    assert message.startswith(f"campaigns.d/deep.yaml:{MAX_DEPTH + 2}:{2 * (MAX_DEPTH + 1) + 1}:")
    assert f"nested deeper than {MAX_DEPTH} levels" in message


def test_deep_nesting_flow_beyond_libyaml(root: Path) -> None:
    message = one_error(root, "deep.yaml", "[" * 100_000 + "]" * 100_000)
    assert message.startswith("campaigns.d/deep.yaml:1:")
    assert "nest" in message


def test_duplicate_keys_reported_at_the_second(root: Path) -> None:
    message = one_error(
        root, "dup.yaml", "apiVersion: campaignctl/v1\nkind: Template\nkind: Campaign\n"
    )
    assert message == (
        "campaigns.d/dup.yaml:3:1: error: duplicate key 'kind' (first defined on line 2)"
    )


def test_tabs_give_yamls_own_message_with_its_line(root: Path) -> None:
    message = one_error(root, "tabs.yaml", "spec:\n\tstatus: draft\n")
    assert message.startswith("campaigns.d/tabs.yaml:2:1: error: a tab in the indentation")
    assert "tabs" in message


def test_syntax_error_line(root: Path) -> None:
    message = one_error(root, "bad.yaml", "a: [1, 2\nb: 3\n")
    assert message.startswith("campaigns.d/bad.yaml:")
    assert "YAML syntax error" in message


def test_unsupported_tag(root: Path) -> None:
    message = one_error(root, "tag.yaml", "a: !!python/object:os.system ls\n")
    assert message.startswith("campaigns.d/tag.yaml:1:4: error: unsupported YAML tag")


def test_document_that_is_not_a_mapping(root: Path) -> None:
    message = one_error(root, "list.yaml", "- a\n- b\n")
    assert message.startswith("campaigns.d/list.yaml:1:1: error: a document must be a mapping")


def test_empty_documents_between_resources_are_ignored(root: Path) -> None:
    write(
        root,
        "settings.yaml",
        "---\n---\napiVersion: campaignctl/v1\nkind: Settings\nmetadata: {name: s}\n---\n",
    )
    result = load_repo(root)
    assert result.ok, messages(result)


def test_hidden_directories_are_skipped(root: Path) -> None:
    result = load_repo(root, {".git/config.yaml": b"\x00\x01", ".#draft.yaml": "::"})
    assert result.ok, messages(result)


def test_missing_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = load(Path("nowhere"))
    assert found(result) == [("nowhere", None, "error", "file")]


def test_numbers_too_long_to_convert_stay_text() -> None:
    (doc,) = documents("a: " + "1" * 5000 + "\nb: 0x" + "f" * 5000 + "\n")
    assert doc.data["a"] == "1" * 5000


def test_kind_that_is_not_a_string(root: Path) -> None:
    message = one_error(root, "k.yaml", "apiVersion: campaignctl/v1\nkind: [Template]\n")
    assert message.startswith("campaigns.d/k.yaml:2:7: error: kind ['Template'] is not one of")


def test_control_character(root: Path) -> None:
    message = one_error(root, "c.yaml", "a: 1\nb: x\x07y\n")
    assert message.startswith(
        "campaigns.d/c.yaml:2:5: error: YAML syntax error: control characters"
    )


YAMLISH = st.lists(
    st.sampled_from(
        [*"abk: -[]{}&*!|>'\"#,?%@\t\n\\~01.+_xyzé\x00\x07\ufeff", "kind: ", "spec:", "  ", "<<: "]
    ),
    max_size=60,
).map("".join)


@given(text=YAMLISH, raw=st.binary(max_size=40))
@settings(max_examples=150, deadline=None)
def test_no_input_raises(tmp_path_factory: pytest.TempPathFactory, text: str, raw: bytes) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "a.yaml").write_text(text, encoding="utf-8")
    (root / "b.yaml").write_bytes(raw)
    result = load(root)
    assert all(issue.location is not None for issue in result.issues)
