"""deploy/compose.yaml cannot be run here (no container engine): it is checked to parse, to
build the image from the Containerfile beside it, and to put nginx's existing config in front
of both webhook servers (the line it rewrites is in that config)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from campaignctl.store.location import parse_state

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PASSWORD = "s3cret-from-env"
# compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME:?error}
VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def compose() -> dict[str, Any]:
    """The file as compose reads it, POSTGRES_PASSWORD given (as deploy/.env gives it)."""
    text = (DEPLOY / "compose.yaml").read_text()
    given = {"POSTGRES_PASSWORD": PASSWORD}
    document: dict[str, Any] = yaml.safe_load(VARIABLE.sub(lambda m: given[m.group(1)], text))
    return document


def test_the_compose_file_runs_postgresql_two_controllers_and_two_webhook_servers() -> None:
    services = compose()["services"]
    assert set(services) == {
        "postgres", "controller-1", "controller-2", "webhooks-1", "webhooks-2", "nginx",
        "dashboard",
    }  # fmt: skip
    for name in ("controller-1", "controller-2", "webhooks-1", "webhooks-2"):
        service = services[name]
        build = service["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
            DEPLOY / "Containerfile"
        )
        state = parse_state(service["environment"]["CAMPAIGNCTL_STATE"])
        assert state.url == f"postgresql://campaignctl:{PASSWORD}@postgres:5432/campaigns"
        assert state.shown == "postgresql://campaignctl:***@postgres:5432/campaigns"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert [services[n]["command"][0] for n in ("controller-1", "controller-2")] == [
        "reconcile", "reconcile",
    ]  # fmt: skip
    assert [services[n]["command"][:2] for n in ("webhooks-1", "webhooks-2")] == [
        ["webhooks", "serve"], ["webhooks", "serve"],
    ]  # fmt: skip


def test_nginx_serves_the_existing_config_with_both_webhook_servers_upstream() -> None:
    nginx = compose()["services"]["nginx"]
    mounted = {v.split(":")[0]: v.split(":")[1] for v in nginx["volumes"]}
    assert (DEPLOY / "nginx-webhooks.conf").exists() and "./nginx-webhooks.conf" in mounted
    script = nginx["command"][-1]
    found = re.search(r"sed 's\|([^|]+)\|([^|]+)\|'", script)
    assert found is not None
    config = (DEPLOY / "nginx-webhooks.conf").read_text()
    assert config.count(found.group(1)) == 1  # the upstream line it rewrites is there
    rewritten = config.replace(found.group(1), found.group(2))
    upstream = re.search(r"upstream campaignctl_webhooks \{([^}]*)\}", rewritten)
    assert upstream is not None
    assert re.findall(r"server (\S+);", upstream.group(1)) == ["webhooks-1:8080", "webhooks-2:8080"]
