"""Bad input, generated: YAML resources (well-formed and not), CSV groups, raw bytes, and
Twilio webhook forms. Shared by the hypothesis tests and the controller fuzz."""

from __future__ import annotations

import random
from pathlib import Path

import yaml
from hypothesis import strategies as st

from tests.cli.repo import Repo
from tests.faults.world import SENDER, phones

KINDS = ["Template", "Campaign", "ProspectGroup", "DoNotCallList", "Settings", "Other", ""]
TOKENS = [
    ":", "- ", "---\n", "\t", "  ", "\n", "{", "}", "[", "]", "&a ", "*a", "!!python/object:os.system",
    "!!binary", "'", '"', "#", "|", ">", "?", "%YAML 1.1\n", "{{", "}}", "{{ x }}", "{% for %}",
    "\x00", "\ufeff", "\u2028", "0x1F", "1e999", "-.inf", ".nan", "~", "null", "yes", "2026-13-45",
    "waitDays: -1", "status: published", "status: active", "apiVersion: campaignctl/v1",
    "phones: [", "+1", "+999999999999999999", "timezone: Mars/Olympus",
]  # fmt: skip
PHONE_LIKE = [
    "+12125550100", "(212) 555-0101", "212.555.0102", "+1 212 555 0103", "5550104", "+44 20 7946 0958",
    "+800 1234 5678", "1-800-555-0199", "+1212555010", "++1212", "", " ", "phone", "+", "0", "911",
    "+12125550100;+12125550100", ";;", "+1 (212) 555-01\x0005", "١٢١٢٥٥٥٠١٠٠",
]  # fmt: skip
COLUMNS = ["phone", "phone1", "phone2", "timezone", "first_name", "city", "", "phone", " phone "]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(TOKENS + PHONE_LIKE),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
names = st.one_of(
    st.sampled_from(["buyer-followup", "spring-buyers", "open-house"]), st.text(max_size=70)
)


@st.composite
def resource_documents(draw: st.DrawFn) -> str:
    """One or more YAML documents shaped like resources, with random parts."""
    documents = []
    for _ in range(draw(st.integers(1, 3))):
        document = {
            "apiVersion": draw(st.sampled_from(["campaignctl/v1", "campaignctl/v2", 1, None])),
            "kind": draw(st.sampled_from(KINDS)),
            "metadata": draw(st.one_of(st.fixed_dictionaries({"name": names}), values)),
            "spec": draw(values),
        }
        for key in draw(st.lists(st.sampled_from(sorted(document)), max_size=2, unique=True)):
            del document[key]
        documents.append(yaml.safe_dump(document, allow_unicode=draw(st.booleans())))
    return "---\n".join(documents)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` with a few random edits: cuts, and insertions of YAML-significant tokens."""
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 12))
        insert = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)))
        text = text[:at] + insert + text[at + cut :]
    return text


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(st.lists(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=10)), max_size=6))
    rows = draw(
        st.lists(
            st.lists(st.one_of(st.sampled_from(PHONE_LIKE), st.text(max_size=15)), max_size=7),
            max_size=8,
        )
    )
    quote = draw(st.booleans())

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if quote else value

    lines = [",".join(cell(c) for c in row) for row in [header, *rows]]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return bom + newline.join(lines)


def repo_files(repo: Repo) -> dict[str, Path]:
    return {
        "template": repo.dir / "templates/buyer-followup.yaml",
        "campaign": repo.dir / "campaigns/spring-buyers.yaml",
        "group": repo.dir / "groups/open-house.yaml",
        "csv": repo.dir / "groups/open-house.csv",
        "settings": repo.dir / "settings.yaml",
    }


def standard_repo(root: Path, contacts: int = 3) -> Repo:
    repo = Repo(root)
    repo.standard(sender=SENDER)
    repo.group(rows=[(p, f"Name{i}") for i, p in enumerate(phones(contacts))])
    return repo


# --------------------------------------------------------------- seeded, for a running controller


def random_bad_file(rng: random.Random, good: str) -> bytes:
    """A damaged version of a good file, without hypothesis (for the controller stream)."""
    how = rng.randrange(5)
    if how == 0:  # cut short
        return good[: rng.randrange(len(good) + 1)].encode()
    if how == 1:  # bytes that are not UTF-8
        return rng.randbytes(rng.randrange(1, 200))
    if how == 2:  # tokens sprinkled in
        text = good
        for _ in range(rng.randint(1, 5)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(TOKENS) + text[at + rng.randrange(6) :]
        return text.encode("utf-8", "surrogatepass")
    if how == 3:  # a line duplicated (duplicate keys)
        lines = good.splitlines(keepends=True) or [""]
        at = rng.randrange(len(lines))
        return "".join([*lines[: at + 1], lines[at], *lines[at + 1 :]]).encode()
    return b""  # emptied
