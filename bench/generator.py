"""Benchmark of the people generator against a seeded-Faker-per-request baseline (issue 3).

Usage, from the repository root:

    python bench/generator.py             # default repetitions
    python bench/generator.py --quick     # fewer repetitions, for a smoke run

Prints µs per record for count = 10, 100, 1000:

- cold: a new account (fresh pool: neighbourhood keys, records, JSON fragments), vocabulary
  already built, as on the first request for an account;
- warm: the pool already holds the records; `json_array(n)` only, as on every later request;
- faker/instance: baseline, a `Faker(locale)` created and seeded per request, then
  name()/job()/company() per record;
- faker/seeded: baseline, one shared `Faker(locale)` re-seeded per request (`seed_instance`),
  then name()/job()/company() per record.

Each figure is the median over repetitions, timed with time.perf_counter. Targets (cold
<= 15 µs, warm <= 1 µs per record) are printed beside the figures, never asserted. Also printed:
the one-off cost of building a country's vocabulary (read from the committed Faker snapshot).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from linkup_emulator.generator import PeopleGenerator

COUNTS = (10, 100, 1000)
COUNTRY, LOCALE = "FR", "fr_FR"
COLD_TARGET_US, WARM_TARGET_US = 15.0, 1.0


def median_us_per_record(run: Callable[[int], None], n: int, repetitions: int) -> float:
    """Median over repetitions of run(rep)'s wall time, divided by n records, in µs."""
    samples = []
    for rep in range(repetitions):
        start = time.perf_counter()
        run(rep)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) / n * 1e6


def vocabulary_costs() -> list[tuple[str, float]]:
    costs = []
    for country in ("US", COUNTRY):
        start = time.perf_counter()
        PeopleGenerator("bench").pool("vocabulary", country, 1)
        costs.append((country, (time.perf_counter() - start) * 1e3))
    return costs


def cold(n: int, repetitions: int) -> float:
    generator = PeopleGenerator("bench", cache_size=8)

    def run(rep: int) -> None:
        generator.pool(f"cold-{n}-{rep}", COUNTRY, 1000).json_array(n)

    return median_us_per_record(run, n, repetitions)


def warm(n: int, repetitions: int) -> float:
    pool = PeopleGenerator("bench").pool("warm", COUNTRY, 1000)
    pool.json_array(n)
    calls = max(1, 2000 // n)  # enough calls per sample to be well above timer resolution

    def run(rep: int) -> None:
        for _ in range(calls):
            pool.json_array(n)

    return median_us_per_record(run, n * calls, repetitions)


def request_seed(rep: int) -> int:
    # Deterministic per request, as a Faker-based emulator would have to seed it.
    digest = hashlib.sha256(f"bench|acc|{rep}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _people(fake: Any, rep: int, n: int) -> None:
    """What a Faker-based emulator does per request: seed it, then three calls per record."""
    fake.seed_instance(request_seed(rep))
    for _ in range(n):
        fake.name()
        fake.job()
        fake.company()


def faker_new_instance(n: int, repetitions: int) -> float:
    from faker import Faker

    return median_us_per_record(lambda rep: _people(Faker(LOCALE), rep, n), n, repetitions)


def faker_seeded(n: int, repetitions: int) -> float:
    from faker import Faker

    fake = Faker(LOCALE)
    return median_us_per_record(lambda rep: _people(fake, rep, n), n, repetitions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    quick = parser.parse_args().quick

    costs = vocabulary_costs()
    rows = []
    for n in COUNTS:
        # About 30k records per cold figure (20k quick), never fewer than 15 repetitions.
        reps = max(15, (20_000 if quick else 30_000) // n)
        rows.append(
            (
                n,
                cold(n, reps),
                warm(n, 25 if quick else 51),
                faker_new_instance(n, max(5, reps // 10)),
                faker_seeded(n, max(5, reps // 5)),
            )
        )

    print(f"people generator, country {COUNTRY}, Python {sys.version.split()[0]}")
    print("µs per record, median (targets: cold <= 15, warm <= 1)\n")
    print("| count | cold | warm | faker/instance | faker/seeded | cold vs faker/seeded |")
    print("|------:|-----:|-----:|---------------:|-------------:|---------------------:|")
    for n, c, w, fi, fs in rows:
        print(f"| {n} | {c:.2f} | {w:.3f} | {fi:.1f} | {fs:.1f} | {fs / c:.1f}x faster |")
    print()
    for country, ms in costs:
        print(f"vocabulary build, first use of {country}: {ms:.1f} ms")
    cold_ok = all(row[1] <= COLD_TARGET_US for row in rows)
    warm_ok = all(row[2] <= WARM_TARGET_US for row in rows)
    verdict = {True: "met", False: "MISSED"}
    print(f"cold target {verdict[cold_ok]}; warm target {verdict[warm_ok]}")


if __name__ == "__main__":
    main()
