"""`python bench/once.py CONFIG_DIR STATE_PATH`: the enroll benchmark once, in this process:
the bare phonenumbers loop over the group's numbers, then one launch of the campaign on a
fresh state; prints JSON (seconds, the ratio, how many were enrolled). It uses only what the
harness of every version has, so it measures an older commit too:

    git worktree add /tmp/old <commit>
    cd /tmp/old && PYTHONPATH=/tmp/old/src:/tmp/old python <this file> <repo> <state>
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench import scenarios


def main(config_dir: Path, state_path: Path) -> None:
    numbers = scenarios.raw_numbers(config_dir / "groups" / "contacts" / "prospects.csv")
    scenarios.warm_up()
    started = time.perf_counter()
    scenarios.bare_phonenumbers(numbers)
    bare = time.perf_counter() - started
    scenarios.fresh_state(state_path)
    started = time.perf_counter()
    times = scenarios.launch(config_dir, state_path, scenarios.NIGHT)
    launch = time.perf_counter() - started
    print(json.dumps({"bare": bare, "launch": launch, "ratio": launch / bare,
                      "enrolled": times.summary.get("enroll")}))  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
