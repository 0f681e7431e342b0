"""Pydantic models of what the emulator reads: fixture tenants and control-plane payloads."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from linkup_emulator.clock import LATEST, parse_instant
from linkup_emulator.errors import FORCIBLE
from linkup_emulator.generator import SUPPORTED_COUNTRIES
from linkup_emulator.generator.people import MAX_CONNECTIONS, MAX_PENDING

Status = Literal["active", "inactive"]


@dataclass(frozen=True, slots=True)
class Network:
    """An account's network settings, as its fixture gives them (SPEC 3)."""

    connections: int | None = None  # None: the generated count
    pending_received: int = 12
    pending_sent: int = 5
    acceptance_rate: float = 0.3
    weekly_invitation_limit: int | None = 100  # None: no limit
    premium: bool = True

    def dump(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def load(cls, raw: dict[str, object]) -> Network:
        return cls(**raw)  # type: ignore[arg-type]


DEFAULT_NETWORK = Network()
ACCOUNT_ID = (
    r"^[^/\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+$"
)


def first_problem(error: ValidationError) -> tuple[tuple[int | str, ...], str]:
    """The first error's location and message, without pydantic's "Value error, " prefix
    (the message of a check of ours reads as it was written)."""
    first = error.errors()[0]
    return tuple(first["loc"]), first["msg"].removeprefix("Value error, ")


def _whole(value: object) -> object:
    """JSON Schema counts 5.0 as an integer, so the control plane does too; bools and strings no."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


Whole = Annotated[int, BeforeValidator(_whole)]

_DIGITS = re.compile(r"[0-9]{1,15}")


def parse_whole(text: str, low: int, high: int) -> int | None:
    """A whole number from a query string or header within [low, high], else None. ASCII digits
    only, and few of them: `int()` alone takes "²", "1_0" and 5000-digit strings; only spaces
    and tabs around it (`str.strip()` alone would take a no-break space too)."""
    text = text.strip(" \t")
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


# RFC 3339 (section 5.6): a full date, "T", a full time with optional fractions of a second,
# and "Z" or a numeric offset (hours 00-23, minutes 00-59); "T" and "Z" may be lower case. No
# bare dates, no naive times, ASCII digits only. The same pattern as openapi.yaml's created_at.
_RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?"
    r"([Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


def utc_stamp(text: str) -> str:
    """An RFC 3339 date-time as the vendor writes times: UTC, whole seconds, a Z suffix
    ("2026-01-01T02:00:00.5+02:00" -> "2026-01-01T00:00:00Z"). Fractions are dropped, not
    rounded, so a time never moves into the next second."""
    found = _RFC3339.fullmatch(text)
    if found is None:
        raise ValueError(
            f"'{text[:40]}' is not an RFC 3339 date-time such as 2026-01-01T00:00:00Z"
            " or 2026-01-01T02:00:00+02:00"
        )
    date, clock, _, offset = found.groups()
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}{offset}").astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"'{text[:40]}' is not a real date and time") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# Bounds keep every number inside SQLite's 64-bit integers.
Credits = Annotated[Whole, Field(ge=0, le=10**15)]
RateLimit = Annotated[Whole, Field(ge=0, le=10**9)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountSpec(Strict):
    # No "/" or whitespace: ids appear in URL paths (/v2/accounts/{account_id}). The whitespace
    # is spelled out: `\s` means other characters to pydantic's regex (U+0085 is in it), to
    # JSON Schema's (U+FEFF is in it) and to Python's, and openapi.yaml must say the same.
    account_id: Annotated[str, Field(min_length=1, max_length=200, pattern=ACCOUNT_ID)]
    account_name: str | None = None
    status: Status = "active"
    country: str = "US"
    pool_size: Annotated[Whole, Field(ge=0, le=10_000)] = 1000
    # Vendor accounts carry creation times; fixtures may pin them, else one is derived from the id.
    # Any RFC 3339 offset is taken (Python's isoformat() writes +00:00); it is kept as UTC, Z.
    created_at: str | None = None
    # The account's network (SPEC 1.7); absent fields take these defaults.
    connections: Annotated[Whole, Field(ge=0, le=MAX_CONNECTIONS)] | None = None  # None: generated
    pending_received: Annotated[Whole, Field(ge=0, le=MAX_PENDING)] = 12
    pending_sent: Annotated[Whole, Field(ge=0, le=MAX_PENDING)] = 5
    acceptance_rate: Annotated[StrictFloat | StrictInt, Field(ge=0, le=1)] = 0.3
    weekly_invitation_limit: Annotated[Whole, Field(ge=0, le=10**6)] | None = 100  # None: none
    premium: StrictBool = True

    @model_validator(mode="after")
    def _cited(self) -> AccountSpec:
        if self.connections == 0 and self.pool_size > 0:
            raise ValueError(
                "connections: 0 needs pool_size: 0 (every PYMK insight names a connection)"
            )
        return self

    def network(self) -> Network:
        return Network(
            self.connections,
            self.pending_received,
            self.pending_sent,
            float(self.acceptance_rate),
            self.weekly_invitation_limit,
            self.premium,
        )

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: str | None) -> str | None:
        return None if value is None else utc_stamp(value)

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value not in SUPPORTED_COUNTRIES:
            supported = ", ".join(sorted(SUPPORTED_COUNTRIES))
            raise ValueError(f"country '{value}' is not one of {supported}")
        return value


class TenantSpec(Strict):
    # Printable ASCII but "/": keys travel in a header (latin-1, no controls) and in URL paths.
    api_key: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[!-.0-~]+$")]
    credits: Credits | None = 1000
    # What GET /v2/credits shows while the tenant is unmetered (credits null); the stored
    # balance stays null. Absent: emulator.UNMETERED_CREDITS.
    display_credits: Credits | None = None
    rate_limit: RateLimit | None = None
    # An account id listed twice is a conflict (409 at runtime, a fixture error at start),
    # not a shape error: JSON Schema cannot say "unique by field".
    accounts: list[AccountSpec] = Field(default_factory=list, max_length=1000)


class FixtureFile(Strict):
    tenants: list[TenantSpec]


class TenantPatch(Strict):
    credits: Credits | None = None
    rate_limit: RateLimit | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> TenantPatch:
        if not self.model_fields_set:
            raise ValueError("give credits and/or rate_limit")
        return self


class AccountPatch(Strict):
    status: Status


class Arrival(Strict):
    """A received invitation made to arrive (POST /_emulator/accounts/{id}/invitations)."""

    profile_url: str | None = None  # absent: a generated member


class InvitationAnswer(Strict):
    response: Literal["accept", "decline"]


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number of seconds")
    return value


# Forward only, finite, and short of the last instant a timestamp can show.
Seconds = Annotated[StrictFloat | StrictInt, BeforeValidator(_finite), Field(ge=0, le=LATEST)]


class ClockMove(Strict):
    """One move of the clock: forward by seconds, to an instant, or (globally) freeze/thaw."""

    advance_s: (
        Annotated[StrictFloat | StrictInt, Field(ge=0, le=LATEST, allow_inf_nan=False)] | None
    ) = None
    set: str | None = None
    freeze: StrictBool | None = None

    @field_validator("set")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        if value is not None:
            parse_instant(value)
        return value

    @model_validator(mode="after")
    def _one_move(self) -> ClockMove:
        given = [name for name in ("advance_s", "set", "freeze") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of advance_s, set or freeze")
        return self


class FaultMatch(Strict):
    api_key: Annotated[str, Field(min_length=1)] | None = None
    account_id: Annotated[str, Field(min_length=1)] | None = None
    action: Annotated[str, Field(min_length=1)] | None = None


class FaultSpec(Strict):
    match: FaultMatch = Field(default_factory=FaultMatch)
    error: str | None = None
    delay_ms: Annotated[Whole, Field(ge=0, le=30_000)] | None = None
    times: Annotated[Whole, Field(ge=1, le=10**9)] | None = None
    probability: Annotated[StrictFloat, Field(ge=0, le=1)] | None = None

    @field_validator("error")
    @classmethod
    def _forcible(cls, value: str | None) -> str | None:
        if value is not None and value not in FORCIBLE:
            raise ValueError(f"'{value}' is not one of {', '.join(FORCIBLE)}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> FaultSpec:
        if self.error is None and self.delay_ms is None:
            raise ValueError("a fault needs an error and/or a delay_ms")
        if self.times is not None and self.probability is not None:
            raise ValueError("give times or probability, not both")
        return self
