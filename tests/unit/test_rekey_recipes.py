"""libphonenumber's migration recipes as the migrator applies them (rekey/recipes.py)."""

from __future__ import annotations

import pytest

from substore.rekey.recipes import RecipeError, packaged, parse

HEADER = (
    "Old Prefix ; Old Length ; Country Code ; Old Format ; New Format ; "
    "Is Final Migration ; Description"
)


def recipes(*rows: str):
    return parse([HEADER, *rows])


def test_the_packaged_recipes_know_mexicos_mobile_1_and_vietnams_renumbering():
    found = packaged()
    assert len(found) > 150
    mexico = found.migrate("+5215512345678", 52)
    assert mexico is not None and mexico.e164_number == "+525512345678"
    assert "5215[56]" in mexico.recipe_names
    vietnam = found.migrate("+841201234567", 84)
    assert vietnam is not None and vietnam.e164_number == "+84701234567"


def test_a_number_no_recipe_covers_is_left_alone():
    found = packaged()
    assert found.migrate("+12015550123", 1) is None
    assert found.migrate("+5215512345678", 44) is None  # recipes of its own country only
    assert found.migrate("+521551234567", 52) is None  # one digit short of Old Length


def test_literal_digits_of_the_new_format_go_in_at_their_places():
    made_up = recipes("225[0-9] ; 11 ; 225 ; xxxxxxxxxxx ; xxx07xxxxxxxx ; true ; add 07")
    assert made_up.migrate("+22501234567", 225).e164_number == "+2250701234567"


def test_a_recipe_that_is_not_final_is_followed_by_the_one_matching_its_result():
    chain = recipes(
        "4470 ; 12 ; 44 ; xx70xxxxxxxx ; xx71xxxxxxxx ; false ; first step",
        "4471 ; 12 ; 44 ; xx71xxxxxxxx ; xx7xxxxxxxxx ; true ; second step",
    )
    found = chain.migrate("+447012345678", 44)
    assert found is not None and [r.description for r in found.recipes] == [
        "first step",
        "second step",
    ]
    # A chain that ends on a stale number is no migration (the migrator refuses it).
    dangling = recipes("4470 ; 12 ; 44 ; xx70xxxxxxxx ; xx72xxxxxxxx ; false ; nowhere")
    assert dangling.migrate("+447012345678", 44) is None


def test_a_file_that_is_not_a_recipes_file_is_refused_with_its_line():
    with pytest.raises(RecipeError, match="no column"):
        parse(["Prefix;Length", "1;2"])
    with pytest.raises(RecipeError, match="line 2"):
        recipes("52(1 ; 13 ; 52 ; xx1xxxxxxxxxx ; xxxxxxxxxxxx ; true ; bad range")
    with pytest.raises(RecipeError, match="line 2"):
        recipes("521 ; thirteen ; 52 ; xx1xxxxxxxxxx ; xxxxxxxxxxxx ; true ; bad length")
