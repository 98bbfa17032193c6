"""The machine, and the figures as Markdown: written into bench/RESULTS.md between two marker
lines, so the analysis around them (profiles, before and after) is kept."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import Figure

START = "<!-- figures:start (written by `make bench`; edit outside these markers) -->"
END = "<!-- figures:end -->"


def machine() -> dict[str, str]:
    """CPU model, cores, memory, Python, and the load when the run started."""
    model = platform.processor() or "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load average at start (1, 5, 15 min)": load_average(),
    }


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def markdown(figures: list[Figure], info: dict[str, str], command: str, minutes: float) -> str:
    lines = [
        START,
        "",
        f"Run of {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: `{command}` "
        f"({minutes:.1f} minutes).",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        "",
        "| benchmark | size | measured | median | ratio | target | verdict | details |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append(
            f"| {f.benchmark} | {f.size} | {f.what} | {f.value} | {f.ratio} | {f.target} "
            f"| {f.verdict.upper() if f.verdict else ''} | {f.note} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def write_results(path: Path, section: str) -> None:
    """Replace the figures section of RESULTS.md (or append one)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    if START in text and END in text:
        before = text[: text.index(START)]
        after = text[text.index(END) + len(END) :]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
