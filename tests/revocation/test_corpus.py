"""The revocation classifier measured on a corpus of replies written by hand (corpus.csv):
revocations in many phrasings (typos, emoji, all caps, punctuation, sentences around them,
Spanish), replies that may revoke, wrong numbers, and ordinary replies that must not opt
out. No clear revocation may be missed; the figures are printed (`pytest -s`) and kept in
README.md ("Compliance")."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from campaignctl.core.revocation import VERDICT_KINDS, VerdictKind, classify

CORPUS = Path(__file__).with_name("corpus.csv")
MIN_PRECISION = 0.98  # of `revoke`: an ordinary reply opted out is rare, and listed


def corpus() -> list[tuple[str, VerdictKind]]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        rows = [(row["text"], row["expected"]) for row in csv.DictReader(handle)]
    assert all(expected in VERDICT_KINDS for _, expected in rows)
    return rows  # type: ignore[return-value]


def test_the_corpus_is_large_and_varied() -> None:
    rows = corpus()
    kinds = Counter(expected for _, expected in rows)
    assert len(rows) >= 300
    assert kinds["revoke"] >= 150 and kinds["none"] >= 80
    assert kinds["review"] >= 30 and kinds["wrong_number"] >= 20
    assert len({text for text, _ in rows}) == len(rows)


def test_no_clear_revocation_is_missed_and_precision_holds() -> None:
    rows = corpus()
    confusion: Counter[tuple[str, str]] = Counter()
    missed: list[str] = []
    in_review: list[str] = []
    false_revocations: list[str] = []
    for text, expected in rows:
        got = classify(text)
        confusion[(expected, got.kind)] += 1
        if expected == "revoke" and got.kind != "revoke":
            missed.append(f"{text!r} -> {got}")
        if expected == "none" and got.kind == "review":
            in_review.append(f"{text!r} ({got.rule})")
        if expected != "revoke" and got.kind == "revoke":
            false_revocations.append(f"{text!r} [{expected}] ({got.rule})")
    true_positive = confusion[("revoke", "revoke")]
    predicted = sum(n for (_, got), n in confusion.items() if got == "revoke")
    actual = sum(n for (expected, _), n in confusion.items() if expected == "revoke")
    precision, recall = true_positive / predicted, true_positive / actual
    header = "expected \\ got".ljust(14) + "".join(kind.rjust(14) for kind in VERDICT_KINDS)
    table = [header] + [
        kind.ljust(14) + "".join(str(confusion[(kind, got)]).rjust(14) for got in VERDICT_KINDS)
        for kind in VERDICT_KINDS
    ]
    print(f"\n{len(rows)} replies; revoke: precision {precision:.3f}, recall {recall:.3f}")
    print("\n".join(table))
    print("ordinary replies held for review:", *in_review, sep="\n  ")
    print("replies opted out that were not revocations:", *false_revocations, sep="\n  ")
    assert not missed, "clear revocations missed:\n" + "\n".join(missed)
    assert precision >= MIN_PRECISION, false_revocations
    wrong = [(t, e) for t, e in rows if e == "wrong_number" and classify(t).kind != e]
    assert not wrong, wrong
    review = [(t, e) for t, e in rows if e == "review" and classify(t).kind not in ("review",)]
    assert not review, review
