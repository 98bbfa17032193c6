"""A local Twilio-compatible server, for tests and for trying campaignctl without an account.

Run it with `campaignctl twilio-emulator` or `python -m campaignctl.emulator --port 8089`, then
point campaignctl at it with CAMPAIGNCTL_TWILIO_BASE_URL.
"""

from campaignctl.emulator.faults import Fault
from campaignctl.emulator.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, TwilioEmulator

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "Fault", "TwilioEmulator"]
