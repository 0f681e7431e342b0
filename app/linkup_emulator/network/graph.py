"""An account's network: the generated base (connections, PYMK, pending invitations both ways)
with the stored changes on top, read at an emulated time (SPEC 1.7).

Only changes are stored, one record per member (store.GraphEntry). Everything else is a pure
function of (seed, account, member): who a vanity is, the invitations an account starts with,
ids, secrets and fates. Fates are never written: a sent invitation's state at time t is read
from its fate, so the graph is always current and moving the clock is all it takes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import orjson

from linkup_emulator.generator import people
from linkup_emulator.generator.hashing import frame
from linkup_emulator.generator.pool import PeopleGenerator, Pool
from linkup_emulator.network import invitations
from linkup_emulator.network.invitations import Fate
from linkup_emulator.store import Account, GraphEntry

# What check_invitation and the lists see of a member.
CONNECTED, SENT, RECEIVED, NONE = "CONNECTED", "SENT", "RECEIVED", "NONE"
WEEKLY = "@weekly"  # the invitations sent in the last 7 days: {"w": [times]}
ARRIVALS = "@arrivals"  # how many generated members' invitations arrived: {"n": k}
RECEIVED_AGE_MAX = 30 * invitations.DAY
SENT_AGE_MAX = 14 * invitations.DAY
KEPT_EVENTS = 4


@dataclass(frozen=True, slots=True)
class Record:
    """A member's stored state: `state` since `at`; `n` numbers the latest invitation between
    the two (0: one the account started with); `events` are the control plane's acts on it
    (kind, at, n) that webhooks report."""

    state: str  # sent | received | connected | withdrawn | declined
    at: float
    n: int
    sent_at: float | None = None
    note: str | None = None
    events: tuple[tuple[str, float, int], ...] = ()

    def dump(self) -> bytes:
        return orjson.dumps(
            {
                "s": self.state,
                "t": self.at,
                "n": self.n,
                "i": self.sent_at,
                "m": self.note,
                "e": [list(e) for e in self.events[-KEPT_EVENTS:]],
            }
        )

    @classmethod
    def load(cls, raw: bytes) -> Record:
        d = orjson.loads(raw)
        events = tuple((str(k), float(t), int(n)) for k, t, n in d.get("e", ()))
        return cls(d["s"], float(d["t"]), int(d["n"]), d.get("i"), d.get("m"), events)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a member comes from: `kind` pymk | connection | received | sent | arrival |
    stranger, with its index there; `slot` is the generator's (connection-like?, index)."""

    kind: str
    index: int
    slot: tuple[bool, int] | None

    @property
    def generated(self) -> bool:
        return self.kind != "stranger"


@dataclass(frozen=True, slots=True)
class Relation:
    """A member as the account sees them at one time."""

    vanity: str
    kind: str  # CONNECTED, SENT, RECEIVED or NONE
    n: int
    since: float  # connected since, or the pending invitation's sending
    seq: int  # the stored change's order (0: the generated base)
    origin: Origin
    version: int  # what a Change of this member expects
    blocked_until: float = -math.inf  # a withdrawn invitation's re-invite block
    fate: Fate | None = None  # a pending sent invitation's
    note: str | None = None
    events: tuple[tuple[str, float, int], ...] = ()


@dataclass(frozen=True, slots=True)
class GraphEvent:
    """Something the other side did, for webhooks: `key` is unique per event of an account."""

    kind: str  # accepted_invitation | invitation_received
    at: float
    key: str
    people: tuple[dict[str, object], ...]


@dataclass(slots=True)
class Lists:
    connections: list[Relation]  # the changed ones, newest first (the base follows them)
    sent: list[Relation]
    received: list[Relation]
    valid_until: float  # the next fate that changes them
    seq: int


def _age(seed: str, account_id: str, kind: str, k: int, span: float) -> float:
    digest = hashlib.sha256(frame("linkup-emulator/age/v1", seed, account_id, kind, k)).digest()
    return float(int.from_bytes(digest[:8], "big") % int(span))


@dataclass(slots=True)
class Graph:
    """One account's graph as this process last read it from the store."""

    seed: str
    account: Account
    generator: PeopleGenerator
    entries: dict[str, GraphEntry] = field(default_factory=dict)
    seq: int = 0
    _records: dict[str, Record] = field(default_factory=dict)
    _skip: frozenset[int] | None = None
    _ids: dict[str, str] | None = None
    _lists: Lists | None = None

    @classmethod
    def of(cls, seed: str, account: Account, generator: PeopleGenerator) -> Graph:
        return cls(seed, account, generator)

    @property
    def pool(self) -> Pool:
        """The account's people, from the generator's cache each time: a graph kept here
        must not keep its pool alive past the cache's bytes (issue 17)."""
        account = self.account
        return self.generator.pool(
            account.account_id, account.country, account.pool_size, account.network.connections
        )

    @property
    def epoch(self) -> str:
        return self.account.epoch

    def update(self, entries: list[GraphEntry]) -> None:
        """Take the store's newer entries (graph_since), oldest first."""
        if not entries:
            return
        for entry in entries:
            if entry.seq <= self.seq and entry.member in self.entries:
                continue
            self.entries[entry.member] = entry
            self._records.pop(entry.member, None)
            self.seq = max(self.seq, entry.seq)
        self._skip = None
        self._lists = None
        if self._ids is not None:
            for entry in entries:
                record = None if entry.member.startswith("@") else self.record(entry.member)
                if record is not None and record.n > 0:
                    self._ids[self.invitation_id(entry.member, record.n)] = entry.member

    # -- members ------------------------------------------------------------------------------

    def record(self, member: str) -> Record | None:
        found = self._records.get(member)
        if found is None:
            entry = self.entries.get(member)
            if entry is None:
                return None
            found = self._records[member] = Record.load(entry.record)
        return found

    def version(self, member: str) -> int:
        entry = self.entries.get(member)
        return entry.version if entry else 0

    def origin(self, vanity: str) -> Origin:
        net, slot = self.account.network, self.pool.locate(vanity)
        if slot is None:
            return Origin("stranger", -1, None)
        connection, index = slot
        if not connection:
            return Origin("pymk", index, slot)
        if index < self.pool.connection_count:
            return Origin("connection", index, slot)
        for kind, base, size in (
            ("received", people.RECEIVED_BASE, net.pending_received),
            ("sent", people.SENT_BASE, net.pending_sent),
        ):
            if base <= index < base + size:
                return Origin(kind, index - base, slot)
        if index >= people.ARRIVAL_BASE:
            return Origin("arrival", index - people.ARRIVAL_BASE, slot)
        return Origin("stranger", -1, None)  # a generated-looking vanity of nobody here

    def person(self, vanity: str, origin: Origin | None = None) -> people.Member:
        origin = origin or self.origin(vanity)
        if origin.slot is None:
            return self.generator.stranger(vanity)
        connection, index = origin.slot
        return self.pool.member(index, connection=connection)

    def base(self, origin: Origin) -> Record | None:
        """The member's state in the generated graph, before any change."""
        seed, account_id, born = self.seed, self.account.account_id, self.account.born
        if origin.kind == "connection":
            return Record("connected", -math.inf, 0)
        if origin.kind == "received":
            sent = born - _age(seed, account_id, "received", origin.index, RECEIVED_AGE_MAX)
            return Record("received", sent, 0, sent)
        if origin.kind == "sent":
            sent = born - _age(seed, account_id, "sent", origin.index, SENT_AGE_MAX)
            return Record("sent", sent, 0, sent)
        return None

    def fate(self, vanity: str, record: Record) -> Fate:
        assert record.sent_at is not None
        return invitations.fate(
            self.seed,
            self.account.account_id,
            vanity,
            record.n,
            record.sent_at,
            self.account.born,
            self.account.network.acceptance_rate,
        )

    def relation(self, vanity: str, now: float, origin: Origin | None = None) -> Relation:
        origin = origin or self.origin(vanity)
        record = self.record(vanity)
        entry = self.entries.get(vanity)
        seq, version = (entry.seq, entry.version) if entry else (0, 0)
        if record is None:
            record = self.base(origin)
        if record is None:
            return Relation(vanity, NONE, 0, -math.inf, seq, origin, version)
        state, n = record.state, record.n
        common = {"events": record.events, "note": record.note}
        if state == "connected":
            return Relation(vanity, CONNECTED, n, record.at, seq, origin, version, **common)  # type: ignore[arg-type]
        if state == "received":
            return Relation(vanity, RECEIVED, n, record.at, seq, origin, version, **common)  # type: ignore[arg-type]
        if state == "sent":
            fate = self.fate(vanity, record)
            if fate.accept_at is not None and now >= fate.accept_at:
                return Relation(
                    vanity, CONNECTED, n, fate.accept_at, seq, origin, version, fate=fate
                )
            if now >= fate.expire_at:
                return Relation(vanity, NONE, n, -math.inf, seq, origin, version, fate=fate)
            return Relation(vanity, SENT, n, record.at, seq, origin, version, fate=fate, **common)  # type: ignore[arg-type]
        blocked = record.at + invitations.REINVITE_BLOCK_S if state == "withdrawn" else -math.inf
        return Relation(vanity, NONE, n, -math.inf, seq, origin, version, blocked, **common)  # type: ignore[arg-type]

    # -- invitations ------------------------------------------------------------------------------

    def invitation_id(self, vanity: str, n: int) -> str:
        return invitations.invitation_id(self.seed, self.account.account_id, vanity, n)

    def shared_secret(self, vanity: str, n: int) -> str:
        return invitations.shared_secret(self.seed, self.account.account_id, vanity, n)

    def _base_pending(self) -> list[tuple[str, Origin]]:
        net, out = self.account.network, []
        for kind, base, size in (
            ("received", people.RECEIVED_BASE, net.pending_received),
            ("sent", people.SENT_BASE, net.pending_sent),
        ):
            for k in range(size):
                member = self.pool.member(base + k, connection=True)
                out.append((member.vanity, Origin(kind, k, (True, base + k))))
        return out

    def find(self, invitation_id: str) -> str | None:
        """The member of the latest invitation with this id, if any."""
        if self._ids is None:
            ids = {self.invitation_id(v, 0): v for v, _ in self._base_pending()}
            for member in self.entries:
                record = None if member.startswith("@") else self.record(member)
                if record is not None and record.n > 0:
                    ids[self.invitation_id(member, record.n)] = member
            self._ids = ids
        return self._ids.get(invitation_id)

    def weekly(self, now: float) -> list[float]:
        """When the invitations of the last 7 days were sent, oldest first."""
        entry = self.entries.get(WEEKLY)
        if entry is None:
            return []
        times: list[float] = orjson.loads(entry.record)["w"]
        return [t for t in times if t > now - invitations.WEEK_S]

    def arrivals(self) -> int:
        entry = self.entries.get(ARRIVALS)
        return int(orjson.loads(entry.record)["n"]) if entry else 0

    # -- PYMK and the lists --------------------------------------------------------------------

    def pymk_skip(self) -> frozenset[int]:
        """Pool positions of the members who left PYMK: any stored change of a PYMK member."""
        if self._skip is None:
            skip = set()
            for member in self.entries:
                if not member.startswith("@"):
                    origin = self.origin(member)
                    if origin.kind == "pymk":
                        skip.add(origin.index)
            self._skip = frozenset(skip)
        return self._skip

    def lists(self, now: float) -> Lists:
        found = self._lists
        if found is not None and found.seq == self.seq and now < found.valid_until:
            # valid_until is the earliest pending fate; a clock moved back is not possible
            return found
        connections, sent, received = [], [], []
        valid_until = math.inf
        seen = set()
        candidates: list[tuple[str, Origin | None]]
        candidates = [(m, None) for m in self.entries if not m.startswith("@")]
        candidates += [(v, o) for v, o in self._base_pending() if v not in self.entries]
        for member, origin in candidates:
            if member in seen:
                continue
            seen.add(member)
            relation = self.relation(member, now, origin)
            if relation.fate is not None and relation.kind == SENT:
                accept = relation.fate.accept_at
                valid_until = min(valid_until, relation.fate.expire_at, accept or math.inf)
            if relation.kind == CONNECTED and relation.origin.kind != "connection":
                connections.append(relation)
            elif relation.kind == SENT:
                sent.append(relation)
            elif relation.kind == RECEIVED:
                received.append(relation)
        newest = lambda r: (-r.since, -r.seq, r.origin.index)  # noqa: E731
        connections.sort(key=newest)
        sent.sort(key=newest)
        received.sort(key=newest)
        self._lists = Lists(connections, sent, received, valid_until, self.seq)
        return self._lists

    def connection_total(self, now: float) -> int:
        return len(self.lists(now).connections) + self.pool.connection_count

    # -- events ------------------------------------------------------------------------------------

    def events(self, start: float, end: float) -> list[GraphEvent]:
        """What the other side did in (start, end]: fates that accepted, and the control
        plane's acceptances and arrivals; oldest first."""
        out: list[GraphEvent] = []
        candidates: list[tuple[str, Origin | None]]
        candidates = [(m, None) for m in self.entries if not m.startswith("@")]
        candidates += [(v, o) for v, o in self._base_pending() if v not in self.entries]
        for member, origin in candidates:
            record = self.record(member)
            if record is None:
                record = self.base(origin or self.origin(member))
            if record is None:
                continue
            if record.state == "sent":
                accept = self.fate(member, record).accept_at
                if accept is not None and start < accept <= end:
                    out.append(self._event("accepted_invitation", accept, member, record.n))
            for kind, at, n in record.events:
                if start < at <= end:
                    out.append(self._event(kind, at, member, n))
        out.sort(key=lambda e: (e.at, e.key))
        return out

    def _event(self, kind: str, at: float, member: str, n: int) -> GraphEvent:
        person = self.person(member)
        item: dict[str, object] = {
            "name": person.name,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "headline": person.headline,
            "profile_url": f"{people.PROFILE_URL}{member}/",
            "profile_picture": person.picture,
        }
        if kind == "invitation_received":
            item["entity_urn"] = invitations.URN + self.invitation_id(member, n)
            item["shared_secret"] = self.shared_secret(member, n)
        return GraphEvent(kind, at, f"{kind}:{member}:{n}", (item,))
