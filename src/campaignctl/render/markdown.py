"""Plans as GitHub-flavoured Markdown, for the comment CI posts on a pull request: the state
planned against, one table row per campaign (the figures of the text plan's summary lines),
the launch reviews, what the planner refuses, the notes, and the actions folded away.

Every value that comes from the files or the state (bodies, details, paths, notes, refusal
messages) is escaped, so no text can break the table or the page around it. Phone numbers
are personal data, and a pull request is read widely: they are masked (`+1212555****`)
unless the caller asks to show them.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from campaignctl.core.instants import format_instant
from campaignctl.core.types import Action, Desired, Plan, Snapshot, Tally
from campaignctl.render.edits import relaunch_lines
from campaignctl.render.plan import action_facts, by_campaign, launch_review

MARKER = "<!-- campaignctl plan -->"  # finds the comment to update on the next push
LISTED = 100  # actions listed in the folded table at most
COMMENT_LIMIT = 65_536  # characters: GitHub refuses a longer comment
_CLOSING = 600  # room kept for what follows the listed actions

_PUNCTUATION = frozenset(string.punctuation)
_INLINE = frozenset("\\`*_[]<>!&|~$")  # inline markup, GitHub's math ($) included
_ORDERED = re.compile(r"(\d+)[.)]")  # an ordered list item's marker
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NUMBER = re.compile(r"\+\d{5,}")
_DIGIT = re.compile(r"\d")

CAMPAIGN_COLUMNS = (
    "Campaign", "Status", "Change", "Enroll", "Send", "Credits", "Defer", "Skip", "End",
    "Complete",
)  # fmt: skip
ACTION_COLUMNS = ("Action", "Campaign", "Phone", "Step", "Detail")


def escape(text: str) -> str:
    """`text` as literal Markdown inline content, even at the start of a line (a list item):
    the characters that make inline markup anywhere backslash-escaped (CommonMark lets any
    punctuation be), the first one too when it could open a block (`#`, `-`, `1.`), each line
    break a `<br>`, and the blanks at either end character references (a table trims them,
    and leading ones could make a code block), so a value stays whole on its row or item."""
    text = _LINE_BREAK.sub("\n", text)
    core = text.strip()
    if not core:
        return _references(text)
    head = text[: text.index(core)]
    tail = text[len(head) + len(core) :]
    escaped = "".join("\\" + ch if ch in _INLINE else ch for ch in core)
    if not head and core[0] in _PUNCTUATION and core[0] not in _INLINE:
        escaped = "\\" + escaped
    elif not head and (digits := _ORDERED.match(core)) is not None:
        escaped = digits.group(1) + "\\" + escaped[digits.end(1) :]
    return _references(head) + escaped.replace("\n", "<br>") + _references(tail)


def _references(blanks: str) -> str:
    return "".join(f"&#{ord(ch)};" for ch in blanks)


def mask_phone(phone: str) -> str:
    """The number with its last four digits hidden, as written (`+1212555****`)."""
    digits = [m.start() for m in _DIGIT.finditer(phone)][-4:]
    chars = list(phone)
    for index in digits:
        chars[index] = "*"
    return "".join(chars)


def code_block(lines: Iterable[str]) -> list[str]:
    """A fenced block whose fence is longer than any run of backticks in the text."""
    body = list(lines)
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *body, fence]


def table(header: Iterable[str], rows: Iterable[list[str]], right: frozenset[int]) -> list[str]:
    """A Markdown table of cells already escaped; the columns in `right` are right-aligned."""
    names = list(header)
    rule = ["---:" if index in right else "---" for index in range(len(names))]
    return [_row(names), _row(rule), *(_row(cells) for cells in rows)]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _reasons(counts: Counter[str]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in counts.most_common())


@dataclass(frozen=True)
class Writer:
    """Turns values into Markdown text: escaped, with phone numbers masked unless shown."""

    show_numbers: bool = False

    def text(self, value: str) -> str:
        """A free text (body, detail, path, note, message), escaped, its numbers masked."""
        return escape(self.numbers(value))

    def numbers(self, value: str) -> str:
        """`value` with every number written `+` and digits masked, unless shown."""
        if self.show_numbers:
            return value
        return _NUMBER.sub(lambda m: mask_phone(m.group()), value)

    def phone(self, phone: str | None) -> str:
        if phone is None:
            return ""
        return escape(phone if self.show_numbers else mask_phone(phone))


def heading(
    serial: int, now: datetime, expires_at: datetime | None = None, verb: str = "Planned"
) -> list[str]:
    """The comment's first lines: the marker, the title, the state and time planned against."""
    until = f" (valid until `{format_instant(expires_at)}`)" if expires_at is not None else ""
    return [
        MARKER,
        "## campaignctl plan",
        "",
        f"{verb} against state serial **{serial}** at `{format_instant(now)}`{until}.",
        "",
    ]


def campaign_row(name: str, status: str, actions: list[Action], tallies: list[Tally]) -> list[str]:
    """One campaign's cells: its observed status, then what the plan does to it, with the
    same figures as its line in the text plan (listed and counted actions together)."""
    numbers: Counter[str] = Counter(a.type for a in actions)
    reasons: dict[str, Counter[str]] = {}
    for action in actions:
        reasons.setdefault(action.type, Counter())[action.reason or "?"] += 1
    for tally in tallies:
        numbers[tally.type] += tally.count
        reasons.setdefault(tally.type, Counter())[tally.reason or "?"] += tally.count
    change: list[str] = []
    for action in actions:
        if action.type == "campaign_status":
            launch = " (launch)" if action.from_status == "draft" else ""
            change.append(f"{action.from_status} → {action.to_status}{launch}")
        elif action.type in ("pause", "resume"):
            change.append(f"{action.type} ({action.reason})")

    def counted(kind: str) -> str:
        return f"{numbers[kind]} ({_reasons(reasons[kind])})" if numbers[kind] else ""

    credits = sum(a.credits for a in actions if a.type == "send")
    return [
        name,
        status,
        "; ".join(change),
        str(numbers["enroll"] or ""),
        str(numbers["send"] or ""),
        str(credits) if numbers["send"] else "",
        counted("defer"),
        counted("skip"),
        counted("end"),
        "complete" if numbers["complete"] else "",
    ]


def action_cells(action: Action, writer: Writer) -> list[str]:
    """One action's cells, the facts of its line in `plan --verbose`."""
    step = "" if action.step is None else str(action.step)
    if action.type == "campaign_status":
        return [
            action.type,
            action.campaign,
            "",
            step,
            f"{action.from_status} → {action.to_status}",
        ]
    facts = action_facts(action, body=writer.text, detail=writer.text)
    return [action.type, action.campaign, writer.phone(action.phone), step, " ".join(facts)]


def _actions_block(plan: Plan, writer: Writer, room: int, listed: int) -> list[str]:
    """The actions in a folded block: at most `listed` of them and `room` characters."""
    rows: list[list[str]] = []
    used = 0
    for action in plan.actions[:listed]:
        cells = action_cells(action, writer)
        used += len(_row(cells)) + 1
        if used > room:
            break
        rows.append(cells)
    rest = len(plan.actions) - len(rows)
    counted = sum(t.count for t in plan.tallies)
    lines = [
        f"<details><summary>Actions: {len(plan.actions) + counted} ({len(rows)} listed)</summary>",
        "",
        *table(ACTION_COLUMNS, rows, right=frozenset({3})),
    ]
    if rest or counted:
        lines.append("")
    if rest:
        which = "them" if counted else "every one"  # --verbose lists those listed here
        lines.append(f"… and {rest} more actions: `campaignctl plan --verbose` lists {which}.")
    if counted:
        lines.append(
            f"… and {counted} more enrollments, defers and skips, counted above "
            "(`campaignctl plan --format json --all-actions` lists every action; "
            "`campaignctl explain PHONE` tells about one number)."
        )
    return [*lines, "", "</details>"]


def render_plan_markdown(
    desired: Desired,
    snapshot: Snapshot,
    plan: Plan,
    *,
    show_numbers: bool = False,
    listed: int = LISTED,
    credits_last: str | None = None,
) -> str:
    """The plan as one pull-request comment, under GitHub's size limit. `credits_last`:
    the forecast's `credits last until ...`, when one was made."""
    writer = Writer(show_numbers)
    lines = heading(plan.state_serial, plan.now, plan.expires_at)
    if snapshot.suspended is not None:
        lines += [
            "> [!WARNING]",
            f"> All sending is SUSPENDED: {writer.text(snapshot.suspended)} (`campaignctl resume`)",
            "",
        ]
    actions, tallies = by_campaign(plan)
    names = sorted(set(desired.campaigns) | set(actions) | set(tallies))
    rows = []
    for name in names:
        state = snapshot.campaigns.get(name)
        status = state.status if state else "new"
        rows.append(campaign_row(name, status, actions.get(name, []), tallies.get(name, [])))
    lines += [*table(CAMPAIGN_COLUMNS, rows, right=frozenset({3, 4, 5})), ""]
    summary = plan.summary()
    counts = ", ".join(f"{n} {k}" for k, n in summary.items() if k != "credits")
    after = snapshot.balance - summary["credits"]
    lines += [
        f"**Summary:** {counts or 'no actions'}; credits {summary['credits']} "
        f"(balance {snapshot.balance} → {after}).",
        "",
    ]
    launching = any(
        a.type == "campaign_status" and (a.from_status, a.to_status) == ("draft", "active")
        for a in plan.actions
    )
    if credits_last is not None and not launching:  # else the launch review says it
        lines += [f"**Forecast:** {credits_last}.", ""]
    for action in plan.actions:
        if action.type == "campaign_status" and (action.from_status, action.to_status) == (
            "draft",
            "active",
        ):
            review = launch_review(desired, snapshot, plan, action.campaign, credits_last)
            lines += [f"### Launching {action.campaign}", ""]
            lines += [*code_block(writer.numbers(line) for line in review), ""]
    for name, relaunch in sorted(plan.relaunches.items()):
        lines += [f"### Changing {name}", "", *code_block(relaunch_lines(relaunch)), ""]
    if plan.notes:
        lines += ["### Notes", "", *(f"- {writer.text(note)}" for note in plan.notes), ""]
    if plan.actions or plan.tallies:
        room = COMMENT_LIMIT - len("\n".join(lines)) - _CLOSING
        lines += _actions_block(plan, writer, room, listed)
    return "\n".join(lines) + "\n"


def render_refusal_markdown(
    message: str, serial: int, now: datetime, *, show_numbers: bool = False
) -> str:
    """A plan the planner refuses (an edit to a live campaign, a configuration it cannot
    plan), as a comment that shows why: each refusal, with its file:line, in a caution block."""
    writer = Writer(show_numbers)
    lines = heading(serial, now, verb="Checked")
    lines += [
        "> [!CAUTION]",
        "> **Refused:** this change cannot be planned, and nothing of it would be applied.",
        ">",
        *(f"> - {writer.text(line)}" for line in message.split("\n") if line.strip()),
    ]
    return "\n".join(lines) + "\n"
