"""Emulated members (PYMK people, an account's connections) assembled by hash from a vocabulary."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from linkup_emulator.generator import lexicon
from linkup_emulator.generator.hashing import (
    Node,
    b64,
    eight_words,
    frame,
    frame_int,
    permutation_keys,
    permute,
    unpermute,
)
from linkup_emulator.generator.vocabulary import Vocabulary

PROFILE_URL = "https://www.linkedin.com/in/"
PYMK_URN_HEAD = "urn:li:fsd_discoveryEntityViewModel:(urn:li:fsd_profile:"
PROFILE_URN_HEAD = "urn:li:fsd_profile:"

# Real profile ids are base64url of bytes 00 2A 00 followed by the member id and opaque bytes
# ("ACoAACjveEcB..." carries member 0x0028E3DE). Member ids below 2**26 keep the next character
# an "A", so every id reads "ACoAA" like the vendor's examples; 29 bytes give the 39 characters.
_URN_HEAD = b"\x00\x2a\x00"
_MEMBER_BITS = 26
# PYMK people take the even slots of the member-id permutation and connections the odd ones, so
# the two sets can never share a member id, nor (see identity()) a vanity suffix.
MAX_POOL_SIZE = 1 << (_MEMBER_BITS - 1)
MAX_CONNECTIONS = 1500
# The connection-like (odd) slots past the connections hold the account's other people: the
# senders of its pending received invitations, the recipients of its pending sent ones, and
# the members whose invitations arrive through the control plane (n-th arrival).
MAX_PENDING = 500
RECEIVED_BASE = MAX_CONNECTIONS
SENT_BASE = RECEIVED_BASE + MAX_PENDING
ARRIVAL_BASE = SENT_BASE + MAX_PENDING
MAX_ARRIVALS = (1 << (_MEMBER_BITS - 1)) - ARRIVAL_BASE
CLOSE_CIRCLE = 100
_VANITY_MULTIPLIER = 0x2C1B3C6D

_PHOTO_ASSETS = ("D4E03AQ", "D4E03AQ", "D4E03AQ", "D5603AQ", "D5603AQ", "D4D03AQ")
_PHOTO_FIRST = "EFGH"
_PHOTO_SINCE_MS = 1_546_300_800_000  # 2019-01-01: v2 "D..." assets start around then
_PHOTO_UNTIL_MS = 1_767_225_600_000  # 2026-01-01
_EXPIRY_BASE = 1_767_225_600  # signed URLs expire on a UTC midnight; one per account
_PHOTOLESS_ONE_IN = 8
_PHOTO_SIZE = "profile-displayphoto-shrink_100_100"

# Field names, framed once (see hashing.frame): each is the last element of the hashed tuple
# (seed, account_id, "pymk" | "connection", index, field).
_KEYS = frame("keys")
_PYMK = frame("pymk")
_CONNECTION = frame("connection")
_NAME = frame("name")
_HEADLINE = frame("headline")
_GRAPH = frame("graph")
_PHOTO = frame("photo")
_PHOTO_TOKEN = frame("photo-token")
_URN = frame("urn")

_STRANGER = frame("stranger")
_STRANGER_EXPIRY = _EXPIRY_BASE + 86_400 * 180
_VANITY_INVERSE = pow(_VANITY_MULTIPLIER, -1, 1 << 32)
_SUFFIX = re.compile(r"-([0-9a-f]{8})")
_DIGIT = re.compile(r"[0-9]")

_CREDENTIALS = (", MBA", ", PhD", ", CFA", ", PMP", ", CPA", ", MD")


class Name(NamedTuple):
    full: str
    first: str
    last: str
    slug: str
    female: bool
    lang: str


class Neighbourhood:
    """An account's emulated graph: its connection count and its id permutations."""

    __slots__ = ("connection_count", "member_keys", "node", "photo_expiry", "vanity_key")

    def __init__(self, seed: Node, account_id: str, connections: int | None = None) -> None:
        """seed is Node.root(emulator_seed), hashed once per generator rather than per pool;
        `connections` fixes the connection count (else generated, 50-1500)."""
        self.node = seed.child(frame(account_id))
        self.member_keys, (self.vanity_key, *_) = permutation_keys(self.node.digest(_KEYS))
        w = self.node.words(_GRAPH)
        generated = 50 + w[0] % (MAX_CONNECTIONS - 50 + 1)
        self.connection_count = generated if connections is None else connections
        self.photo_expiry = _EXPIRY_BASE + 86_400 * (w[1] % 365)

    def locate(self, vanity: str) -> tuple[bool, int] | None:
        """(connection slot?, index) of the member whose vanity suffix this is, if any: the
        inverse of identity()'s suffix. The caller checks the whole vanity."""
        found = _SUFFIX.search(vanity)
        if found is None or found.end() != len(vanity):
            return None
        suffix = int(found.group(1), 16)
        member = ((suffix - self.vanity_key) * _VANITY_INVERSE) & 0xFFFFFFFF
        if member >> _MEMBER_BITS:
            return None
        slot = unpermute(member, _MEMBER_BITS, self.member_keys)
        return bool(slot & 1), slot >> 1

    def member_node(self, index: int, *, connection: bool) -> Node:
        return self.node.child((_CONNECTION if connection else _PYMK) + frame_int(index))

    def identity(self, node: Node, name: Name, index: int, *, connection: bool) -> tuple[str, str]:
        """(profile_url, profile id) of a member: both unique within the account by construction.

        The member id is a keyed bijection of the slot (2 * index, +1 for connections), so no
        two members share one; the vanity suffix is member * odd + key mod 2**32, which is
        injective too (odd multipliers are invertible mod 2**32), so neither do two URLs.
        """
        member = permute(2 * index + connection, _MEMBER_BITS, self.member_keys)
        suffix = (member * _VANITY_MULTIPLIER + self.vanity_key) & 0xFFFFFFFF
        profile_id = b64(_URN_HEAD + member.to_bytes(4, "big") + node.digest(_URN)[:22])
        return f"{PROFILE_URL}{name.slug}-{suffix:08x}", profile_id

    def picture(self, node: Node) -> str | None:
        return picture(node, self.photo_expiry)

    def mutuals(self, node: Node, position: int) -> tuple[int, int]:
        """(mutual connection count M, index of the connection the insight cites).

        M never exceeds the account's connection count. The cited connection is one of the
        account's closest (the first CLOSE_CIRCLE), skewed toward the very first (a product of
        three uniforms): PYMK keeps citing the contacts you share most with, so a page shows
        the same few names again and again.
        """
        total = self.connection_count
        w = node.words(_GRAPH)
        kind = w[0] % 100
        if kind < 7:
            count = 1
        elif kind < 13:
            count = 2
        else:
            # Product of two uniforms: mostly a few dozen, sometimes hundreds; the top of the
            # list (low positions) has the widest range, as PYMK ranks by shared network.
            span = (min(total, 400) - 3) * (2000 - min(position, 1000)) // 2000
            if span > 0:
                count = 3 + (w[1] % (span + 1)) * (w[2] % (span + 1)) // span
            else:  # a fixture's handful of connections: any of them
                count = 1 + w[1] % total
        # A generated account has 50 or more connections; a fixture's may have fewer.
        count = min(count, total)
        circle = min(total, CLOSE_CIRCLE)
        return count, (w[3] % circle) * (w[4] % circle) * (w[5] % circle) // (circle * circle)


def picture(node: Node, expiry: int) -> str | None:
    """A member's photo URL, or None for about one in eight (no photo)."""
    digest = node.digest(_PHOTO)
    # Words 0-4 (bytes 0-19) decide; bytes 20-28 are the asset id: no bit is used twice.
    w = eight_words(digest)
    if w[0] % _PHOTOLESS_ONE_IN == 0:
        return None
    asset = _PHOTO_ASSETS[w[1] % len(_PHOTO_ASSETS)] + _PHOTO_FIRST[w[2] % len(_PHOTO_FIRST)]
    asset += b64(digest[20:29])[:11]
    uploaded = _PHOTO_SINCE_MS + (w[3] << 32 | w[4]) % (_PHOTO_UNTIL_MS - _PHOTO_SINCE_MS)
    token = b64(node.digest(_PHOTO_TOKEN))
    return (
        f"https://media.licdn.com/dms/image/v2/{asset}/{_PHOTO_SIZE}/{_PHOTO_SIZE}/0/"
        f"{uploaded}?e={expiry}&v=beta&t={token}"
    )


# Names, headlines and the graph each read one digest as eight 32-bit words (Node.words);
# which word feeds which pick is fixed below, so a field's values never depend on another's.


def make_name(vocab: Vocabulary, w: tuple[int, ...]) -> Name:
    """Words: 0 locale source, 1 format, 2-6 the format's tokens, 7 an optional credential."""
    sources = vocab.sources
    source = sources[vocab.source_weights.index(w[0])] if len(sources) > 1 else sources[0]
    name_format = source.formats[source.format_weights.index(w[1])]
    parts: list[str] = []
    slugs: list[str] = []
    k = 2
    for words, literal in name_format.segments:
        if words is None:
            parts.append(literal)
        else:
            i = words.index(w[k])
            k += 1
            parts.append(words.values[i])
            if words.slugs[i]:
                slugs.append(words.slugs[i])
    given = name_format.given
    full = "".join(parts)
    if source.lang == "en" and w[7] % 100 < 4:
        full += _CREDENTIALS[w[7] // 100 % len(_CREDENTIALS)]
    return Name(
        full,
        "".join(parts[:given]).strip(),
        "".join(parts[given:]).strip(),
        "-".join(slugs) or "member",
        name_format.female,
        source.lang,
    )


def given_name(vocab: Vocabulary, w: tuple[int, ...]) -> str:
    """make_name(vocab, w).first without building the rest (the same words)."""
    sources = vocab.sources
    source = sources[vocab.source_weights.index(w[0])] if len(sources) > 1 else sources[0]
    name_format = source.formats[source.format_weights.index(w[1])]
    parts: list[str] = []
    k = 2
    for words, literal in name_format.segments[: name_format.given]:
        if words is None:
            parts.append(literal)
        else:
            parts.append(words.pick(w[k]))
            k += 1
    return "".join(parts).strip()


def make_headline(vocab: Vocabulary, name: Name, w: tuple[int, ...]) -> str:
    """A LinkedIn-style headline; the mix follows what PYMK cards typically show.

    Words: 0 title, 1 company, 2 form (and its small sub-choices), 3-5 the form's extras.
    """
    title = _title(vocab, name, w[0])
    companies = vocab.companies
    company = companies[w[1] % len(companies)]
    form, sub = w[2] % 100, w[2] // 100
    if form < 22:
        return f"{title} @ {company}"
    if form < 38:
        at = lexicon.AT_WORDS.get(name.lang, "at") if sub % 2 else "at"
        return f"{title} {at} {company}"
    if form < 48:
        first, second = _two(lexicon.SKILLS, w[3], w[4])
        return f"{title} | {first} | {second}"
    if form < 53:
        first, second = _two(lexicon.SKILLS, w[3], w[4])
        third = lexicon.SKILLS[w[5] % len(lexicon.SKILLS)]
        return f"{title} • {first} • {second} • {third}"
    if form < 61:
        return _student(vocab, name, company, sub, w)
    if form < 68:
        return _founder(company, sub, w)
    if form < 78:
        return _with_emoji(title, company, sub, w)
    if form < 85:
        former = companies[w[3] % len(companies)]
        return f"{title} @ {company} | ex-{former}" if sub % 2 else f"{title} | Ex-{former}"
    if form < 90:
        audience = lexicon.AUDIENCES[w[3] % len(lexicon.AUDIENCES)]
        goal = lexicon.GOALS[w[4] % len(lexicon.GOALS)]
        return f"Helping {audience} {goal} | {title} @ {company}"
    if form < 94:
        skill = lexicon.SKILLS[w[3] % len(lexicon.SKILLS)]
        return f"Open to work | {title} | {skill}" if sub % 2 else f"#OpenToWork | {title}"
    if form < 97:
        return f"{title} | {company}"
    return title


def _title(vocab: Vocabulary, name: Name, word: int) -> str:
    roll, pick = word % 100, word // 100
    local = vocab.local_titles.get(name.lang)
    # Faker's local job lists are in the masculine form only; women get the English roles
    # rather than a title that disagrees with them.
    if local and roll < 15 and not name.female:
        return local[pick % len(local)]
    if roll < 85:
        return vocab.roles[pick % len(vocab.roles)]
    return vocab.faker_jobs[pick % len(vocab.faker_jobs)]


def _student(vocab: Vocabulary, name: Name, company: str, sub: int, w: tuple[int, ...]) -> str:
    school = vocab.schools[w[3] % len(vocab.schools)]
    field = lexicon.STUDY_FIELDS[w[4] % len(lexicon.STUDY_FIELDS)]
    form, local = sub % 6, sub // 6 % 2
    if form == 0:
        words = lexicon.STUDENT_WORDS.get(name.lang)
        if words is not None and local:
            return f"{words[1] if name.female else words[0]} {words[2]} {school}"
        return f"Student at {school}"
    if form == 1:
        return f"{lexicon.DEGREES[w[5] % len(lexicon.DEGREES)]} {field} @ {school}"
    if form == 2:
        return f"{field} Student at {school}"
    if form == 3:
        return f"PhD Candidate in {field} at {school}"
    if form == 4:
        return f"MBA Candidate @ {school}"
    return f"{field} @ {school} | Incoming Intern @ {company}"


def _founder(company: str, sub: int, w: tuple[int, ...]) -> str:
    form = sub % 7
    if form == 0:
        first, second = _two(lexicon.SKILLS, w[3], w[4])
        return f"Founder @ {company} | {first} | {second}"
    return (
        f"Founder & CEO @ {company}",
        f"Co-founder @ {company}",
        f"Co-Founder & CTO at {company}",
        f"CEO & Co-founder at {company} 🚀",
        f"Founder | Building {company}",
        f"Serial entrepreneur | Founder @ {company}",
    )[form - 1]


def _with_emoji(title: str, company: str, sub: int, w: tuple[int, ...]) -> str:
    emoji = lexicon.EMOJIS[w[5] % len(lexicon.EMOJIS)]
    first, second = _two(lexicon.SKILLS, w[3], w[4])
    return (
        f"{emoji} {title} @ {company}",
        f"{title} @ {company} {emoji}",
        f"{title} | {first} {emoji} | {second}",
        f"{emoji} {first} | {second} | {title}",
    )[sub % 4]


def _two(values: tuple[str, ...], a: int, b: int) -> tuple[str, str]:
    """Two distinct values: the second is offset by 1..n-1 from the first."""
    first = a % len(values)
    return values[first], values[(first + 1 + b % (len(values) - 1)) % len(values)]


def insight(first_name: str, mutual_count: int) -> str:
    if mutual_count == 1:
        return f"{first_name} is a mutual connection"
    if mutual_count == 2:
        return f"{first_name} and 1 other mutual connection"
    return f"{first_name} and {mutual_count - 1} other mutual connections"


def recommendation(
    vocab: Vocabulary, hood: Neighbourhood, position: int, first_name_of: Callable[[int], str]
) -> dict[str, str | None]:
    """The PYMK record at a position: the six wire fields, in the vendor's order."""
    node = hood.member_node(position, connection=False)
    name = make_name(vocab, node.words(_NAME))
    profile_url, profile_id = hood.identity(node, name, position, connection=False)
    count, cited = hood.mutuals(node, position)
    return {
        "name": name.full,
        "subtitle": make_headline(vocab, name, node.words(_HEADLINE)),
        "profile_url": profile_url,
        "insight": insight(first_name_of(cited), count),
        "entity_urn": f"{PYMK_URN_HEAD}{profile_id},PYMK)",
        "profile_picture": hood.picture(node),
    }


def connection_first_name(vocab: Vocabulary, hood: Neighbourhood, index: int) -> str:
    """The given name of the account's connection at index (what an insight cites)."""
    return given_name(vocab, hood.member_node(index, connection=True).words(_NAME))


def connection(vocab: Vocabulary, hood: Neighbourhood, index: int) -> dict[str, str | None]:
    """One of the account's own connections (what a list_connections action would show)."""
    node = hood.member_node(index, connection=True)
    name = make_name(vocab, node.words(_NAME))
    profile_url, profile_id = hood.identity(node, name, index, connection=True)
    return {
        "name": name.full,
        "first_name": name.first,
        "last_name": name.last,
        "job_title": make_headline(vocab, name, node.words(_HEADLINE)),
        "profile_url": profile_url,
        "entity_urn": PROFILE_URN_HEAD + profile_id,
        "profile_picture": hood.picture(node),
    }


class Member(NamedTuple):
    """Anyone an action can name, as the network actions show them."""

    name: str
    first_name: str
    last_name: str
    headline: str
    vanity: str  # the profile URL's last part
    profile_id: str  # the ACoAA... id of urn:li:fsd_profile:
    picture: str | None


def member(vocab: Vocabulary, hood: Neighbourhood, index: int, *, connection: bool) -> Member:
    """The account's member at a slot: a PYMK person (connection False) or a connection-like
    one (a connection, an invitation's other side). PYMK people read as in recommendation()."""
    node = hood.member_node(index, connection=connection)
    name = make_name(vocab, node.words(_NAME))
    profile_url, profile_id = hood.identity(node, name, index, connection=connection)
    return Member(
        name.full,
        name.first,
        name.last,
        make_headline(vocab, name, node.words(_HEADLINE)),
        profile_url.removeprefix(PROFILE_URL),
        profile_id,
        hood.picture(node),
    )


def stranger(vocab: Vocabulary, root: Node, vanity: str) -> Member:
    """A member outside every account's generated graph, from (seed, vanity) alone: the name
    read from a `first-last[-suffix]` vanity (a trailing part holding a digit dropped, each
    part capitalised) when two alphabetic parts remain, else a generated one."""
    node = root.child(_STRANGER + frame(vanity))
    parts = vanity.split("-")
    if parts and _DIGIT.search(parts[-1]):
        parts.pop()
    words = [part for part in parts if part.isalpha()]
    generated = make_name(vocab, node.words(_NAME))
    if len(words) >= 2 and len(words) == len(parts):
        first, last = words[0].capitalize(), " ".join(w.capitalize() for w in words[1:])
        name = Name(f"{first} {last}", first, last, vanity, generated.female, "en")
    else:
        name = generated
    member_id = int.from_bytes(node.digest(_URN)[:4], "big") >> (32 - _MEMBER_BITS)
    profile_id = b64(_URN_HEAD + member_id.to_bytes(4, "big") + node.digest(_URN)[4:26])
    return Member(
        name.full,
        name.first,
        name.last,
        make_headline(vocab, name, node.words(_HEADLINE)),
        vanity,
        profile_id,
        picture(node, _STRANGER_EXPIRY),
    )
