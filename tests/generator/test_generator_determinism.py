"""Determinism of generated people: same inputs, same bytes, in any order, thread or process."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest

from linkup_emulator.generator import PeopleGenerator, Pool, people
from linkup_emulator.generator.hashing import Node
from linkup_emulator.generator.vocabulary import vocabulary

REPO = Path(__file__).resolve().parents[2]
SEED, ACCOUNT, COUNTRY = "determinism-seed", "acc_determinism", "FR"


def reference(n: int = 200) -> bytes:
    return PeopleGenerator(SEED).pool(ACCOUNT, COUNTRY, 1000).json_array(n)


def one_record(position: int) -> bytes:
    """Record `position` built alone, from scratch: no pool, no cache, nothing generated before."""
    vocab = vocabulary(COUNTRY)
    hood = people.Neighbourhood(Node.root(SEED), ACCOUNT)
    record = people.recommendation(
        vocab, hood, position, lambda i: people.connection_first_name(vocab, hood, i)
    )
    return orjson.dumps(record)


def as_fragments(array: bytes) -> list[bytes]:
    return [orjson.dumps(record) for record in orjson.loads(array)]


def test_same_bytes_on_every_call() -> None:
    generator = PeopleGenerator(SEED)
    first = generator.pool(ACCOUNT, COUNTRY, 1000).json_array(200)
    assert generator.pool(ACCOUNT, COUNTRY, 1000).json_array(200) == first
    assert PeopleGenerator(SEED).pool(ACCOUNT, COUNTRY, 1000).json_array(200) == first


@pytest.mark.slow
def test_same_bytes_in_fresh_processes_with_different_hash_salts() -> None:
    """Two interpreters with different PYTHONHASHSEED: salted hash() must feed nothing."""
    script = (
        "import sys\n"
        "from linkup_emulator.generator import PeopleGenerator\n"
        f"pool = PeopleGenerator({SEED!r}).pool({ACCOUNT!r}, {COUNTRY!r}, 1000)\n"
        "sys.stdout.buffer.write(pool.json_array(200))\n"
    )
    outputs = []
    for salt in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": salt, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, check=True
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == reference()


def test_each_record_is_the_same_whatever_was_generated_before() -> None:
    expected = as_fragments(reference())
    backwards = [one_record(position) for position in reversed(range(200))]
    assert backwards[::-1] == expected
    shuffled = list(range(200))
    random.Random(7).shuffle(shuffled)
    assert {p: one_record(p) for p in shuffled} == dict(enumerate(expected))


def test_concurrent_threads_on_one_generator_see_prefixes_of_one_sequence() -> None:
    expected = reference(1000)
    generator = PeopleGenerator(SEED)
    counts = [1, 7, 50, 200, 999, 1000, 333, 10] * 2
    barrier = threading.Barrier(len(counts))
    results: dict[int, bytes] = {}

    def work(slot: int, n: int) -> None:
        barrier.wait()
        results[slot] = generator.pool(ACCOUNT, COUNTRY, 1000).json_array(n)

    threads = [threading.Thread(target=work, args=item) for item in enumerate(counts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    full = as_fragments(expected)
    for slot, n in enumerate(counts):
        assert as_fragments(results[slot]) == full[:n], n


def test_concurrent_threads_building_single_records_out_of_order() -> None:
    expected = as_fragments(reference())
    results: dict[int, bytes] = {}

    def work(positions: list[int]) -> None:
        for position in positions:
            results[position] = one_record(position)

    order = list(range(200))
    random.Random(11).shuffle(order)
    threads = [threading.Thread(target=work, args=(order[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[p] for p in range(200)] == expected


def test_a_small_count_is_the_prefix_of_a_larger_one() -> None:
    pool = PeopleGenerator(SEED).pool(ACCOUNT, COUNTRY, 1000)
    five = pool.records(5)
    fifty = PeopleGenerator(SEED).pool(ACCOUNT, COUNTRY, 1000).records(50)
    assert five == fifty[:5]
    assert pool.json_array(5) == b"[" + b",".join(as_fragments(reference(50))[:5]) + b"]"


@pytest.mark.parametrize("n", [0, 1, 2, 50])
def test_the_array_in_parts_joins_to_the_same_bytes(n: int) -> None:
    """The response path joins parts once; they must be exactly the array, commas included."""
    pool = PeopleGenerator(SEED).pool(ACCOUNT, COUNTRY, 1000)
    expected = b"[" + b",".join(as_fragments(reference(50))[:n]) + b"]"
    assert b"".join(pool.json_array_parts(n)) == expected


def test_pool_size_caps_the_list_but_does_not_change_the_people() -> None:
    generator = PeopleGenerator(SEED)
    assert generator.pool(ACCOUNT, COUNTRY, 30).records(1000) == generator.pool(
        ACCOUNT, COUNTRY, 1000
    ).records(30)


@pytest.mark.parametrize(
    ("seed", "account"), [("another-seed", ACCOUNT), (SEED, "acc_other")], ids=["seed", "account"]
)
def test_another_seed_or_account_gives_other_people(seed: str, account: str) -> None:
    ours = PeopleGenerator(SEED).pool(ACCOUNT, COUNTRY, 1000).records(100)
    theirs = PeopleGenerator(seed).pool(account, COUNTRY, 1000).records(100)
    for field in ("profile_url", "entity_urn"):
        assert not {r[field] for r in ours} & {r[field] for r in theirs}
    same_name_same_place = sum(a["name"] == b["name"] for a, b in zip(ours, theirs, strict=True))
    assert same_name_same_place <= 2


def test_counts_are_clamped_and_empty_is_an_empty_array() -> None:
    generator = PeopleGenerator(SEED)
    assert generator.pool(ACCOUNT, COUNTRY, 1000).json_array(0) == b"[]"
    assert generator.pool(ACCOUNT, COUNTRY, 1000).json_array(-3) == b"[]"
    assert generator.pool(ACCOUNT, COUNTRY, 0).json_array(10) == b"[]"
    small = generator.pool(ACCOUNT, COUNTRY, 3)
    assert small.size == 3
    assert len(small.records(10)) == 3


def test_pools_generate_only_what_is_asked() -> None:
    pool = PeopleGenerator(SEED).pool(ACCOUNT, COUNTRY, 1000)
    assert pool.generated == 0
    pool.json_array(10)
    assert pool.generated == 10
    pool.json_array(5)
    assert pool.generated == 10
    pool.records(40)
    assert pool.generated == 40


def test_the_pool_cache_is_a_bounded_lru() -> None:
    generator = PeopleGenerator(SEED, cache_size=2)
    first = generator.pool("a", COUNTRY, 1000)
    assert generator.pool("a", COUNTRY, 1000) is first
    generator.pool("b", COUNTRY, 1000)
    generator.pool("a", COUNTRY, 1000)  # a is now the most recent; b goes first
    generator.pool("c", COUNTRY, 1000)
    assert generator.pool("a", COUNTRY, 1000) is first
    evicted = generator.pool("b", COUNTRY, 1000)
    assert isinstance(evicted, Pool)
    assert evicted.json_array(20) == PeopleGenerator(SEED).pool("b", COUNTRY, 1000).json_array(20)


def test_the_cache_key_includes_country_and_pool_size() -> None:
    generator = PeopleGenerator(SEED)
    assert generator.pool("a", "FR", 1000) is not generator.pool("a", "DE", 1000)
    assert generator.pool("a", "FR", 1000) is not generator.pool("a", "FR", 10)
    assert generator.pool("a", "FR", 10).size == 10
