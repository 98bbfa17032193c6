"""`campaignctl validate` on the 2,000-file repo against check-jsonschema on the same YAML
files, each as the command a CI job runs (a fresh process), in the same run."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from bench.measure import Sample, timed

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "campaignctl.schema.json"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], cwd: Path) -> Sample:
    """Run a command; its wall time and the CPU time of the process it ran."""
    cpu = _children_cpu()
    wall, done = timed(
        lambda: subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-800:]
        raise RuntimeError(f"{argv[0]} failed with exit status {done.returncode}: {output}")
    return Sample(wall.wall, _children_cpu() - cpu)


def campaignctl_validate(config_dir: Path) -> Sample:
    """`campaignctl validate` (schemas, models, CSVs, cross-file checks)."""
    command = [sys.executable, "-m", "campaignctl", "--dir", str(config_dir), "validate"]
    return _run(command, config_dir.parent)


def check_jsonschema(files: list[Path], cwd: Path) -> Sample:
    """check-jsonschema with campaignctl's schema on every YAML file."""
    executable = Path(sys.executable).with_name("check-jsonschema")
    command = [str(executable), "--schemafile", str(SCHEMA), *[str(f) for f in files]]
    return _run(command, cwd)
