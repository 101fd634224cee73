"""Numbers/s of substore.phone.normalize next to bare phonenumbers, same corpus, same run.

Bare = parse + is_valid_number + format_number(E164): the least any normaliser must do.
Usage: python bench/normalize.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import phonenumbers

from corpus import rows
from substore.errors import PhoneNumberError
from substore.phone import normalize


def bare(corpus: list[tuple[str, str]]) -> int:
    ok = 0
    for text, region in corpus:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            ok += 1
    return ok


def substore(corpus: list[tuple[str, str]]) -> int:
    ok = 0
    for text, region in corpus:
        try:
            normalize(text, default_region=region)
        except PhoneNumberError:
            continue
        ok += 1
    return ok


Runner = Callable[[list[tuple[str, str]]], int]


def best_rates(runners: list[Runner], corpus, repeat: int) -> list[tuple[float, int]]:
    """Best rate of each runner; runs are interleaved so both see the same machine load."""
    best = [(0.0, 0)] * len(runners)
    for _ in range(repeat):
        for i, run in enumerate(runners):
            start = time.perf_counter()
            accepted = run(corpus)
            rate = len(corpus) / (time.perf_counter() - start)
            best[i] = max(best[i], (rate, accepted))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    corpus = rows(args.rows)
    (bare_rate, bare_ok), (ours_rate, ours_ok) = best_rates([bare, substore], corpus, args.repeat)
    print(f"rows: {len(corpus):,}  (best of {args.repeat})")
    print(f"bare phonenumbers : {bare_rate:>10,.0f} numbers/s  ({bare_ok:,} valid)")
    print(f"substore.phone    : {ours_rate:>10,.0f} numbers/s  ({ours_ok:,} accepted)")
    print(f"ratio substore/bare: {ours_rate / bare_rate:.2f}  (aim >= 0.90)")


if __name__ == "__main__":
    main()
