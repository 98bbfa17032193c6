"""`plan --format markdown`, the pull-request comment, through the real CLI on real state
files: what it shows, what it refuses, how it caps a large plan, that no text from the files
can break its tables, and that phone numbers are masked unless asked for."""

from __future__ import annotations

import csv
import json
import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from campaignctl.render.markdown import COMMENT_LIMIT, MARKER
from tests.cli.repo import TEMPLATE, Repo

NOON = "2026-03-02T17:00:00Z"  # 12:00 in New York, 11:00 in Chicago
EVENING = "2026-03-03T02:30:00Z"  # 21:30 in New York (quiet), 20:30 in Chicago
NIGHT = "2026-03-03T04:00:00Z"  # quiet in both
ANA, BO = "+12125550100", "+13125550101"
PARSER = MarkdownIt("commonmark").enable("table")


def funded(root: Path, credits: int = 100) -> Repo:
    repo = Repo(root).standard()
    assert repo.run("credits", "add", str(credits), now=NOON).exit_code == 0
    return repo


def markdown(repo: Repo, *args: str, now: str = NOON) -> str:
    result = repo.run("plan", "--format", "markdown", *args, now=now)
    assert result.exit_code == 0, result.output
    return result.output


def inline_text(inline: Token) -> str:
    """The text a cell or list item shows; any markup in it (emphasis, code, a link, raw
    HTML other than the line breaks the renderer writes) fails the test."""
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "text_special"):
            parts.append(child.content)
        elif child.type == "html_inline" and child.content == "<br>":
            parts.append("\n")
        else:
            raise AssertionError(f"markup in a value: {child.type} {child.content!r}")
    return "".join(parts)


def shown(value: str) -> str:
    """What a value looks like rendered: its line breaks, of any kind, as newlines."""
    return re.sub(r"\r\n|\r", "\n", value)


def tables(source: str) -> list[list[list[str]]]:
    """Every table of the document, parsed as GitHub does: rows of cell texts (header first)."""
    found: list[list[list[str]]] = []
    row: list[str] = []
    cell = False
    for token in PARSER.parse(source):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            found[-1].append(row)
        elif token.type in ("th_open", "td_open"):
            cell = True
        elif token.type == "inline" and cell:
            row.append(inline_text(token))
            cell = False
        elif token.type in ("th_close", "td_close") and cell:
            row.append("")  # an empty cell has no inline token
            cell = False
    return found


def raw_cells(line: str) -> int:
    """How many cells a table line of the source has: GitHub splits a row at each pipe that
    no backslash precedes."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def campaign_table(source: str) -> dict[str, list[str]]:
    header, *rows = tables(source)[0]
    assert header[0] == "Campaign"
    return {row[0]: row for row in rows}


def action_rows(source: str) -> list[list[str]]:
    header, *rows = tables(source)[-1]
    assert header == ["Action", "Campaign", "Phone", "Step", "Detail"]
    return rows


def text_line(repo: Repo, campaign: str, now: str) -> str:
    """The campaign's summary line in the text plan."""
    result = repo.run("plan", now=now)
    (line,) = [x for x in result.output.splitlines() if x.startswith(f"  {campaign} ")]
    return line


def test_launch_shows_the_state_the_table_and_the_launch_review(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    source = markdown(repo, "--show-numbers")
    assert source.startswith(MARKER + "\n## campaignctl plan\n")
    assert (
        "Planned against state serial **1** at `2026-03-02T17:00:00Z` "
        "(valid until `2026-03-02T17:15:00Z`)." in source
    )
    assert campaign_table(source)["spring-buyers"] == [
        "spring-buyers", "new", "draft → active (launch)", "2", "2", "2", "", "", "", "",
    ]  # fmt: skip
    assert "**Summary:** 1 campaign_status, 2 enroll, 2 send; credits 2 (balance 100 → 98)." in (
        source
    )
    # the launch review, line for line as the text plan shows it
    text = repo.run("plan", now=NOON).output.splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("Launching spring-buyers"))
    review = text[start : text.index("", start)]
    assert len(review) == 7 and review[-1].startswith("  forecast: credits last")
    assert "### Launching spring-buyers\n\n```text\n" + "\n".join(review) + "\n```\n" in source
    assert [row[:4] for row in action_rows(source)] == [
        ["campaign_status", "spring-buyers", "", ""],
        ["enroll", "spring-buyers", ANA, ""],
        ["enroll", "spring-buyers", BO, ""],
        ["send", "spring-buyers", ANA, "1"],
        ["send", "spring-buyers", BO, "1"],
    ]
    assert "<details><summary>Actions: 5 (5 listed)</summary>" in source


def test_sends_and_defers_have_the_text_plans_figures(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    assert repo.run("apply", now=NOON).exit_code == 0
    repo.group(rows=[(ANA, "Ana"), (BO, "Bo"), ("+12125550102", "Cy"), ("+13125550103", "Di")])
    source = markdown(repo, now=EVENING)
    row = campaign_table(source)["spring-buyers"]
    assert row == [
        "spring-buyers", "active", "", "2", "1", "1", "1 (quiet_hours 1)", "", "", "",
    ]  # fmt: skip
    assert text_line(repo, "spring-buyers", EVENING).endswith(
        "enroll 2; send 1 (1 credits); defer 1 (quiet_hours 1)"
    )
    defer = next(r for r in action_rows(source) if r[0] == "defer")
    assert defer[2:] == ["+1212555****", "1", "quiet_hours until 2026-03-03T13:00:00Z"]
    # --detailed-exitcode keeps its meaning: 2 with changes, 0 with defers only
    assert (
        repo.run("plan", "--format", "markdown", "--detailed-exitcode", now=EVENING).exit_code == 2
    )
    assert repo.run("apply", now=EVENING).exit_code == 0
    quiet = repo.run("plan", "--format", "markdown", "--detailed-exitcode", now=NIGHT)
    assert quiet.exit_code == 0, quiet.output
    assert campaign_table(quiet.output)["spring-buyers"][3:7] == ["", "", "", "1 (quiet_hours 1)"]


def test_a_refused_live_edit_is_shown_with_its_file_and_line(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    assert repo.run("apply", now=NOON).exit_code == 0
    serial = repo.json("plan", now=NOON)["state_serial"]
    template = repo.dir / "templates/buyer-followup.yaml"
    template.write_text(template.read_text().replace("it's Sam", "it's *Sam* | <b>"))
    done = repo.process("plan", "--format", "markdown", "--detailed-exitcode", "--now", NOON)
    assert done.returncode == 1
    (error,) = done.stderr.splitlines()
    assert error.startswith(f"{template}:8:13: template 'buyer-followup' is used by")
    assert done.stdout.startswith(MARKER)
    assert f"Checked against state serial **{serial}** at `2026-03-02T17:00:00Z`." in done.stdout
    block = done.stdout[done.stdout.index("> [!CAUTION]") :].splitlines()
    assert block[1] == (
        "> **Refused:** this change cannot be planned, and nothing of it would be applied."
    )
    (item,) = [line for line in block if line.startswith("> - ")]
    (shown,) = [inline_text(t) for t in PARSER.parse(item) if t.type == "inline"]
    assert shown == error


def test_a_configuration_the_planner_refuses_is_shown(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    assert repo.run("apply", now=NOON).exit_code == 0
    (repo.dir / "campaigns/spring-buyers.yaml").unlink()
    done = repo.process("plan", "--format", "markdown", "--now", NOON)
    assert done.returncode == 1
    assert "> - the configuration has no campaigns but the state has 1 live" in done.stdout
    repo.campaign(template="no-such-template")
    done = repo.process("plan", "--format", "markdown", "--now", NOON)
    assert done.returncode == 1  # the broken file holds its campaign: planned without it
    assert "spring-buyers.yaml:6:13: unknown template 'no-such-template'" in done.stderr
    assert "is held by a configuration error" in done.stdout and "no-such-template" in done.stdout


def test_a_large_plan_lists_the_first_actions_and_counts_the_rest(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    repo.group(rows=[(f"+1212555{n:04d}", f"C{n}") for n in range(150)])
    assert repo.run("credits", "add", "1000", now=NOON).exit_code == 0
    source = markdown(repo)
    assert "<details><summary>Actions: 301 (100 listed)</summary>" in source
    assert len(action_rows(source)) == 100
    assert "… and 201 more actions: `campaignctl plan --verbose` lists every one." in source
    assert campaign_table(source)["spring-buyers"][3:6] == ["150", "150", "150"]


def test_a_plan_of_long_messages_stays_under_githubs_comment_limit(tmp_path: Path) -> None:
    repo = Repo(tmp_path).standard()
    long_body = "Hi {{ first_name }}, " + "a long listing description | * < ` " * 40
    repo.write(
        "templates/buyer-followup.yaml",
        TEMPLATE.format(name="buyer-followup").replace(
            "\"Hi {{ first_name }}, it's Sam", f'"{long_body}Sam', 1
        ),
    )
    repo.group(rows=[(f"+1212555{n:04d}", f"C{n}") for n in range(60)])
    assert repo.run("credits", "add", "10000", now=NOON).exit_code == 0
    source = markdown(repo)
    assert len(source) <= COMMENT_LIMIT
    listed = len(action_rows(source))
    assert 61 + 20 < listed < 100  # the status change, the enrollments, some of the sends
    assert f"Actions: 121 ({listed} listed)" in source
    assert f"… and {121 - listed} more actions" in source
    assert source.rstrip().endswith("</details>")


def test_numbers_are_masked_unless_shown(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    repo.group(rows=[(ANA, "Ana"), (BO, "Bo"), ("212-555-01", "Short")])
    masked = markdown(repo)
    for number in (ANA, BO, "+15125550147"):
        assert number not in masked
    assert not re.search(r"\d{8}", masked), "a whole number left"
    phones = [row[2] for row in action_rows(masked) if row[2]]
    assert phones == ["+1212555****", "+1312555****", "212-5**-**", "+1212555****", "+1312555****"]
    assert "from +1512555****, quiet hours" in masked
    shown = markdown(repo, "--show-numbers")
    phones = [row[2] for row in action_rows(shown) if row[2]]
    assert phones == [ANA, BO, "212-555-01", ANA, BO]
    assert "from +15125550147, quiet hours" in shown


def test_other_commands_refuse_markdown_in_one_line(tmp_path: Path) -> None:
    repo = funded(tmp_path)
    for args in (
        ["status", "--format", "markdown"],
        ["--format", "markdown", "status"],
        ["credits", "show", "--format", "markdown"],
        ["--format", "markdown", "credits", "show"],
        ["validate", "--format", "markdown"],
        ["outbox", "--format", "github"],
        ["--format", "github", "status"],
        ["apply", "--format", "markdown"],
    ):
        done = repo.process(*args)
        assert done.returncode == 1, args
        assert done.stdout == "", args
        command = " ".join(a for a in args if a not in ("--format", "markdown", "github"))
        fmt = "github" if "github" in args else "markdown"
        assert done.stderr.splitlines() == [
            f"error: --format {fmt}: `campaignctl {command}` writes only "
            + ("text, json or github" if command == "validate" else "text or json")
        ], args
    assert repo.json("credits", "show")["balance"] == 100  # apply did nothing
    assert repo.process("--format", "markdown", "plan", "--now", NOON).returncode == 0


MARKUP = st.sampled_from([*"|\\*_`<>&[]()!~$#-+=.:1 \t\r\n", "&amp;", "<br>", "```"])
HOSTILE = st.lists(
    st.one_of(MARKUP, st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    min_size=1,
    max_size=30,
).map("".join)
FILENAME = (
    st.lists(
        st.one_of(
            st.sampled_from(list("|*_`<>&[]()!~$#-+=. ")),
            st.characters(
                blacklist_categories=("Cs", "Cc", "Cn", "Co"), blacklist_characters="/\\"
            ),
        ),
        min_size=1,
        max_size=30,
    )
    .map("".join)
    .filter(lambda name: name.strip() not in ("", ".", ".."))
)


@settings(max_examples=40)
@given(name=HOSTILE, raw_phone=HOSTILE, filename=FILENAME, show=st.booleans())
def test_no_text_from_the_files_breaks_a_table(
    name: str, raw_phone: str, filename: str, show: bool
) -> None:
    with tempfile.TemporaryDirectory() as root:
        repo = Repo(Path(root)).standard()
        csv_name = f"{filename}.csv"
        with (repo.dir / "groups" / csv_name).open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(
                [["phone", "first_name", "city"], [ANA, name, "Austin"], [raw_phone, "Bo", "A"]]
            )
        repo.write(
            "groups/open-house.yaml",
            "apiVersion: campaignctl/v1\nkind: ProspectGroup\nmetadata:\n  name: open-house\n"
            f"spec:\n  defaultRegion: US\n  csv: {json.dumps(csv_name, ensure_ascii=False)}\n",
        )
        assert repo.run("credits", "add", "100", now=NOON).exit_code == 0
        plan = repo.json("plan", now=NOON)
        source = markdown(repo, *(["--show-numbers"] if show else []))
    for line in re.split(r"\r\n|\r|\n", source):  # a Markdown line ends only there
        if line.startswith("| "):
            assert raw_cells(line) in (10, 5), line
    campaigns, actions = tables(source)
    assert [len(row) for row in campaigns] == [10, 10]
    assert [len(row) for row in actions] == [5] * (1 + len(plan["actions"]))
    if not show:
        return
    for row, action in zip(actions[1:], plan["actions"], strict=True):
        phone = shown(action.get("phone") or "")
        assert row[:3] == [action["type"], "spring-buyers", phone]
        if action["type"] == "send":
            cost = f"{action['segments']} seg, {action['credits']} cr: "
            assert row[4] == cost + shown(action["body"])
        elif action["type"] == "enroll":
            assert row[4].startswith("(") and csv_name in row[4]
