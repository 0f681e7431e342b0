"""Settings of one emulator process: EMULATOR_* environment variables, each also a CLI flag."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from linkup_emulator.clock import parse_instant
from linkup_emulator.models import first_problem
from linkup_emulator.resources import DEFAULT_FIXTURES

ENV_PREFIX = "EMULATOR_"
# The loopback names; `emulator`, compose.yaml's service name and the in-process client's
# host; `testserver`, Starlette's TestClient's. DNS rebinding needs a name the attacker's DNS
# answers, which no single-label name is: these are safe to serve.
DEFAULT_ALLOWED_HOSTS = ("localhost", "*.localhost", "emulator", "testserver")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="interface to bind")
    port: int = Field(8000, ge=0, le=65535, description="port to bind; 0 picks a free one")
    workers: int = Field(
        1, ge=1, le=64, description="worker processes (more than 1 needs a file or Redis state)"
    )
    seed: str = Field("linkup", min_length=1, description="seed of every generated value")
    fixtures: Path = Field(DEFAULT_FIXTURES, description="fixture file or folder of YAML tenants")
    state: str = Field(
        ":memory:",
        min_length=1,
        description="':memory:', a SQLite file path, or redis://[:password@]host:port/db",
    )
    redis_prefix: str = Field(
        "linkup:",
        min_length=1,
        max_length=100,
        pattern=r"^[^{}\s]+$",  # braces would break the keys' hash tags
        description="prefix of every Redis key (several emulators can share one Redis)",
    )
    admin_token: SecretStr | None = Field(None, description="bearer token guarding /_emulator")
    # ~350 bytes a row in memory: the bound keeps the journal under ~350 MB.
    journal_size: int = Field(10_000, ge=1, le=1_000_000, description="request journal bound")
    rate_limit: int = Field(300, ge=0, description="default requests per minute per key; 0 = off")
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        "info", description="log level"
    )
    clock: str = Field(
        "system",
        description="'system' (real time), or an ISO 8601 instant to start frozen at",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated origins allowed by CORS ('*' for any)"
    )
    webhook_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost"],
        description="comma-separated hosts webhooks may target, compared literally ('*' for any)",
    )
    webhook_retry_base_s: float = Field(
        1.0, gt=0, le=60, description="first retry delay of a failed delivery (then x2, 5 retries)"
    )
    webhook_timeout_s: float = Field(
        5.0, gt=0, le=60, description="seconds a webhook receiver has to answer one delivery"
    )
    webhook_sweep_s: float = Field(
        2.0, gt=0, le=3600, description="real seconds between sweeps for due events and charges"
    )

    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS),
        description="comma-separated Host names served ('*.example' for subdomains, '*' for"
        " any); IP addresses and the bound host are always served",
    )
    max_connections: int = Field(
        2048, ge=1, le=1_000_000, description="open connections per process; more are refused"
    )
    head_timeout_s: float = Field(
        10.0, gt=0, le=3600, description="seconds a connection has to send a request's head"
    )
    write_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="seconds a client may leave a response unread"
    )
    shutdown_timeout_s: int = Field(
        5, ge=0, le=3600, description="seconds in-flight requests get to finish on SIGTERM"
    )
    people_cache_mb: int = Field(
        64, ge=1, le=65_536, description="MB of generated people kept per process"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("cors_origins", "allowed_hosts", "webhook_hosts", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("clock")
    @classmethod
    def _instant(cls, value: str) -> str:
        if value != "system":
            parse_instant(value)  # a bad instant stops the start, naming it
        return value

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _one_memory_per_process(self) -> Settings:
        if self.workers > 1 and self.state == ":memory:":
            raise ValueError(
                "workers > 1 needs a file state (e.g. --state ./state.sqlite3) or a Redis one"
                " (redis://host:6379/0): "
                "each worker process would otherwise hold its own ':memory:' balances"
            )
        return self


def explain(error: ValidationError) -> str:
    """A bad setting as the one line a failed start prints, naming its flag and variable."""
    loc, message = first_problem(error)
    name = str(loc[0]) if loc else ""
    # A model-level check (workers vs. state) has no field.
    where = f" --{name.replace('_', '-')} / {ENV_PREFIX}{name.upper()}" if name else "s"
    return f"linkup-emulator: invalid setting{where}: {message}"
