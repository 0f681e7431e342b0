"""Deterministic LinkedIn people: word pools built once per locale, records assembled by hash."""

from linkup_emulator.generator.pool import PeopleGenerator, Pool
from linkup_emulator.generator.vocabulary import SUPPORTED_COUNTRIES

__all__ = ["SUPPORTED_COUNTRIES", "PeopleGenerator", "Pool"]
