"""Running campaignctl as a user does: a subprocess with its own environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.delivery.helpers import ACCOUNT_SID, AUTH_TOKEN


def env_for(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "CAMPAIGNCTL_"))}
    env.update(extra)
    return env


def twilio_env(emulator_url: str, token: str = AUTH_TOKEN, **extra: str) -> dict[str, str]:
    return env_for(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=token,
        CAMPAIGNCTL_TWILIO_BASE_URL=emulator_url,
        **extra,
    )


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignctl", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
    )  # fmt: skip


def start_webhooks(
    args: list[str], env: dict[str, str], cwd: Path
) -> tuple[subprocess.Popen[str], str]:
    """Start `campaignctl webhooks serve ...`; returns the process and its listening URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "campaignctl", "webhooks", "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(r"listening on (http://[\d.]+:\d+)", line)
    if match is None:
        process.kill()
        raise AssertionError(line + process.stderr.read())
    url = match.group(1)
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return process, url
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
