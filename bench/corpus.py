"""A reproducible corpus of CRM-style phone numbers, shared by the benchmarks."""

from __future__ import annotations

import random

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

REGIONS = ["US", "CA", "GB", "DE", "FR", "IT", "ES", "AU", "IN", "BR", "JP", "MX", "NL", "ZA"]
_FORMATS = [PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164]


def _seeds() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    seeds = []
    for region in REGIONS:
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                seeds.append((region, example))
    return seeds


def _spell(rng: random.Random, region: str, number: phonenumbers.PhoneNumber) -> str:
    style = rng.random()
    if style < 0.75:
        return phonenumbers.format_number(number, rng.choice(_FORMATS))
    if style < 0.85:  # digits only, as many CRMs store them
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        return phonenumbers.normalize_digits_only(national)
    if style < 0.95:  # dots and stray spaces
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        return " " + national.replace(" ", ".").replace("-", ".") + " "
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)[:-4]  # broken


def rows(count: int, seed: int = 164) -> list[tuple[str, str]]:
    """`count` (text, home region) pairs: mixed formats, ~5% broken."""
    rng = random.Random(seed)
    seeds = _seeds()
    out = []
    for _ in range(count):
        region, example = rng.choice(seeds)
        number = phonenumbers.PhoneNumber()
        number.merge_from(example)
        digits = str(number.national_number)
        tail = "".join(rng.choice("0123456789") for _ in range(5))
        number.national_number = int(digits[:-5] + tail)
        out.append((_spell(rng, region, number), region))
    return out
