"""`python -m bench.planbench plan|apply CONFIG_DIR STATE_PATH`: in a fresh process, `plan`
(what CI runs on every pull request: the streamed plan, its JSON written out) or the
streamed apply of the launch of the generated group, on a fresh state at night (everyone
enrolled, every first message deferred); prints its time and peak memory as JSON, as
bench/rss.py does for the apply. `make bench ONLY=plan` runs both in one run and compares.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

from bench import scenarios
from bench.rss import peak_rss_mb
from campaignctl.app.planstream import stream_plan
from campaignctl.core.planjson import plan_to_json
from campaignctl.render.planfile import write_plan_json
from campaignctl.store import Store


def plan(config_dir: Path, state_path: Path) -> dict[str, int]:
    """The plan of the launch, its JSON written (to /dev/null) as `plan --format json`."""
    with Store.open_for_reading(state_path) as store:
        planned = stream_plan(config_dir, store, scenarios.NIGHT)
    with open(os.devnull, "w", encoding="utf-8") as out:
        write_plan_json(out, plan_to_json(planned.plan), None)
    return planned.plan.summary()


def main(kind: str, config_dir: Path, state_path: Path) -> None:
    scenarios.warm_up()
    start_mb = peak_rss_mb()
    scenarios.fresh_state(state_path)
    started = time.perf_counter()
    if kind == "plan":
        summary = plan(config_dir, state_path)
    else:
        summary = scenarios.launch(config_dir, state_path, scenarios.NIGHT).summary
    took = time.perf_counter() - started
    result = {
        "kind": kind,
        "seconds": took,
        "start_mb": start_mb,
        "peak_mb": peak_rss_mb(),
        # the phone number workers (for a large CSV) are children: their own peaks
        "largest_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "summary": summary,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
