"""The configuration language: one pydantic model per kind of resource (SPEC section 1).

Every model is frozen and forbids unknown fields, so a typo is an error, never ignored. The
JSON Schemas under `schemas/` are generated from these models (`campaignctl schema export`);
rules a JSON Schema can express are written so that it carries them too (patterns, ranges,
the first-step / later-step shape), so an editor and `campaignctl validate` agree.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from campaignctl.core import phones
from campaignctl.core.instants import LONGEST_WAIT_DAYS

API_VERSION = "campaignctl/v1"
NAME_PATTERN = r"^[a-z0-9-]{1,63}$"
NAME_MESSAGE = "a name of 1-63 characters of a-z, 0-9 and '-'"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
SERVICE_SID_PATTERN = r"^MG[0-9a-fA-F]{32}$"
# 08:00 .. 21:00, the federal window; a campaign may narrow it, never widen it
QUIET_TIME_PATTERN = r"^((0[89]|1[0-9]|20):[0-5][0-9]|21:00)$"
INTERVAL_PATTERN = r"^[1-9][0-9]*(s|m|h)$"
SEND_WITHIN_PATTERN = r"^[1-9][0-9]{0,3}(h|d)$"
FORWARD_URL_PATTERN = r"^https?://[^\s/?#@]+(/\S*)?$"  # no user:password@
MIN_WAIT_DAYS = 30
MAX_STEPS = 20

Name = Annotated[
    str,
    Field(pattern=NAME_PATTERN, json_schema_extra={"patternErrorMessage": NAME_MESSAGE}),
]


class _Model(BaseModel):
    # strict: no coercion ("30" is not 30, 0 is not false), as in the JSON Schema; lists are
    # accepted for tuple fields with `strict=False` on the field (their items stay strict)
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False, strict=True)


def _whole(value: object) -> object:
    """JSON Schema's `integer` includes 30.0: accept a float without fraction as an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole)]


def _check_zone(value: str | None) -> str | None:
    if value is not None and not phones.is_valid_zone(value):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/Chicago)")
    return value


class Metadata(_Model):
    name: Name = Field(description="Unique per kind; " + NAME_MESSAGE + ".")
    labels: dict[str, str] = Field(default_factory=dict, description="string -> string")
    description: str | None = None


# --------------------------------------------------------------------------- Template


def _steps_schema(schema: dict[str, Any]) -> None:
    """Steps after the first need waitDays >= 30; the first has none (or 0)."""
    step = schema.pop("items")
    schema["prefixItems"] = [
        {
            **step,
            "properties": {
                "waitDays": {
                    "const": 0,
                    "errorMessage": "the first step goes out at enrollment: leave waitDays "
                    "out (or 0)",
                }
            },
        }
    ]
    schema["items"] = {
        **step,
        "required": ["body", "waitDays"],
        "properties": {
            "waitDays": {
                "minimum": MIN_WAIT_DAYS,
                "errorMessage": f"waitDays must be at least {MIN_WAIT_DAYS}: a later step waits "
                "that many days after the previous message was actually sent",
            }
        },
    }


class StepModel(_Model):
    body: str = Field(min_length=1, description="The SMS text; {{ field }} placeholders.")
    wait_days: WholeNumber = Field(
        default=0,
        ge=0,
        le=LONGEST_WAIT_DAYS,  # a century: an instant plus any wait stays in range
        alias="waitDays",
        description="Days after the previous message was actually sent (>= 30; none on the "
        "first step).",
    )
    send_within: str | None = Field(
        default=None,
        alias="sendWithin",
        pattern=SEND_WITHIN_PATTERN,
        json_schema_extra={"patternErrorMessage": "a duration in hours or days, e.g. 36h or 7d"},
        description="How long after becoming due the step may still go out, e.g. 7d. A step "
        "held longer (a pause, credits, downtime) is skipped `expired` and the sequence goes "
        "on as if it had been sent then. Unset: a late step goes out late.",
    )


class TemplateSpecModel(_Model):
    status: Literal["draft", "published"] = Field(
        default="draft", description="Only a published template can back a campaign."
    )
    steps: tuple[StepModel, ...] = Field(
        min_length=1, max_length=MAX_STEPS, strict=False, json_schema_extra=_steps_schema
    )

    @model_validator(mode="after")
    def _waits(self) -> TemplateSpecModel:
        first, *later = self.steps
        if first.wait_days != 0:
            raise ValueError("the first step goes out at enrollment: leave waitDays out")
        for step in later:
            if step.wait_days < MIN_WAIT_DAYS or "wait_days" not in step.model_fields_set:
                raise ValueError(f"every later step needs waitDays >= {MIN_WAIT_DAYS}")
        return self


class TemplateDocument(_Model):
    api_version: Literal["campaignctl/v1"] = Field(alias="apiVersion")
    kind: Literal["Template"]
    metadata: Metadata
    spec: TemplateSpecModel


# --------------------------------------------------------------------------- Campaign


class SenderModel(_Model):
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["from"], "properties": {"from": {"type": "string"}}},
                {
                    "required": ["messagingServiceSid"],
                    "properties": {"messagingServiceSid": {"type": "string"}},
                },
            ],
            "errorMessage": "a sender has exactly one of 'from' or 'messagingServiceSid'",
        }
    )

    from_number: str | None = Field(
        default=None,
        alias="from",
        pattern=E164_PATTERN,
        description="The sending number, E.164 (e.g. +15125550100).",
        json_schema_extra={"patternErrorMessage": "an E.164 number such as +15125550100"},
    )
    messaging_service_sid: str | None = Field(
        default=None,
        alias="messagingServiceSid",
        pattern=SERVICE_SID_PATTERN,
        json_schema_extra={"patternErrorMessage": "MG followed by 32 hex digits"},
    )
    messages_per_second: float = Field(default=1.0, gt=0, alias="messagesPerSecond")
    daily_limit: WholeNumber | None = Field(default=None, ge=1, alias="dailyLimit")
    concurrency: WholeNumber | None = Field(
        default=None,
        ge=1,
        le=100,
        description="How many messages are handed to the provider at once (1-100). Unset: "
        "enough to keep up with messagesPerSecond at Twilio's usual latency (one for up to "
        "3 a second, 30 for 100 a second, at most 50). It changes no rule (pace and dailyLimit "
        "stay exact) and may change at any time, also on a live campaign.",
    )

    @model_validator(mode="after")
    def _one_identity(self) -> SenderModel:
        if (self.from_number is None) == (self.messaging_service_sid is None):
            raise ValueError("a sender has exactly one of 'from' or 'messagingServiceSid'")
        return self


QuietTime = Annotated[
    str,
    Field(
        pattern=QUIET_TIME_PATTERN,
        json_schema_extra={
            "patternErrorMessage": "a time HH:MM between 08:00 and 21:00 (quiet hours may "
            "narrow the federal window, never widen it)"
        },
    ),
]


class QuietHoursModel(_Model):
    start: QuietTime = "08:00"
    end: QuietTime = Field(default="21:00", description="Exclusive.")

    @model_validator(mode="after")
    def _ordered(self) -> QuietHoursModel:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self


class CampaignSpecModel(_Model):
    template: Name
    prospect_group: Name = Field(alias="prospectGroup")
    status: Literal["draft", "active", "paused", "completed"] = "draft"
    sender: SenderModel
    quiet_hours: QuietHoursModel = Field(default_factory=QuietHoursModel, alias="quietHours")
    stop_on_reply: bool = Field(default=True, alias="stopOnReply")
    complete_when: Literal["allEnded"] | None = Field(
        default=None,
        alias="completeWhen",
        description=(
            "allEnded: the controller completes the campaign once every enrollment has "
            "ended and none was added for a reconcile. Unset (the default): the campaign "
            "stays active (idle) when its enrollments have all ended, and enrolls the rows "
            "added to its group later."
        ),
    )


class CampaignDocument(_Model):
    api_version: Literal["campaignctl/v1"] = Field(alias="apiVersion")
    kind: Literal["Campaign"]
    metadata: Metadata
    spec: CampaignSpecModel


# --------------------------------------------------------------------------- ProspectGroup


class ContactModel(_Model):
    phones: tuple[str, ...] = Field(
        min_length=1, strict=False, description="One or more phone numbers."
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Contact fields for placeholders. consentSource (where the contact "
        "consented) and consentAt (when: ISO 8601; a date alone is its start, UTC) are kept "
        "with the enrollment as its consent record.",
    )
    timezone: str | None = Field(default=None, description="IANA zone, e.g. America/Chicago.")

    _zone = field_validator("timezone")(_check_zone)


class ProspectGroupSpecModel(_Model):
    default_region: str = Field(
        default="US",
        alias="defaultRegion",
        pattern=r"^[A-Z]{2}$",
        description="Region for numbers written without +country code.",
    )
    csv: str | None = Field(default=None, description="CSV file, relative to this YAML file.")
    contacts: tuple[ContactModel, ...] = Field(default=(), strict=False)


class ProspectGroupDocument(_Model):
    api_version: Literal["campaignctl/v1"] = Field(alias="apiVersion")
    kind: Literal["ProspectGroup"]
    metadata: Metadata
    spec: ProspectGroupSpecModel


# --------------------------------------------------------------------------- DoNotCallList


class DoNotCallSpecModel(_Model):
    numbers: tuple[str, ...] = Field(default=(), strict=False)
    files: tuple[str, ...] = Field(
        default=(),
        strict=False,
        description="Files relative to this YAML file: one number a line (10-digit US, "
        "AAA,NNNNNNN or +country); blank lines and '#' comments ignored.",
    )


class DoNotCallListDocument(_Model):
    api_version: Literal["campaignctl/v1"] = Field(alias="apiVersion")
    kind: Literal["DoNotCallList"]
    metadata: Metadata
    spec: DoNotCallSpecModel


# --------------------------------------------------------------------------- Settings


class RepliesModel(_Model):
    forward_url: str | None = Field(
        default=None,
        alias="forwardUrl",
        pattern=FORWARD_URL_PATTERN,
        json_schema_extra={"patternErrorMessage": "an http:// or https:// URL (no user:password@)"},
        description="The controller POSTs each reply here once, as JSON signed with "
        "CAMPAIGNCTL_FORWARD_SECRET (X-Campaignctl-Signature); null: replies are only kept.",
    )


class SettingsSpecModel(_Model):
    credits_per_segment: WholeNumber = Field(default=1, ge=1, alias="creditsPerSegment")
    reconcile_interval: str = Field(
        default="15m",
        alias="reconcileInterval",
        pattern=INTERVAL_PATTERN,
        json_schema_extra={"patternErrorMessage": "a duration such as 30s, 15m or 1h"},
    )
    state_quiet_hours: bool = Field(default=True, alias="stateQuietHours")
    timezone_fallback: str | None = Field(
        default=None,
        alias="timezoneFallback",
        description="Zone for numbers without a usable one; null: they are skipped.",
    )
    brand: str | None = Field(
        default=None,
        min_length=1,
        description="The sender's brand, as registered for A2P 10DLC: validate warns when a "
        "campaign's first step does not name it.",
    )
    help_text: str | None = Field(
        default=None,
        alias="helpText",
        min_length=1,
        max_length=320,
        description="The answer to HELP: the brand and a contact (phone, email or site).",
    )

    replies: RepliesModel = Field(default_factory=RepliesModel)
    require_consent: bool = Field(
        default=False,
        alias="requireConsent",
        description="true: a contact without consentSource and consentAt (CSV columns or "
        "inline fields) is skipped (no_consent); validate warns about each one.",
    )

    _zone = field_validator("timezone_fallback")(_check_zone)


class SettingsDocument(_Model):
    api_version: Literal["campaignctl/v1"] = Field(alias="apiVersion")
    kind: Literal["Settings"]
    metadata: Metadata
    spec: SettingsSpecModel = Field(default_factory=SettingsSpecModel)


DocumentModel = (
    TemplateDocument
    | CampaignDocument
    | ProspectGroupDocument
    | DoNotCallListDocument
    | SettingsDocument
)

MODELS: dict[str, type[DocumentModel]] = {
    "Template": TemplateDocument,
    "Campaign": CampaignDocument,
    "ProspectGroup": ProspectGroupDocument,
    "DoNotCallList": DoNotCallListDocument,
    "Settings": SettingsDocument,
}
KINDS: tuple[str, ...] = tuple(MODELS)
