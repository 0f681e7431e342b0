"""Shape and realism of generated records: the six fields, uniqueness, the graph, the locales."""

from __future__ import annotations

import base64
import re
from collections import Counter
from functools import cache
from typing import Any, cast

import jsonschema
import orjson
import pytest
from unidecode import unidecode

from linkup_emulator.generator import SUPPORTED_COUNTRIES, PeopleGenerator, Pool

SEED = "records-seed"
FIELDS = ["name", "subtitle", "profile_url", "insight", "entity_urn", "profile_picture"]
VANITY = re.compile(r"^https://www\.linkedin\.com/in/[a-z0-9]+(?:-[a-z0-9]+)*$")
PYMK_URN = re.compile(
    r"^urn:li:fsd_discoveryEntityViewModel:\(urn:li:fsd_profile:ACoAA[A-Za-z0-9_-]{34},PYMK\)$"
)
PROFILE_URN = re.compile(r"^urn:li:fsd_profile:(ACoAA[A-Za-z0-9_-]{34})$")
PICTURE = (
    r"^https://media\.licdn\.com/dms/image/v2/D[0-9A-Z]{2}03AQ[A-Za-z0-9_-]{12}"
    r"/profile-displayphoto-shrink_100_100/profile-displayphoto-shrink_100_100/0/\d{13}"
    r"\?e=\d{10}&v=beta&t=[A-Za-z0-9_-]{43}$"
)
INSIGHT = re.compile(
    r"^(?P<first>.+?) (?:and (?P<others>\d+) other mutual (?P<noun>connections?)"
    r"|is a mutual connection)$"
)

RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": FIELDS,
    "properties": {
        "name": {"type": "string", "minLength": 3},
        "subtitle": {"type": "string", "minLength": 2},
        "profile_url": {"type": "string", "pattern": VANITY.pattern},
        "insight": {"type": "string", "pattern": INSIGHT.pattern},
        "entity_urn": {"type": "string", "pattern": PYMK_URN.pattern},
        "profile_picture": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": PICTURE}]},
    },
}


@cache
def full_pool(country: str, account: str = "acc_records") -> Pool:
    pool = PeopleGenerator(SEED).pool(account, country, 1000)
    pool.json_array(1000)
    return pool


def rows(country: str, n: int = 1000, account: str = "acc_records") -> list[dict[str, Any]]:
    """Records of the cached full pool, typed loosely for assertions."""
    return cast(list[dict[str, Any]], full_pool(country, account).records(n))


def profile_id(urn: str) -> str:
    return urn.removeprefix("urn:li:fsd_discoveryEntityViewModel:(urn:li:fsd_profile:")[:39]


@pytest.mark.parametrize("country", sorted(SUPPORTED_COUNTRIES))
def test_every_supported_country_produces_valid_records(country: str) -> None:
    records = PeopleGenerator(SEED).pool(f"acc_{country}", country, 1000).records(60)
    assert len(records) == 60
    for record in records:
        jsonschema.validate(record, RECORD_SCHEMA)
        assert list(record) == FIELDS


def test_the_wire_bytes_keep_the_field_order() -> None:
    array = full_pool("US").json_array(20)
    assert array.startswith(b'[{"name":')
    for record in orjson.loads(array):
        assert list(record) == FIELDS


def test_unsupported_countries_are_refused() -> None:
    with pytest.raises(ValueError, match="XX"):
        PeopleGenerator(SEED).pool("a", "XX", 10)
    assert {"US", "GB", "FR", "DE", "ES", "IT", "NL", "BR", "IN", "CA", "IL"} <= SUPPORTED_COUNTRIES


@pytest.mark.parametrize("country", ["US", "DE", "IL"])
def test_urls_and_urns_are_unique_over_a_full_pool(country: str) -> None:
    records = rows(country, 1000)
    assert len({r["profile_url"] for r in records}) == 1000
    assert len({r["entity_urn"] for r in records}) == 1000
    assert len({profile_id(r["entity_urn"]) for r in records}) == 1000
    for record in records:
        assert VANITY.match(record["profile_url"]), record["profile_url"]
        assert PYMK_URN.match(record["entity_urn"]), record["entity_urn"]


def member_id(profile_id: str) -> int:
    """The member number a profile id carries: bytes 3-6 of its base64url form, as on LinkedIn."""
    raw = base64.urlsafe_b64decode(profile_id + "=")
    assert raw[:3] == b"\x00\x2a\x00"
    return int.from_bytes(raw[3:7], "big")


def vanity_suffix(url: str) -> str:
    return url.rsplit("-", 1)[1]


@pytest.mark.parametrize("account", ["acc_records", "acc_second", "acc_third"])
def test_no_recommended_person_is_already_a_connection(account: str) -> None:
    """Not just different strings: different members (ids) and different vanity suffixes."""
    pool = full_pool("FR", account)
    connections = pool.connections
    assert len(connections) == pool.connection_count >= 50
    their_ids = set()
    for person in connections:
        match = PROFILE_URN.match(str(person["entity_urn"]))
        assert match, person["entity_urn"]
        their_ids.add(match.group(1))
    their_urls = {str(c["profile_url"]) for c in connections}
    assert len(their_urls) == len(their_ids) == len(connections)
    records = rows("FR", 1000, account)
    our_urls = {str(r["profile_url"]) for r in records}
    our_ids = {profile_id(str(r["entity_urn"])) for r in records}
    assert not their_urls & our_urls
    assert not their_ids & our_ids
    assert not {member_id(i) for i in their_ids} & {member_id(i) for i in our_ids}
    assert not {vanity_suffix(u) for u in their_urls} & {vanity_suffix(u) for u in our_urls}


def test_member_ids_and_vanity_suffixes_are_unique_within_a_pool() -> None:
    records = rows("US", 1000)
    assert len({member_id(profile_id(str(r["entity_urn"]))) for r in records}) == 1000
    assert len({vanity_suffix(str(r["profile_url"])) for r in records}) == 1000


@pytest.mark.parametrize("country", ["US", "ES", "CA"])
def test_insights_cite_a_connection_and_fit_the_graph(country: str) -> None:
    pool = full_pool(country)
    first_names = {c["first_name"] for c in pool.connections}
    forms: Counter[str] = Counter()
    for record in rows(country):
        match = INSIGHT.match(record["insight"])
        assert match, record["insight"]
        assert match["first"] in first_names
        mutuals = 1 if match["others"] is None else int(match["others"]) + 1
        assert 1 <= mutuals <= pool.connection_count
        if match["others"] is not None:
            # Singular noun exactly when there is one other mutual connection.
            assert (match["noun"] == "connection") == (mutuals == 2), record["insight"]
        forms["one" if mutuals == 1 else "two" if mutuals == 2 else "many"] += 1
    assert forms["many"] > 700  # the documented form dominates
    assert forms["one"] > 0
    assert forms["two"] > 0


def test_connections_carry_names_urls_and_urns() -> None:
    connections = full_pool("DE").connections
    for person in connections[:50]:
        assert str(person["name"]).startswith(f"{person['first_name']} {person['last_name']}")
        assert VANITY.match(str(person["profile_url"]))
        assert person["job_title"]
    connections[0]["name"] = "mutated by a caller"
    assert full_pool("DE").connections[0]["name"] != "mutated by a caller"


def test_about_one_in_eight_has_no_photo() -> None:
    records = rows("US", 1000)
    missing = sum(r["profile_picture"] is None for r in records)
    assert 50 <= missing <= 250
    for record in records:
        if record["profile_picture"] is not None:
            assert re.match(PICTURE, record["profile_picture"]), record["profile_picture"]


@pytest.mark.parametrize("country", ["US", "FR", "IL"])
def test_headlines_are_varied(country: str) -> None:
    subtitles = [r["subtitle"] for r in rows(country, 1000)]
    assert len(set(subtitles[:200])) >= 150
    assert any(" @ " in s for s in subtitles)
    assert any(re.search(r" (at|chez) ", s) for s in subtitles)
    assert any(s.count(" | ") >= 2 for s in subtitles)
    assert any(re.search(r"Student|Étudiant|PhD Candidate|MBA Candidate", s) for s in subtitles)
    assert any(re.search(r"Founder|Co-founder|Co-Founder", s) for s in subtitles)
    assert any(not s.isascii() and any(ord(c) >= 0x2600 for c in s) for s in subtitles)


@pytest.mark.parametrize("country", ["FR", "DE", "ES"])
def test_names_keep_their_accents(country: str) -> None:
    names = [r["name"] for r in rows(country, 1000)]
    assert any(re.search(r"[À-ÖØ-öø-ÿ]", name) for name in names)
    # ...while vanity URLs are transliterated to ASCII.
    assert all(r["profile_url"].isascii() for r in rows(country, 1000))


def test_israeli_names_are_in_latin_script() -> None:
    names = [r["name"] for r in rows("IL", 1000)]
    assert all(name.isascii() for name in names)
    assert len(set(names)) > 500


def test_vanity_names_are_the_transliterated_name_and_a_hex_suffix() -> None:
    for record in rows("FR", 200):
        vanity = str(record["profile_url"]).rsplit("/", 1)[1]
        base, suffix = vanity.rsplit("-", 1)
        assert re.fullmatch(r"[0-9a-f]{8}", suffix)
        without_credentials = str(record["name"]).split(",")[0]
        assert base == re.sub(r"[^a-z0-9]+", "-", unidecode(without_credentials).lower()).strip("-")
