"""importer/mapping.py: headers as CRMs export them, in English and other languages."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from substore.importer.mapping import FIELDS, Mapping, header_key
from substore.importer.source import ImportFileError


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Telefon", "Vorname", "Nachname", "E-Mail", "Land"],
         {"number": "Telefon", "firstName": "Vorname", "lastName": "Nachname",
          "email": "E-Mail", "defaultRegion": "Land"}),
        (["Téléphone", "Prénom", "Nom", "Courriel", "Pays"],
         {"number": "Téléphone", "firstName": "Prénom", "lastName": "Nom",
          "email": "Courriel", "defaultRegion": "Pays"}),
        (["Teléfono", "Nombre", "Apellidos", "Correo", "País"],
         {"number": "Teléfono", "firstName": "Nombre", "lastName": "Apellidos",
          "email": "Correo", "defaultRegion": "País"}),
        (["Celular", "Nome", "Sobrenome"],
         {"number": "Celular", "firstName": "Nome", "lastName": "Sobrenome"}),
        (["Cellulare", "Nome", "Cognome", "Paese"],
         {"number": "Cellulare", "firstName": "Nome", "lastName": "Cognome",
          "defaultRegion": "Paese"}),
        (["Handy"], {"number": "Handy"}),
        (["MOBILTELEFON"], {"number": "MOBILTELEFON"}),
        (["Móvil", "Apellido"], {"number": "Móvil", "lastName": "Apellido"}),
        (["Portable"], {"number": "Portable"}),
        (["Telefone"], {"number": "Telefone"}),
        (["telefono"], {"number": "telefono"}),
        (["Mobil"], {"number": "Mobil"}),
    ],
)  # fmt: skip
def test_headers_in_the_languages_crms_export_in(headers, expected):
    assert Mapping.build(headers, {}).fields == expected


def test_accents_and_case_do_not_matter():
    assert header_key("TÉLÉPHONE") == header_key("telephone") == header_key("Téléphone")


def test_without_a_number_column_the_error_names_the_columns():
    with pytest.raises(ImportFileError, match="no phone number column"):
        Mapping.build(["Vorname", "Land"], {})


def test_every_spelling_of_a_number_goes_in_the_same_lane():
    mapping = Mapping.build(["Phone"], {})
    spellings = ["(201) 555-0123", "+1 201-555-0123", "1.201.555.0123", "2015550123"]
    keys = {mapping.lane_key({"Phone": text}) for text in spellings}
    assert keys == {"15550123"}
    # Letters are read as a keypad reads them, in either case; other scripts' digits count.
    assert mapping.lane_key({"Phone": "1-800-flowers"}) == mapping.lane_key(
        {"Phone": "18003569377"}
    )
    assert mapping.lane_key({"Phone": "١٢٠١٥٥٥٠١٢٣"}) == "15550123"  # Arabic-Indic digits


# A mapping's reader reads text cells in one pass; it must agree with lane_key and
# to_input (the general path) on every row, whatever its cells hold.
COLUMNS = ["a", "b", "c", "d"]
CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\t\n", "\u3000", "\xa0", "subscribed", " Unsubscribed "]),
    st.sampled_from(["2026-05-01T14:30:00Z", "2026-05-01", "yesterday", "+1 (201) 555-0123"]),
    st.sampled_from(["1-800-FLOWERS", "١٢٠١٥٥٥٠١٢٣", "+44 20 7946 0958", '{"a": 1}', "[1"]),
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def general(mapping: Mapping) -> Callable[[dict[str, Any]], Any]:
    return lambda row: (mapping.lane_key(row), *mapping.to_input(row))


def outcome(read: Callable[[dict[str, Any]], Any], row: dict[str, Any]) -> Any:
    """What `read` makes of `row` (its repr), or the exception it raises (a cell that is
    a string and an attributes.KEY in one mapping is one; the two paths must raise alike).
    On a copy, and a repr: attributes and attributes.KEY read from one object cell add
    the key to that very object, which then holds itself."""
    try:
        return repr(read(copy.deepcopy(row)))
    except Exception as error:
        return type(error), str(error)


NAMES = st.sampled_from([*FIELDS, "attributes.plan", "attributes.tier"])
TEXT_FIELDS = [name for name in FIELDS if name != "attributes"]


@settings(max_examples=2000, deadline=None)
@given(
    fields=st.dictionaries(NAMES, st.sampled_from(COLUMNS), min_size=1, max_size=5),
    row=st.dictionaries(st.sampled_from(COLUMNS), CELLS),
)
def test_a_mappings_reader_agrees_with_lane_key_and_to_input(fields, row):
    mapping = Mapping(fields)
    assert outcome(mapping.reader(), row) == outcome(general(mapping), row)


@settings(max_examples=500, deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(TEXT_FIELDS), st.sampled_from(COLUMNS), min_size=1),
    row=st.dictionaries(st.sampled_from(COLUMNS), st.text(max_size=12)),
)
def test_a_text_only_mapping_agrees_on_text_rows(fields, row):
    """The CSV case: every cell a string, no attributes (the one-pass reader)."""
    mapping = Mapping(fields)
    assert mapping.reader()(row) == (mapping.lane_key(row), *mapping.to_input(row))


def test_a_json_lines_object_mapped_whole_and_by_key_is_not_changed_or_self_holding():
    """attributes and attributes.plan from one JSON line's object: the row sent holds the
    object and the key, the row as read (for the rejects file) is what the line said."""
    mapping = Mapping({"number": "phone", "attributes": "attrs", "attributes.plan": "attrs"})
    row = {"phone": "+12015550123", "attrs": {"tier": "gold"}}
    data, error = mapping.to_input(row)
    assert error is None and data is not None
    assert data["attributes"] == {"tier": "gold", "plan": {"tier": "gold"}}
    assert row == {"phone": "+12015550123", "attrs": {"tier": "gold"}}
    json.dumps(data)  # was a circular reference: the object held itself
