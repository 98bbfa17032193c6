"""Parsing the numbers of a large CSV in worker processes (the speed-up measured by the
enrollment benchmark) gives exactly what parsing them in this process gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.generate import write_contacts_csv

import campaignctl.config.contacts as contacts_module
from campaignctl import config
from campaignctl.app import apply as engine
from campaignctl.app.executor import ApplyOptions
from campaignctl.clock import FrozenClock
from campaignctl.config.phone_workers import (
    BATCH_NUMBERS,
    BatchNormalizer,
    OrderedRows,
    normalize_batch,
)
from campaignctl.core.instants import parse_instant
from campaignctl.providers.outbox import OutboxProvider
from campaignctl.store import Store
from tests.cli.repo import SETTINGS, Repo

NUMBERS = [
    "(415) 555-0100",
    "+44 20 7946 0958",
    "555-0199",
    "+1 800 555 0100",
    "not a number",
    "+1 208 555 0100",
    "",
    "212-555-0199 ext. 12",
]
NIGHT = parse_instant("2026-03-02T08:00:00Z")  # 03:00 in New York: enrolled, nothing sent


def test_workers_answer_what_this_process_would() -> None:
    with BatchNormalizer("US", parallel=True) as normalizer:
        assert normalizer.workers == 2
        pending = [normalizer.submit(NUMBERS[i:] + NUMBERS[:i]) for i in range(len(NUMBERS))]
        answers = [batch.results() for batch in pending]
    for i, answer in enumerate(answers):
        local = BatchNormalizer("US", parallel=False).submit(NUMBERS[i:] + NUMBERS[:i])
        assert answer == local.results()
    assert isinstance(answers[0][0], type(answers[0][1]))  # both valid numbers
    assert (
        answers[0][2]
        == normalize_batch(["555-0199"], "US")[0]
        == ("not a valid number for region US")
    )


def test_rows_come_back_in_the_order_they_were_added_a_few_batches_in_flight() -> None:
    seen: list[tuple[int, int]] = []
    with BatchNormalizer("US", parallel=True) as normalizer:
        rows = OrderedRows(normalizer, lambda row, results: seen.append((row, len(results))))
        in_flight = (normalizer.lookahead + 1) * BATCH_NUMBERS  # rows of one number each
        for row in range(in_flight + 3 * BATCH_NUMBERS):
            rows.add(row, NUMBERS[:1] if row % 7 else NUMBERS[: row % 3])
            assert row + 1 - len(seen) <= in_flight
        rows.finish()
    assert seen == [(row, 1 if row % 7 else row % 3) for row in range(len(seen))]
    assert len(seen) == in_flight + 3 * BATCH_NUMBERS


def _group_repo(root: Path, *, errors: bool) -> Path:
    config_dir = root / "campaigns.d"
    csv_path = config_dir / "contacts.csv"
    write_contacts_csv(csv_path, 12_000, seed=5)
    with csv_path.open("a", encoding="utf-8") as handle:  # rows with problems, in the middle
        if errors:
            handle.write("Ana,Lee,(415) 555-0100,Austin\n")  # too few values
            handle.write("Ana,Lee,(415) 555-0101,Austin,Mars/Olympus\n")  # not a zone
        handle.write("Ana,Lee,,Austin,\n")  # no number
        handle.write("Ana,Lee,555-0199;(415) 555-0102,Austin,\n")  # an invalid one
        handle.writelines(f"Bo,Ng,+1 650 555 {n:04d},Reno,\n" for n in range(200))
    (config_dir / "group.yaml").write_text(
        "apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata:\n  name: big\n"
        "spec:\n  csv: contacts.csv\n",
        encoding="utf-8",
    )
    return config_dir


def _load_both_ways(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[config.LoadResult, config.LoadResult]:
    monkeypatch.setattr(contacts_module, "PARALLEL_MIN_BYTES", 1 << 40)
    here = config.load(config_dir)
    monkeypatch.setattr(contacts_module, "PARALLEL_MIN_BYTES", 0)
    return here, config.load(config_dir)


def test_a_group_loads_the_same_with_workers_and_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, with_workers = _load_both_ways(_group_repo(tmp_path, errors=False), monkeypatch)
    assert here.issues == with_workers.issues
    assert here.desired is not None and with_workers.desired is not None
    assert here.desired.groups == with_workers.desired.groups
    group = here.desired.groups["big"]
    assert len(group.contacts) > 12_000
    assert [c.phone for c in group.contacts[-2:]] == ["+16505550198", "+16505550199"]
    assert [i.reason for i in group.invalid][-2:] == [
        "no phone number",
        "not a valid number for region US",
    ]


def test_errors_in_a_large_csv_are_reported_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, with_workers = _load_both_ways(_group_repo(tmp_path, errors=True), monkeypatch)
    assert not here.ok
    assert here.issues == with_workers.issues
    assert any("is not an IANA time zone" in i.message for i in here.errors)
    assert any("values, but the header has 5 columns" in i.message for i in here.errors)


def _two_region_repo(root: Path) -> Repo:
    """Two campaigns over two groups whose numbers are written without a country code: one
    read as US numbers, one as UK numbers."""
    repo = Repo(root)
    repo.template()
    repo.write("settings.yaml", SETTINGS)
    regions = {
        "us": ("US", "(212) 555-{:04d}", "+15125550147"),
        "uk": ("GB", "020 7946 {:04d}", "+15125550148"),
    }
    for name, (region, number, sender) in regions.items():
        repo.campaign(f"{name}-buyers", group=f"{name}-group", sender=sender)
        repo.write(
            f"groups/{name}.csv",
            "phone,first_name,city\n"
            + "".join(f"{number.format(i)},Ana,Leeds\n" for i in range(300)),
        )
        repo.write(
            f"groups/{name}.yaml",
            f"apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata:\n  name: {name}-group\n"
            f"spec:\n  defaultRegion: {region}\n  csv: {name}.csv\n",
        )
    return repo


def _enrolled(repo: Repo, state: Path) -> list[tuple[str, str, str]]:
    clock = FrozenClock(NIGHT)
    with Store.open(str(state)) as store:
        engine.apply_now(repo.dir, store, OutboxProvider(store, clock), clock,
                         ApplyOptions(holder="test", batch=100))  # fmt: skip
        rows = store._conn.execute(
            "SELECT campaign, phone, zones FROM enrollments ORDER BY id"
        ).fetchall()
    return [(str(c), str(p), str(z)) for c, p, z in rows]


def test_one_apply_parses_the_groups_of_two_regions_with_the_same_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply starts its phone workers before it looks through the groups it reads, and
    they parse every large group in that group's own region."""
    repo = _two_region_repo(tmp_path / "repo")
    monkeypatch.setattr(contacts_module, "PARALLEL_MIN_BYTES", 1 << 40)
    here = _enrolled(repo, tmp_path / "here.db")
    monkeypatch.setattr(contacts_module, "PARALLEL_MIN_BYTES", 0)
    with_workers = _enrolled(repo, tmp_path / "workers.db")
    assert with_workers == here
    assert {c for c, _, _ in here} == {"us-buyers", "uk-buyers"}
    uk = sorted(p for c, p, _ in here if c == "uk-buyers")
    us = sorted(p for c, p, _ in here if c == "us-buyers")
    assert uk[:2] == ["+442079460000", "+442079460001"] and len(uk) == 300
    assert us[:2] == ["+12125550000", "+12125550001"] and len(us) == 300
