"""Twilio's request signature (X-Twilio-Signature): the HMAC-SHA1 of the URL and the sorted
form, keyed by the auth token. The webhooks check it; the emulator makes it. The SDK's own
validator does the work, so both sides follow Twilio's rules exactly."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio sends with a request to `url` carrying the form `params`."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


class SignatureCheck:
    """Checks the signatures of requests made with one auth token."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def valid(
        self, url: str, params: Mapping[str, str] | Mapping[str, list[str]], signature: str
    ) -> bool:
        """`params` may keep every value of a repeated key (a mapping to lists, with a
        `getall` method as the SDK expects): the signature covers them all."""
        return bool(self._validator.validate(url, params, signature))
