"""libphonenumber's migration recipes: a stale E.164 number to the number it became.

The recipes file (recipes.csv beside this module, see SOURCE.md) is the one libphonenumber's
`migrator/` tool reads; the matching is its `MigrationUtils.findMatchingRecipe` and
`MigrationJob.migrate`: the first recipe, in the file's order, of the number's country
whose range (`Old Prefix` over the E.164 digits, exactly `Old Length` digits long) holds
the number; its `Old Format` must match the whole number; the digits in the `x` places
are kept and `New Format`'s literal digits are put in at their places. A recipe that is
not final yields a number that is stale too: the recipe matching that one goes next.
Pure: no I/O beyond reading the packaged file once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

# A recipe chain longer than this is a loop in the file, not a renumbering history.
MAX_CHAIN = 10
_COLUMNS = (
    "Old Prefix",
    "Old Length",
    "Country Code",
    "Old Format",
    "New Format",
    "Is Final Migration",
    "Description",
)


class RecipeError(ValueError):
    """A recipes file that cannot be read as libphonenumber's migrator reads it."""


@dataclass(frozen=True, slots=True)
class Recipe:
    """One row of the recipes file, its range compiled."""

    old_prefix: str  # a range specification: digits, [0-9] sets, x for any digit
    old_length: int
    country_code: str
    old_format: str  # digits and x, one character a digit of the stale number
    new_format: str
    final: bool
    description: str
    pattern: re.Pattern[str]  # the range: the prefix, then any digits up to old_length

    @property
    def name(self) -> str:
        """How a report names it: the range it applies to."""
        return f"+{self.old_prefix}/{self.old_length}: {self.description}"

    def matches(self, digits: str) -> bool:
        return len(digits) == self.old_length and self.pattern.match(digits) is not None

    def apply(self, digits: str) -> str:
        """The migrator's getMigratedValue: the digits in Old Format's x places, with New
        Format's literal digits put in at their places."""
        if not _format_pattern(self.old_format).fullmatch(digits):
            raise RecipeError(f"recipe {self.name!r}: Old Format does not match {digits}")
        kept = [digit for digit, place in zip(digits, self.old_format, strict=True) if place == "x"]
        out: list[str] = []
        for place in self.new_format:
            if place != "x":
                out.append(place)
            elif kept:
                out.append(kept.pop(0))
        return "".join(out) + "".join(kept)


@dataclass(frozen=True, slots=True)
class Migration:
    """A stale number's new E.164 and the recipes that made it, in order."""

    e164_number: str
    recipes: tuple[Recipe, ...]

    @property
    def recipe_names(self) -> str:
        return " then ".join(recipe.name for recipe in self.recipes)


class Recipes:
    """Recipes by country code, in the file's order (the first that matches is used)."""

    def __init__(self, recipes: Iterable[Recipe]) -> None:
        self._by_country: dict[str, list[Recipe]] = {}
        for recipe in recipes:
            self._by_country.setdefault(recipe.country_code, []).append(recipe)

    def __len__(self) -> int:
        return sum(map(len, self._by_country.values()))

    def find(self, country_code: int | str, digits: str) -> Recipe | None:
        """findMatchingRecipe: the first recipe of the country whose range holds `digits`
        (the E.164 number without its +)."""
        for recipe in self._by_country.get(str(country_code), ()):
            if recipe.matches(digits):
                return recipe
        return None

    def migrate(self, e164_number: str, country_code: int | str) -> Migration | None:
        """The number a stale `e164_number` became, or None when no recipe applies."""
        digits, used = e164_number.removeprefix("+"), []
        while (recipe := self.find(country_code, digits)) is not None:
            digits = recipe.apply(digits)
            used.append(recipe)
            if recipe.final or len(used) >= MAX_CHAIN:
                break
        if not used or not used[-1].final:
            return None  # the migrator refuses a chain that ends on a stale number
        return Migration("+" + digits, tuple(used))


def parse(lines: Iterable[str]) -> Recipes:
    """Recipes from the text of a recipes file (';'-separated, cells padded with spaces)."""
    rows = csv.reader(lines, delimiter=";")
    header = [cell.strip() for cell in next(rows, [])]
    missing = [name for name in _COLUMNS if name not in header]
    if missing:
        raise RecipeError(f"the recipes file has no column {', '.join(missing)}")
    index = {name: header.index(name) for name in _COLUMNS}
    return Recipes(_recipe(row, index, n) for n, row in enumerate(rows, 2) if any(row))


def _recipe(row: Sequence[str], index: dict[str, int], line: int) -> Recipe:
    cells = {name: row[i].strip() if i < len(row) else "" for name, i in index.items()}
    try:
        length = int(cells["Old Length"])
    except ValueError:
        raise RecipeError(f"line {line}: Old Length {cells['Old Length']!r} is no number") from None
    return Recipe(
        old_prefix=cells["Old Prefix"],
        old_length=length,
        country_code=cells["Country Code"],
        old_format=cells["Old Format"],
        new_format=cells["New Format"],
        final=cells["Is Final Migration"].lower() != "false",
        description=cells["Description"],
        pattern=re.compile(_range_regex(cells["Old Prefix"], line)),
    )


def _range_regex(spec: str, line: int) -> str:
    """A range specification (libphonenumber's RangeSpecification: digits, sets such as
    [13-5], x for any digit) as a regular expression for the start of the digits."""
    if not re.fullmatch(r"(?:[0-9x]|\[[0-9-]+\])*", spec):
        raise RecipeError(f"line {line}: Old Prefix {spec!r} is not a range specification")
    return spec.replace("x", "[0-9]")


@cache
def _format_pattern(form: str) -> re.Pattern[str]:
    return re.compile(form.replace("x", "[0-9]"))


@cache
def packaged() -> Recipes:
    """The recipes shipped in the package (recipes.csv)."""
    text = resources.files("substore.rekey").joinpath("recipes.csv").read_text("utf-8")
    return parse(text.splitlines())
