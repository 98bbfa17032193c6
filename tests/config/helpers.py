"""Building small campaigns.d/ trees for tests, and reading issues back as plain tuples."""

from __future__ import annotations

import textwrap
from pathlib import Path

from campaignctl.config import LoadResult, load

TEMPLATE = """\
apiVersion: campaignctl/v1
kind: Template
metadata:
  name: welcome
spec:
  status: published
  steps:
    - body: "Hi {{ first_name }}, it's Sam at Acme Realty. Reply STOP to opt out."
    - waitDays: 30
      body: "Hi {{ first_name | default('there') }}, new listings this month."
"""

GROUP = """\
apiVersion: campaignctl/v1
kind: ProspectGroup
metadata:
  name: leads
spec:
  contacts:
    - phones: ["(415) 555-0100"]
      fields: {first_name: Ana}
    - phones: ["+1 212 555 0199"]
      fields: {first_name: Ben}
"""

CAMPAIGN = """\
apiVersion: campaignctl/v1
kind: Campaign
metadata:
  name: spring
spec:
  template: welcome
  prospectGroup: leads
  status: active
  sender:
    from: "+15125550100"
"""

BASE = {
    "templates/welcome.yaml": TEMPLATE,
    "groups/leads.yaml": GROUP,
    "campaigns/spring.yaml": CAMPAIGN,
}


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def make_repo(
    root: Path, files: dict[str, str | bytes] | None = None, *, base: bool = True
) -> Path:
    """A config directory with the BASE files (unless base=False), overridden by `files`."""
    root.mkdir(parents=True, exist_ok=True)
    merged: dict[str, str | bytes] = dict(BASE) if base else {}
    merged.update(files or {})
    for relative, text in merged.items():
        write(root, relative, text)
    return root


def found(result: LoadResult, code: str | None = None) -> list[tuple[str, int | None, str, str]]:
    """(file, line, severity, code) of each issue, optionally only those with `code`."""
    return [
        (
            issue.location.file if issue.location else "",
            issue.location.line if issue.location else None,
            issue.severity,
            issue.code,
        )
        for issue in result.issues
        if code is None or issue.code == code
    ]


def messages(result: LoadResult, code: str | None = None) -> list[str]:
    return [str(issue) for issue in result.issues if code is None or issue.code == code]


def load_repo(
    root: Path, files: dict[str, str | bytes] | None = None, *, base: bool = True
) -> LoadResult:
    return load(make_repo(root, files, base=base))
