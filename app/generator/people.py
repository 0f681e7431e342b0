"""Emulated members (PYMK people, an account's connections) assembled by hash from a vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from app.generator import lexicon
from app.generator.hashing import Draw, Node, b64, frame, frame_int, permutation_keys, permute
from app.generator.vocabulary import Vocabulary

PROFILE_URL = "https://www.linkedin.com/in/"
PYMK_URN_HEAD = "urn:li:fsd_discoveryEntityViewModel:(urn:li:fsd_profile:"
PROFILE_URN_HEAD = "urn:li:fsd_profile:"

# Real profile ids are base64url of bytes 00 2A 00 followed by the member id and opaque bytes
# ("ACoAACjveEcB..." carries member 0x0028E3DE). Member ids below 2**26 keep the next character
# an "A", so every id reads "ACoAA" like the vendor's examples; 29 bytes give the 39 characters.
_URN_HEAD = b"\x00\x2a\x00"
_MEMBER_BITS = 26
# PYMK people take even slots of the member-id and vanity permutations and connections odd ones,
# so the two sets can never share an id or a URL.
MAX_POOL_SIZE = 1 << (_MEMBER_BITS - 1)
MAX_CONNECTIONS = 1500
CLOSE_CIRCLE = 100
_VANITY_BITS = 32

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

    __slots__ = ("connection_count", "member_keys", "node", "photo_expiry", "vanity_keys")

    def __init__(self, seed: str, account_id: str) -> None:
        self.node = Node.root(seed, account_id)
        self.vanity_keys, self.member_keys = permutation_keys(self.node.digest(_KEYS))
        draw = self.node.draw(_GRAPH)
        self.connection_count = 50 + draw.below(MAX_CONNECTIONS - 50 + 1)
        self.photo_expiry = _EXPIRY_BASE + 86_400 * draw.below(365)

    def member_node(self, index: int, *, connection: bool) -> Node:
        return self.node.child((_CONNECTION if connection else _PYMK) + frame_int(index))

    def profile_url(self, name: Name, index: int, *, connection: bool) -> str:
        suffix = permute(2 * index + connection, _VANITY_BITS, self.vanity_keys)
        return f"{PROFILE_URL}{name.slug}-{suffix:08x}"

    def profile_id(self, node: Node, index: int, *, connection: bool) -> str:
        member_id = permute(2 * index + connection, _MEMBER_BITS, self.member_keys)
        return b64(_URN_HEAD + member_id.to_bytes(4, "big") + node.digest(_URN)[:22])

    def picture(self, node: Node) -> str | None:
        digest = node.digest(_PHOTO)
        # Decisions come from the low 8 bytes, the asset id from the first 9: no bit is reused.
        r, photoless = divmod(int.from_bytes(digest[24:], "big"), _PHOTOLESS_ONE_IN)
        if photoless == 0:
            return None
        r, asset = divmod(r, len(_PHOTO_ASSETS))
        r, first = divmod(r, len(_PHOTO_FIRST))
        uploaded = _PHOTO_SINCE_MS + r % (_PHOTO_UNTIL_MS - _PHOTO_SINCE_MS)
        asset_id = _PHOTO_ASSETS[asset] + _PHOTO_FIRST[first] + b64(digest[:9])[:11]
        token = b64(node.digest(_PHOTO_TOKEN))
        return (
            f"https://media.licdn.com/dms/image/v2/{asset_id}/{_PHOTO_SIZE}/{_PHOTO_SIZE}/0/"
            f"{uploaded}?e={self.photo_expiry}&v=beta&t={token}"
        )

    def mutuals(self, node: Node, position: int) -> tuple[int, int]:
        """(mutual connection count M, index of the connection the insight cites).

        M never exceeds the account's connection count. The cited connection is one of the
        account's closest (the first CLOSE_CIRCLE), skewed toward the very first: PYMK keeps
        citing the contacts you share most with, so a page shows the same few names again.
        """
        total = self.connection_count
        r, kind = divmod(int.from_bytes(node.digest(_GRAPH), "big"), 100)
        if kind < 7:
            count = 1
        elif kind < 13:
            count = 2
        else:
            # Product of two uniforms: mostly a few dozen, sometimes hundreds; the top of the
            # list (low positions) has the widest range, as PYMK ranks by shared network.
            span = (min(total, 400) - 3) * (2000 - min(position, 1000)) // 2000
            r, a = divmod(r, span + 1)
            r, b = divmod(r, span + 1)
            count = 3 + a * b // span
        circle = min(total, CLOSE_CIRCLE)
        r, a = divmod(r, circle)
        return count, a * (r % circle) // circle


def make_name(vocab: Vocabulary, draw: Draw) -> Name:
    sources = vocab.sources
    source = sources[vocab.source_weights.index(draw)] if len(sources) > 1 else sources[0]
    name_format = source.formats[source.format_weights.index(draw)]
    parts: list[str] = []
    slugs: list[str] = []
    for words, literal in name_format.segments:
        if words is None:
            parts.append(literal)
        else:
            i = words.index(draw)
            parts.append(words.values[i])
            if words.slugs[i]:
                slugs.append(words.slugs[i])
    given = name_format.given
    full = "".join(parts)
    if source.lang == "en" and draw.percent() < 4:
        full += _CREDENTIALS[draw.below(len(_CREDENTIALS))]
    return Name(
        full,
        "".join(parts[:given]).strip(),
        "".join(parts[given:]).strip(),
        "-".join(slugs) or "member",
        name_format.female,
        source.lang,
    )


def given_name(vocab: Vocabulary, draw: Draw) -> str:
    """make_name(vocab, draw).first without building the rest (same draws, in the same order)."""
    sources = vocab.sources
    source = sources[vocab.source_weights.index(draw)] if len(sources) > 1 else sources[0]
    name_format = source.formats[source.format_weights.index(draw)]
    return "".join(
        literal if words is None else words.pick(draw)
        for words, literal in name_format.segments[: name_format.given]
    ).strip()


def make_headline(vocab: Vocabulary, name: Name, draw: Draw) -> str:
    """A LinkedIn-style headline; the mix follows what PYMK cards typically show."""
    title = _title(vocab, name, draw)
    company = _one(vocab.companies, draw)
    form = draw.percent()
    if form < 22:
        return f"{title} @ {company}"
    if form < 38:
        at = lexicon.AT_WORDS.get(name.lang, "at") if draw.below(2) else "at"
        return f"{title} {at} {company}"
    if form < 48:
        first, second = _two(lexicon.SKILLS, draw)
        return f"{title} | {first} | {second}"
    if form < 53:
        first, second = _two(lexicon.SKILLS, draw)
        return f"{title} • {first} • {second} • {_one(lexicon.SKILLS, draw)}"
    if form < 61:
        return _student(vocab, name, company, draw)
    if form < 68:
        return _founder(company, draw)
    if form < 78:
        return _with_emoji(title, company, draw)
    if form < 85:
        former = _one(vocab.companies, draw)
        if draw.below(2):
            return f"{title} @ {company} | ex-{former}"
        return f"{title} | Ex-{former}"
    if form < 90:
        audience, goal = _one(lexicon.AUDIENCES, draw), _one(lexicon.GOALS, draw)
        return f"Helping {audience} {goal} | {title} @ {company}"
    if form < 94:
        skill = _one(lexicon.SKILLS, draw)
        return (f"Open to work | {title} | {skill}", f"#OpenToWork | {title}")[draw.below(2)]
    if form < 97:
        return f"{title} | {company}"
    return title


def _title(vocab: Vocabulary, name: Name, draw: Draw) -> str:
    roll = draw.percent()
    local = vocab.local_titles.get(name.lang)
    # Faker's local job lists are in the masculine form only; women get the English roles
    # rather than a title that disagrees with them.
    if local and roll < 15 and not name.female:
        return _one(local, draw)
    if roll < 85:
        return _one(vocab.roles, draw)
    return _one(vocab.faker_jobs, draw)


def _student(vocab: Vocabulary, name: Name, company: str, draw: Draw) -> str:
    school = _one(vocab.schools, draw)
    field = _one(lexicon.STUDY_FIELDS, draw)
    form = draw.below(6)
    if form == 0:
        words = lexicon.STUDENT_WORDS.get(name.lang)
        if words is not None and draw.below(2):
            return f"{words[1] if name.female else words[0]} {words[2]} {school}"
        return f"Student at {school}"
    if form == 1:
        return f"{_one(lexicon.DEGREES, draw)} {field} @ {school}"
    if form == 2:
        return f"{field} Student at {school}"
    if form == 3:
        return f"PhD Candidate in {field} at {school}"
    if form == 4:
        return f"MBA Candidate @ {school}"
    return f"{field} @ {school} | Incoming Intern @ {company}"


def _founder(company: str, draw: Draw) -> str:
    form = draw.below(7)
    if form == 3:
        first, second = _two(lexicon.SKILLS, draw)
        return f"Founder @ {company} | {first} | {second}"
    return (
        f"Founder & CEO @ {company}",
        f"Co-founder @ {company}",
        f"Co-Founder & CTO at {company}",
        "",
        f"CEO & Co-founder at {company} 🚀",
        f"Founder | Building {company}",
        f"Serial entrepreneur | Founder @ {company}",
    )[form]


def _with_emoji(title: str, company: str, draw: Draw) -> str:
    emoji = _one(lexicon.EMOJIS, draw)
    first, second = _two(lexicon.SKILLS, draw)
    return (
        f"{emoji} {title} @ {company}",
        f"{title} @ {company} {emoji}",
        f"{title} | {first} {emoji} | {second}",
        f"{emoji} {first} | {second} | {title}",
    )[draw.below(4)]


def _one(values: tuple[str, ...], draw: Draw) -> str:
    return values[draw.below(len(values))]


def _two(values: tuple[str, ...], draw: Draw) -> tuple[str, str]:
    """Two distinct values: the second is offset by 1..n-1 from the first."""
    first = draw.below(len(values))
    second = (first + 1 + draw.below(len(values) - 1)) % len(values)
    return values[first], values[second]


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
    name = make_name(vocab, node.draw(_NAME))
    count, cited = hood.mutuals(node, position)
    return {
        "name": name.full,
        "subtitle": make_headline(vocab, name, node.draw(_HEADLINE)),
        "profile_url": hood.profile_url(name, position, connection=False),
        "insight": insight(first_name_of(cited), count),
        "entity_urn": f"{PYMK_URN_HEAD}{hood.profile_id(node, position, connection=False)},PYMK)",
        "profile_picture": hood.picture(node),
    }


def connection_first_name(vocab: Vocabulary, hood: Neighbourhood, index: int) -> str:
    """The given name of the account's connection at index (what an insight cites)."""
    return given_name(vocab, hood.member_node(index, connection=True).draw(_NAME))


def connection(vocab: Vocabulary, hood: Neighbourhood, index: int) -> dict[str, str | None]:
    """One of the account's own connections (what a list_connections action would show)."""
    node = hood.member_node(index, connection=True)
    name = make_name(vocab, node.draw(_NAME))
    return {
        "name": name.full,
        "first_name": name.first,
        "last_name": name.last,
        "job_title": make_headline(vocab, name, node.draw(_HEADLINE)),
        "profile_url": hood.profile_url(name, index, connection=True),
        "entity_urn": PROFILE_URN_HEAD + hood.profile_id(node, index, connection=True),
        "profile_picture": hood.picture(node),
    }
