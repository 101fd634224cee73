"""Country names as people write them, to ISO 3166-1 alpha-2 codes.

Three sources, in order of trust:
1. ISO's English names (name, official and common names) from pycountry's data.
2. ALIASES below: what CRMs hold that no ISO list has (the UK's nations, "Nippon").
3. Every translation pycountry ships of those names (159 languages from iso-codes):
   "Deutschland", "España", "日本", "Österreich", "Suisse". A translated name that means
   two countries in two languages is dropped: a guess there would be the wrong person.
Names match ignoring case, accents, spaces and punctuation ("cote d ivoire").
"""

from __future__ import annotations

import gettext
import os
import unicodedata
from functools import cache

import pycountry

# What people and CRMs write that ISO 3166 does not list as a country's name. Keep it small
# and obvious: each entry is a name a person would not think twice about.
ALIASES = {
    # The nations and common names of the United Kingdom (ISO: "United Kingdom", GB).
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Cymru": "GB",
    "Northern Ireland": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "U.K.": "GB",
    "Großbritannien": "GB",  # "Great Britain" in German, French, Spanish, Italian, Portuguese
    "Grande-Bretagne": "GB",
    "Gran Bretaña": "GB",
    "Gran Bretagna": "GB",
    "Grã-Bretanha": "GB",
    # Own names that iso-codes does not have ("Nihon" and "日本" it has).
    "Nippon": "JP",
    "Россия": "RU",  # Russian's own translation clashes with another language's
    # Short and former names English speakers still use ("USA", "Russia", "Vietnam",
    # "Ivory Coast" are ISO common names or translations already).
    "U.S.": "US",
    "America": "US",
    "EEUU": "US",
    "Korea": "KR",
    "Turkey": "TR",
    "Macedonia": "MK",
    "UAE": "AE",
}


def name_key(text: str) -> str:
    """ "Côte d'Ivoire", "cote d ivoire" and "COTE-D'IVOIRE" are one name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def english_code(text: str) -> str | None:
    """The code whose ISO English name `text` is, else None."""
    return _english().get(name_key(text))


def other_code(text: str) -> str | None:
    """The code `text` names through ALIASES or a translation, else None."""
    key = name_key(text)
    return _aliases().get(key) or _translated().get(key)


@cache
def _english() -> dict[str, str]:
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            if value := getattr(country, attribute, None):
                names.setdefault(name_key(value), country.alpha_2)
    return names


@cache
def _aliases() -> dict[str, str]:
    return {name_key(name): code for name, code in ALIASES.items()}


@cache
def _translated() -> dict[str, str]:
    """Every language's names; loaded on the first name that is no English one (0.4 s)."""
    english = {country.name: country.alpha_2 for country in pycountry.countries}
    found: dict[str, set[str]] = {}
    for language in _languages():
        catalog = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, [language])
        for name, code in english.items():
            translated = catalog.gettext(name)
            if translated != name:
                found.setdefault(name_key(translated), set()).add(code)
    taken = _english()
    return {
        key: codes.pop() for key, codes in found.items() if len(codes) == 1 and key not in taken
    }


def _languages() -> list[str]:
    root = pycountry.LOCALES_DIR
    return sorted(
        language
        for language in os.listdir(root)
        if os.path.exists(os.path.join(root, language, "LC_MESSAGES", "iso3166-1.mo"))
    )
