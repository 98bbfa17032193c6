"""Which provider sends: Twilio when its credentials are in the environment, else the outbox.

TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN   both set: send through Twilio
CAMPAIGNCTL_TWILIO_BASE_URL             another Twilio-compatible endpoint (the emulator)
CAMPAIGNCTL_PUBLIC_URL                  where `webhooks serve` is reachable: messages then
                                        ask for status callbacks at <url>/twilio/status
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from campaignctl.clock import Clock
from campaignctl.errors import ProviderError
from campaignctl.providers.base import Provider
from campaignctl.providers.outbox import OutboxTable


@dataclass(frozen=True)
class ProviderSettings:
    """What the environment says about sending, checked: credentials and URLs."""

    account_sid: str
    auth_token: str
    base_url: str | None
    public_url: str | None

    @property
    def twilio(self) -> bool:
        return bool(self.account_sid and self.auth_token)


def settings_from_env(env: Mapping[str, str]) -> ProviderSettings:
    """The sending settings of the environment; ProviderError (one line) for a half-set
    account or a URL that is not one, so a daemon can refuse to start on it."""
    sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if bool(sid) != bool(token):
        missing = "TWILIO_AUTH_TOKEN" if sid else "TWILIO_ACCOUNT_SID"
        raise ProviderError(
            f"{missing} is not set: set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to send "
            "through Twilio, or neither to record messages in the outbox"
        )
    return ProviderSettings(
        sid,
        token,
        _url_from_env(env, "CAMPAIGNCTL_TWILIO_BASE_URL"),
        _url_from_env(env, "CAMPAIGNCTL_PUBLIC_URL"),
    )


def provider_from_env(
    store: OutboxTable, env: Mapping[str, str], clock: Clock | None = None
) -> Provider:
    """The provider the environment asks for. `clock` dates the outbox's records and is the
    time the Twilio provider holds Twilio's clock against when it looks a message up."""
    settings = settings_from_env(env)
    if settings.twilio:
        from campaignctl.providers.twilio import TwilioProvider  # the SDK loads only when used

        return TwilioProvider(
            settings.account_sid,
            settings.auth_token,
            base_url=settings.base_url,
            status_callback_base=settings.public_url,
            clock=clock,
        )
    from campaignctl.providers.outbox import OutboxProvider

    return OutboxProvider(store, clock)


def _url_from_env(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL from the environment, None when unset; a value without a scheme or
    host (`localhost:8080`) is refused before anything is sent, with what to write instead."""
    value = env.get(name, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return value
    if "://" in value:
        raise ProviderError(
            f"{name}={value} is not an http(s) URL: write one such as http://127.0.0.1:8089"
        )
    raise ProviderError(
        f"{name}={value} has no scheme: write {name}=http://{value} (or https://{value})"
    )
