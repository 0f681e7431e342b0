"""Deterministic LinkedIn people: word pools built once per locale, records assembled by hash."""

from app.generator.pool import PeopleGenerator, Pool
from app.generator.vocabulary import SUPPORTED_COUNTRIES

__all__ = ["SUPPORTED_COUNTRIES", "PeopleGenerator", "Pool"]
