"""Per-account PYMK pools, generated lazily and kept as JSON fragments in a bounded LRU cache."""

from __future__ import annotations

import threading
from collections import OrderedDict

import orjson

from linkup_emulator.generator import people
from linkup_emulator.generator.hashing import Node
from linkup_emulator.generator.vocabulary import SUPPORTED_COUNTRIES, vocabulary

# What a pool holds besides its records' bytes (its objects, its neighbourhood), and what each
# record costs besides its bytes (its object header, list slot, first names): measured with
# tracemalloc over 200 pools of 100 records (within 1%).
POOL_OVERHEAD = 1024
FRAGMENT_OVERHEAD = 60


class Pool:
    """One account's PYMK people in a country's locale; the first n are built on demand.

    Every record is a pure function of (seed, account_id, position), so generating more later
    (or in another process) never changes the ones already served.
    """

    __slots__ = (
        "_connections",
        "_first_names",
        "_fragments",
        "_hood",
        "_items",
        "_lock",
        "_members",
        "_owner",
        "_vocab",
        "nbytes",
        "size",
    )

    def __init__(
        self,
        seed: Node,
        account_id: str,
        country: str,
        size: int,
        connections: int | None = None,
        owner: PeopleGenerator | None = None,
    ) -> None:
        if country not in SUPPORTED_COUNTRIES:
            raise ValueError(f"unsupported country {country!r}")
        if not 0 <= size <= people.MAX_POOL_SIZE:
            raise ValueError(f"pool_size must be between 0 and {people.MAX_POOL_SIZE}")
        self.size = size
        self._vocab = vocabulary(country)
        self._hood = people.Neighbourhood(seed, account_id, connections)
        self._members: dict[tuple[bool, int], people.Member] = {}
        self._items: dict[int, bytes] = {}
        self._fragments: list[bytes] = []
        self._first_names: dict[int, str] = {}
        self._connections: tuple[dict[str, str | None], ...] | None = None
        self._lock = threading.Lock()
        self._owner = owner  # told of every growth, to keep its cache within its bytes
        self.nbytes = POOL_OVERHEAD  # what the cache counts this pool as holding

    def _ensure(self, n: int) -> int:
        """Clamp n to the pool and make sure that many records exist; returns the clamped n."""
        n = max(0, min(n, self.size))
        # Lists only grow, and only under the lock, so a long-enough list is safe to slice.
        if len(self._fragments) < n:
            with self._lock:
                fragments, vocab, hood = self._fragments, self._vocab, self._hood
                first_name = self._first_name
                grown = 0
                for position in range(len(fragments), n):
                    record = people.recommendation(vocab, hood, position, first_name)
                    # orjson's output keeps its over-sized write buffer (~4 KiB each); a tight
                    # copy is cheaper to keep (measured ~2 us per record) and 6x smaller.
                    fragment = bytes(memoryview(orjson.dumps(record)))
                    fragments.append(fragment)
                    grown += len(fragment) + FRAGMENT_OVERHEAD
                self.nbytes += grown
            if self._owner is not None and grown:
                self._owner.grew(grown)
        return n

    def _first_name(self, index: int) -> str:
        """First name of the account's connection at index (called under the lock)."""
        name = self._first_names.get(index)
        if name is None:
            name = people.connection_first_name(self._vocab, self._hood, index)
            self._first_names[index] = name
        return name

    def json_array(self, n: int) -> bytes:
        """Compact JSON array of the first min(n, size) records."""
        return b"".join(self.json_array_parts(n))

    def json_array_skipping(self, n: int, skip: frozenset[int]) -> list[bytes]:
        """json_array_parts of the first n records whose positions are not in `skip` (the
        people who left PYMK); fewer when the pool runs out."""
        if not skip:
            return self.json_array_parts(n)
        wanted = self._ensure(min(self.size, n + len(skip)))
        kept = [self._fragments[p] for p in range(wanted) if p not in skip][:n]
        if not kept:
            return [b"[]"]
        parts = [b","] * (2 * len(kept) + 1)
        parts[0], parts[-1] = b"[", b"]"
        parts[1::2] = kept
        return parts

    def member(self, index: int, *, connection: bool) -> people.Member:
        """The member at a slot (see people.member), cached."""
        key = (connection, index)
        found = self._members.get(key)
        if found is None:
            found = people.member(self._vocab, self._hood, index, connection=connection)
            with self._lock:
                if len(self._members) > 4096:
                    self._members.clear()
                self._members[key] = found
        return found

    def connection_json(self, index: int) -> bytes:
        """A connection-like member as list_connections shows it, as compact JSON (cached: a
        page of 100 is then a join, not 100 dicts to build and encode)."""
        found = self._items.get(index)
        if found is None:
            person = self.member(index, connection=True)
            item = {
                "name": person.name,
                "job_title": person.headline,
                "profile_url": f"{people.PROFILE_URL}{person.vanity}/",  # the vendor's slash
                "profile_picture": person.picture,
            }
            found = bytes(memoryview(orjson.dumps(item)))
            with self._lock:
                if len(self._items) > 4096:
                    self._items.clear()
                self._items[index] = found
        return found

    def locate(self, vanity: str) -> tuple[bool, int] | None:
        """(connection slot?, index) of the account's generated member with this vanity."""
        found = self._hood.locate(vanity)
        if found is None:
            return None
        connection, index = found
        if not connection and index >= self.size:
            return None
        if connection and index >= people.ARRIVAL_BASE + people.MAX_ARRIVALS:
            return None
        if self.member(index, connection=connection).vanity != vanity:
            return None
        return found

    def json_array_parts(self, n: int) -> list[bytes]:
        """The same array as a list of parts (brackets, records, commas) that one join turns
        into a response body: at count=1000 every intermediate copy is ~0.5 MB more to allocate
        and fault in, and three of them took most of the request's time."""
        n = self._ensure(n)
        if n == 0:
            return [b"[]"]
        parts = [b","] * (2 * n + 1)
        parts[0], parts[-1] = b"[", b"]"
        parts[1::2] = self._fragments[:n]
        return parts

    def records(self, n: int) -> list[dict[str, str | None]]:
        """The same records as fresh dicts, decoded from the cached JSON.

        Only the JSON is kept: half the objects for the garbage collector to walk, and the
        bytes are what the server sends.
        """
        records: list[dict[str, str | None]] = orjson.loads(self.json_array(n))
        return records

    @property
    def generated(self) -> int:
        """How many records have been built so far (pools grow only as far as asked)."""
        return len(self._fragments)

    @property
    def connection_count(self) -> int:
        return self._hood.connection_count

    @property
    def connections(self) -> list[dict[str, str | None]]:
        """The account's own connections, built in full on first access (copies)."""
        if self._connections is None:
            with self._lock:
                if self._connections is None:
                    self._connections = tuple(
                        people.connection(self._vocab, self._hood, index)
                        for index in range(self._hood.connection_count)
                    )
        return [dict(person) for person in self._connections]


class PeopleGenerator:
    """Pools for one emulator seed, cached per (account_id, country, pool_size), LRU-bounded
    by count and by the bytes their records hold (records, connections' names and the
    pool's own objects; measured against RSS in tests/test_hardening.py)."""

    def __init__(self, seed: str, cache_size: int = 1024, cache_bytes: int = 64 * 2**20) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        if cache_bytes < 1:
            raise ValueError("cache_bytes must be at least 1")
        self.seed = seed
        self.cache_size = cache_size
        self.cache_bytes = cache_bytes
        self.nbytes = 0  # of the cached pools
        self._root = Node.root(seed)
        self._pools: OrderedDict[tuple[str, str, int, int | None], Pool] = OrderedDict()
        self._lock = threading.Lock()

    def grew(self, nbytes: int) -> None:
        """A pool built more records: evict the least recently used pools past the bound
        (the growing one stays: it is in use, and the newest)."""
        with self._lock:
            self.nbytes += nbytes
            self._evict()

    def _evict(self) -> None:
        while len(self._pools) > 1 and (
            len(self._pools) > self.cache_size or self.nbytes > self.cache_bytes
        ):
            _, evicted = self._pools.popitem(last=False)
            self.nbytes -= evicted.nbytes
            evicted._owner = None  # its later growth is no longer the cache's

    def stranger(self, vanity: str) -> people.Member:
        """A member outside every account's generated graph (people.stranger), in the US
        locale: a function of (seed, vanity) alone, whichever account names them."""
        return people.stranger(vocabulary("US"), self._root, vanity)

    def pool(
        self, account_id: str, country: str, pool_size: int, connections: int | None = None
    ) -> Pool:
        key = (account_id, country, pool_size, connections)
        with self._lock:
            found = self._pools.get(key)
            if found is not None:
                self._pools.move_to_end(key)
                return found
        # Built outside the lock: the first pool of a country builds its vocabulary (from the
        # snapshot). Two threads racing on one key build equal pools; the first stored wins.
        built = Pool(self._root, account_id, country, pool_size, connections, self)
        with self._lock:
            found = self._pools.setdefault(key, built)
            if found is built:
                self.nbytes += built.nbytes
            self._pools.move_to_end(key)
            self._evict()
        return found
