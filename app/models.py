"""Pydantic models of what the emulator reads: fixture tenants and control-plane payloads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, model_validator

from app.errors import FORCIBLE
from app.generator import SUPPORTED_COUNTRIES

Status = Literal["active", "inactive"]
NonNegative = Annotated[StrictInt, Field(ge=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountSpec(Strict):
    account_id: Annotated[str, Field(min_length=1, max_length=200)]
    account_name: str | None = None
    status: Status = "active"
    country: str = "US"
    pool_size: Annotated[StrictInt, Field(ge=0, le=10_000)] = 1000
    # Vendor accounts carry creation times; fixtures may pin them, else one is derived from the id.
    created_at: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

    @model_validator(mode="after")
    def _known_country(self) -> AccountSpec:
        if self.country not in SUPPORTED_COUNTRIES:
            supported = ", ".join(sorted(SUPPORTED_COUNTRIES))
            raise ValueError(f"country '{self.country}' is not one of {supported}")
        return self


class TenantSpec(Strict):
    api_key: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$")]
    credits: NonNegative | None = 1000
    rate_limit: NonNegative | None = None
    accounts: list[AccountSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_accounts(self) -> TenantSpec:
        ids = [a.account_id for a in self.accounts]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"account_id listed twice: {', '.join(dupes)}")
        return self


class FixtureFile(Strict):
    tenants: list[TenantSpec]


class TenantPatch(Strict):
    credits: NonNegative | None = None
    rate_limit: NonNegative | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> TenantPatch:
        if not self.model_fields_set:
            raise ValueError("give credits and/or rate_limit")
        return self


class AccountPatch(Strict):
    status: Status


class FaultMatch(Strict):
    api_key: str | None = None
    account_id: str | None = None
    action: str | None = None


class FaultSpec(Strict):
    match: FaultMatch = Field(default_factory=FaultMatch)
    error: str | None = None
    delay_ms: Annotated[StrictInt, Field(ge=0, le=30_000)] | None = None
    times: Annotated[StrictInt, Field(ge=1)] | None = None
    probability: Annotated[StrictFloat, Field(ge=0, le=1)] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> FaultSpec:
        if self.error is None and self.delay_ms is None:
            raise ValueError("a fault needs an error and/or a delay_ms")
        if self.error is not None and self.error not in FORCIBLE:
            raise ValueError(f"error '{self.error}' is not one of {', '.join(FORCIBLE)}")
        if self.times is not None and self.probability is not None:
            raise ValueError("give times or probability, not both")
        return self
