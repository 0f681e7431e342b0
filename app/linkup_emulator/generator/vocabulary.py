"""Per-country word pools, built lazily once per process from Faker's lists and the lexicon.

Faker's lists are read from the committed snapshot (app/generator/snapshot/), never from Faker
itself at run time: see that package for why and for how to regenerate it after a Faker bump.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from unidecode import unidecode

from linkup_emulator.generator import lexicon, snapshot
from linkup_emulator.generator.hashing import Draw, Node, frame

# Which Faker person locales a country's members are drawn from, with relative weights.
# Faker has no en_CA person provider; anglophone Canadian names match en_US, and about a fifth
# of Canadians are francophone, hence fr_CA at 1 in 4. "IL" is the curated romanised list.
_NAME_SOURCES: dict[str, tuple[tuple[str, int], ...]] = {
    "US": (("en_US", 1),),
    "GB": (("en_GB", 1),),
    "FR": (("fr_FR", 1),),
    "DE": (("de_DE", 1),),
    "ES": (("es_ES", 1),),
    "IT": (("it_IT", 1),),
    "NL": (("nl_NL", 1),),
    "BR": (("pt_BR", 1),),
    "IN": (("en_IN", 1),),
    "CA": (("en_US", 3), ("fr_CA", 1)),
    "IL": (("IL", 1),),
}

SUPPORTED_COUNTRIES: frozenset[str] = frozenset(_NAME_SOURCES)

# Faker locale whose company formats/suffixes name the country's employers (falls back to
# Faker's generic company provider where the locale has none).
_COMPANY_LOCALES: dict[str, str] = {
    "US": "en_US",
    "GB": "en_GB",
    "FR": "fr_FR",
    "DE": "de_DE",
    "ES": "es_ES",
    "IT": "it_IT",
    "NL": "nl_NL",
    "BR": "pt_BR",
    "IN": "en_IN",
    "CA": "en_US",
    "IL": "he_IL",
}

# Faker job lists in the member's language, used for some headlines beside the English roles.
_LOCAL_JOB_LOCALES: dict[str, str] = {"fr": "fr_FR", "de": "de_DE", "es": "es_ES", "pt": "pt_BR"}

_COMPANY_POOL = 400
# A name reads its picks from one digest's eight words: source, format, the tokens, and one
# for an optional credential.
MAX_NAME_TOKENS = 5
# Template token -> the Faker person provider attribute holding its words.
_NAME_LISTS = {
    "first_name_male": "first_names_male",
    "first_name_female": "first_names_female",
    "first_name": "first_names",
    "last_name": "last_names",
    "prefix": "prefixes",
}
_COMPANY_LISTS = {
    "company_suffix": "company_suffixes",
    "company_prefix": "company_prefixes",
    "company_type": "company_types",
    "random_company_adjective": "company_adjectives",
    "random_name_complements": "name_complements",
    "large_company": "large_companies",
}
# The Provider attributes read from each kind of Faker provider module: what the snapshot keeps
# (those of them that are lists or weighted mappings).
PROVIDER_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "person": ("formats", "formats_male", "formats_female", *_NAME_LISTS.values()),
    "company": ("formats", *_COMPANY_LISTS.values()),
    "job": ("jobs",),
}
_TEMPLATE_TOKEN = re.compile(r"\{\{(\w+)\}\}")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """ASCII transliteration reduced to [a-z0-9-], as LinkedIn builds vanity names."""
    return _NOT_SLUG.sub("-", unidecode(text).lower()).strip("-")


@dataclass(frozen=True, slots=True)
class Words:
    """Values picked by hash, uniformly or by Faker's frequency weights (as integers).

    slugs[i] is values[i] transliterated for vanity URLs, computed once here rather than per
    record (unidecode is the slowest step of building a name).
    """

    values: tuple[str, ...]
    cumulative: tuple[int, ...]
    slugs: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: Sequence[str] | Mapping[str, float], *, slugs: bool = False) -> Words:
        values = tuple(source)
        cumulative: list[int] = []
        if isinstance(source, Mapping):
            # Integer weights keep picks identical on every platform (no float rounding).
            running = 0
            for value in values:
                running += max(1, round(source[value] * 1_000_000))
                cumulative.append(running)
        return cls(values, tuple(cumulative), tuple(map(slugify, values)) if slugs else ())

    def index(self, word: int) -> int:
        """The index a 32-bit hash word selects (modulo bias below len / 2**32)."""
        if not self.cumulative:
            return word % len(self.values)
        return bisect_right(self.cumulative, word % self.cumulative[-1])

    def pick(self, word: int) -> str:
        return self.values[self.index(word)]


@dataclass(frozen=True, slots=True)
class NameFormat:
    """A parsed Faker name format: (words to pick, or None for the literal) segments.

    The first `given` segments are the given names ("Jean-Pierre"); female by the first token.
    At most MAX_NAME_TOKENS tokens, so a name's picks fit the words of one digest.
    """

    segments: tuple[tuple[Words | None, str], ...]
    given: int
    female: bool


@dataclass(frozen=True, slots=True)
class NameSource:
    """One Faker person locale (or the curated IL list): weighted name formats."""

    lang: str
    formats: tuple[NameFormat, ...]
    format_weights: Words
    tokens: Mapping[str, Words]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Everything records of one country are assembled from; immutable and shared."""

    country: str
    sources: tuple[NameSource, ...]
    source_weights: Words
    companies: tuple[str, ...]
    schools: tuple[str, ...]
    roles: tuple[str, ...]
    faker_jobs: tuple[str, ...]
    local_titles: Mapping[str, tuple[str, ...]]


_cache: dict[str, Vocabulary] = {}
_cache_lock = threading.Lock()


def vocabulary(country: str) -> Vocabulary:
    """The vocabulary of a supported country, built on first use from its snapshot file."""
    found = _cache.get(country)
    if found is not None:
        return found
    if country not in SUPPORTED_COUNTRIES:
        raise ValueError(f"unsupported country {country!r}")
    with _cache_lock:
        found = _cache.get(country)
        if found is None:
            found = _cache[country] = _build(country)
    return found


def _build(country: str) -> Vocabulary:
    providers = snapshot.load(country)
    sources = tuple(_name_source(locale, providers) for locale, _ in _NAME_SOURCES[country])
    weights = {locale: float(weight) for locale, weight in _NAME_SOURCES[country]}
    langs = {source.lang for source in sources}
    return Vocabulary(
        country=country,
        sources=sources,
        source_weights=Words.of(weights),
        companies=_companies(country, sources[0], providers),
        schools=lexicon.SCHOOLS[country] + lexicon.INTERNATIONAL_SCHOOLS,
        roles=lexicon.ROLES,
        faker_jobs=_english_jobs(providers["job"]["jobs"]),
        local_titles={
            lang: _local_jobs(providers[f"job.{_LOCAL_JOB_LOCALES[lang]}"]["jobs"])
            for lang in langs
            if lang in _LOCAL_JOB_LOCALES
        },
    )


def _lang(locale: str) -> str:
    return "en" if locale == "IL" else "pt" if locale == "pt_BR" else locale[:2]


def provider_modules(country: str) -> list[tuple[str, tuple[str, ...]]]:
    """The Faker provider modules _build reads for a country, as (kind, candidate modules
    relative to faker.providers: the first that exists is used).
    """
    locales = [locale for locale, _ in _NAME_SOURCES[country]]
    modules: list[tuple[str, tuple[str, ...]]] = [
        ("person", (f"person.{locale}",)) for locale in locales if locale != "IL"
    ]
    modules.append(("company", (f"company.{_COMPANY_LOCALES[country]}", "company")))
    modules.append(("job", ("job",)))
    langs = sorted({_lang(locale) for locale in locales} & _LOCAL_JOB_LOCALES.keys())
    modules.extend(("job", (f"job.{_LOCAL_JOB_LOCALES[lang]}",)) for lang in langs)
    return modules


def _name_source(locale: str, providers: Mapping[str, Mapping[str, Any]]) -> NameSource:
    if locale == "IL":
        formats: Sequence[str] | Mapping[str, float] = (
            "{{first_name_male}} {{last_name}}",
            "{{first_name_female}} {{last_name}}",
        )
        lists: dict[str, Sequence[str] | Mapping[str, float]] = {
            "first_name_male": lexicon.IL_FIRST_NAMES_MALE,
            "first_name_female": lexicon.IL_FIRST_NAMES_FEMALE,
            "last_name": lexicon.IL_LAST_NAMES,
        }
    else:
        person = providers[f"person.{locale}"]
        formats = _gendered_formats(person)
        lists = {token: person[attr] for token, attr in _NAME_LISTS.items() if attr in person}
        # Faker's nl_NL surnames include a few full historical names written "X, van".
        lists["last_name"] = _filtered(lists["last_name"], lambda name: "," not in name)
    lang = _lang(locale)
    tokens = {token: Words.of(values, slugs=True) for token, values in lists.items()}
    parsed: list[NameFormat] = []
    # Keyed by template: Faker repeats a template to weight it, so repeats add up.
    weights: dict[str, float] = {}
    for template in formats:
        name_format = _parse_name_format(template, tokens)
        if name_format is None:
            continue
        if template not in weights:
            parsed.append(name_format)
            weights[template] = 0.0
        weights[template] += formats[template] if isinstance(formats, Mapping) else 1.0
    return NameSource(lang, tuple(parsed), Words.of(weights), tokens)


def _gendered_formats(person: Mapping[str, Any]) -> Sequence[str] | Mapping[str, float]:
    male, female = person.get("formats_male"), person.get("formats_female")
    if male is None or female is None:
        formats: Sequence[str] | Mapping[str, float] = person["formats"]
        return formats
    if isinstance(male, Mapping) and isinstance(female, Mapping):
        return {**male, **female}
    return tuple(male) + tuple(female)


def _parse_name_format(template: str, tokens: Mapping[str, Words]) -> NameFormat | None:
    """Segments of a Faker name format, or None if it needs an honorific or a missing list.

    LinkedIn names do not carry "Mr."/"Dott." prefixes or "Jr."/"PhD" suffix tokens, so those
    formats are skipped; particles ("de", "de la", "del") are kept.
    """
    if len(_TEMPLATE_TOKEN.findall(template)) > MAX_NAME_TOKENS:
        return None
    segments: list[tuple[Words | None, str]] = []
    position = 0
    given = -1
    for match in _TEMPLATE_TOKEN.finditer(template):
        token = match.group(1)
        words = tokens.get(token)
        if words is None or (token == "prefix" and any(p.endswith(".") for p in words.values)):
            return None
        if match.start() > position:
            segments.append((None, template[position : match.start()]))
        if given < 0 and not token.startswith("first_name"):
            given = len(segments)
        segments.append((words, ""))
        position = match.end()
    if position < len(template):
        segments.append((None, template[position:]))
    first = _TEMPLATE_TOKEN.match(template)
    if first is None or not first.group(1).startswith("first_name") or given < 0:
        return None
    return NameFormat(tuple(segments), given, first.group(1) == "first_name_female")


def _filtered(
    values: Sequence[str] | Mapping[str, float], keep: Any
) -> Sequence[str] | Mapping[str, float]:
    if isinstance(values, Mapping):
        return {k: w for k, w in values.items() if keep(k)}
    return tuple(v for v in values if keep(v))


def _english_jobs(jobs: Sequence[str]) -> tuple[str, ...]:
    """Faker's English jobs as headline titles ("Engineer, civil" -> "Civil Engineer")."""
    titles: dict[str, None] = {}
    for job in jobs:
        if ", " in job:
            noun, qualifier = job.split(", ", 1)
            # "Engineer, civil" reads well reversed; "Social research officer, government"
            # does not, so only one-word nouns are turned round and the rest dropped.
            if " " in noun:
                continue
            job = f"{qualifier} {noun}"
        if len(job.split()) <= 4 and "/" not in job and "(" not in job:
            titles[job[0].upper() + job[1:]] = None
    return tuple(titles)


def _local_jobs(jobs: Sequence[str]) -> tuple[str, ...]:
    """Short entries of Faker's job list in the member's language, capitalised like a headline."""
    titles = {j[0].upper() + j[1:]: None for j in jobs if len(j) <= 40 and len(j.split()) <= 4}
    return tuple(titles)


def _companies(
    country: str, names: NameSource, providers: Mapping[str, Mapping[str, Any]]
) -> tuple[str, ...]:
    """A fixed pool of employers: Faker's local company formats filled from its own lists
    (family firms, "Dupont SARL") mixed with startup-style names ("Helix Health").
    """
    local = f"company.{_COMPANY_LOCALES[country]}"
    # Faker's generic company provider where the locale has none (see provider_modules).
    provider = providers[local] if local in providers else providers["company"]
    lists: dict[str, Words] = {
        token: names.tokens[token] for token in ("last_name", "first_name") if token in names.tokens
    }
    lists.update(
        (token, Words.of(provider[attr]))
        for token, attr in _COMPANY_LISTS.items()
        if provider.get(attr)
    )
    templates = [
        t
        for t in provider["formats"]
        if all(
            m.group(1) in lists or m.group(1) == "random_company_acronym"
            for m in _TEMPLATE_TOKEN.finditer(t)
        )
    ]
    node = Node.root("vocabulary", country, "companies")
    pool: dict[str, None] = {}
    for i in range(_COMPANY_POOL):
        draw = node.draw(frame(i))
        if draw.percent() < 55:
            template = templates[draw.below(len(templates))]
            name = _fill(template, lists, draw)
        else:
            name = _startup(draw)
        pool[name] = None
    return tuple(pool)


def _fill(template: str, lists: Mapping[str, Words], draw: Draw) -> str:
    """A Faker company format with each {{token}} replaced by a hash-picked word."""
    return _TEMPLATE_TOKEN.sub(lambda m: _company_token(m.group(1), lists, draw), template)


def _company_token(token: str, lists: Mapping[str, Words], draw: Draw) -> str:
    if token == "random_company_acronym":
        return "".join(chr(65 + draw.below(26)) for _ in range(2 + draw.below(3)))
    return lists[token].pick(draw.word())


def _startup(draw: Draw) -> str:
    prefix = lexicon.STARTUP_PREFIXES[draw.below(len(lexicon.STARTUP_PREFIXES))]
    sector = lexicon.STARTUP_SECTORS[draw.below(len(lexicon.STARTUP_SECTORS))]
    style = draw.percent()
    if style < 45:
        return f"{prefix} {sector}"
    if style < 85:
        return f"{prefix}{sector}"
    return f"{prefix}.{('ai', 'io')[draw.below(2)]}"
