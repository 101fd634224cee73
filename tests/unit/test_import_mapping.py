"""importer/mapping.py: headers as CRMs export them, in English and other languages."""

from __future__ import annotations

import pytest

from substore.importer.mapping import Mapping, header_key
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
