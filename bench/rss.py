"""`python -m bench.rss CONFIG_DIR STATE_PATH`: launch the campaign in a fresh process (as the
enrollment benchmark does) and print its peak memory as JSON: the peak resident set after
start-up (imports, phonenumbers' metadata), and over the whole launch."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from bench import scenarios


def peak_rss_mb() -> float:
    """The peak resident set of this process so far (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(config_dir: Path, state_path: Path) -> None:
    scenarios.warm_up()
    peaks = {"start_mb": peak_rss_mb()}
    scenarios.fresh_state(state_path)
    times = scenarios.launch(config_dir, state_path, scenarios.NIGHT)
    peaks["peak_mb"] = peak_rss_mb()
    # the phone number workers (for a large CSV) are children: their own peaks
    peaks["largest_worker_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({**peaks, "seconds": times.total, "enrolled": times.summary.get("enroll")}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
