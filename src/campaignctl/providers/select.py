"""Which provider sends: Twilio when its credentials are in the environment, else the outbox.

TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN   both set: send through Twilio
CAMPAIGNCTL_TWILIO_BASE_URL             another Twilio-compatible endpoint (the emulator)
CAMPAIGNCTL_PUBLIC_URL                  where `webhooks serve` is reachable: messages then
                                        ask for status callbacks at <url>/twilio/status
"""

from __future__ import annotations

from collections.abc import Mapping

from campaignctl.clock import Clock
from campaignctl.errors import ProviderError
from campaignctl.providers.base import Provider
from campaignctl.providers.outbox import OutboxTable


def provider_from_env(
    store: OutboxTable, env: Mapping[str, str], clock: Clock | None = None
) -> Provider:
    """The provider the environment asks for. `clock` dates the outbox's records and is the
    time the Twilio provider holds Twilio's clock against when it looks a message up."""
    sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if sid and token:
        from campaignctl.providers.twilio import TwilioProvider  # the SDK loads only when used

        return TwilioProvider(
            sid,
            token,
            base_url=env.get("CAMPAIGNCTL_TWILIO_BASE_URL") or None,
            status_callback_base=env.get("CAMPAIGNCTL_PUBLIC_URL") or None,
            clock=clock,
        )
    if sid or token:
        missing = "TWILIO_AUTH_TOKEN" if sid else "TWILIO_ACCOUNT_SID"
        raise ProviderError(
            f"{missing} is not set: set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to send "
            "through Twilio, or neither to record messages in the outbox"
        )
    from campaignctl.providers.outbox import OutboxProvider

    return OutboxProvider(store, clock)
