"""Which file column feeds which SubscriberInput field, and a row as a SubscriberInput.

Headers are matched ignoring case, accents, spaces and punctuation, with the synonyms CRM
and spreadsheet exports use, in English and in the languages CRMs export in ("Mobile
Phone", "E-mail", "Given Name", "Country"; "Telefon", "Vorname", "Land"; "Téléphone",
"Prénom", "Pays"; "Teléfono", "Apellidos", "País"; "Celular", "Sobrenome"; "Cellulare",
"Cognome", "Paese"); `--map
FIELD=COLUMN` names the rest. Every name is checked before anything is sent.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from substore.importer.source import ImportFileError
from substore.text import MAX_JSON_DEPTH, nested_deeper

SYNONYMS = {
    "number": (
        "number", "phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cell",
        "cellphone", "cellnumber", "msisdn", "tel", "telephone", "phoneno",
        # German, French, Spanish, Portuguese, Italian exports
        "telefon", "telefonnummer", "handy", "handynummer", "mobil", "mobiltelefon",
        "mobilnummer", "portable", "telephoneportable", "numerodetelephone", "telefono",
        "celular", "movil", "telefonomovil", "numerodetelefono", "telefone", "telemovel",
        "numerodetelefone", "cellulare", "numeroditelefono",
    ),
    "e164Number": ("e164", "e164number", "e164phone"),
    "firstName": (
        "firstname", "givenname", "forename", "first",
        "vorname", "prenom", "nombre", "nome", "primeironome",
    ),
    "lastName": (
        "lastname", "surname", "familyname", "last",
        "nachname", "familienname", "nom", "nomdefamille", "apellido", "apellidos",
        "sobrenome", "cognome",
    ),
    "email": (
        "email", "emailaddress", "mail",
        "emailadresse", "courriel", "adressemail", "correo", "correoelectronico",
    ),
    "status": ("status", "subscriptionstatus", "smsstatus"),
    "consentedAt": ("consentedat", "consentdate", "consenttime", "optindate", "optedinat"),
    "consentSource": ("consentsource", "optinsource"),
    "unsubscribedAt": ("unsubscribedat", "optoutdate", "optedoutat", "unsubscribedate"),
    "unsubscribeSource": ("unsubscribesource", "optoutsource"),
    "defaultRegion": (
        "country", "countrycode", "countryname", "region", "defaultregion",
        "land", "pays", "pais", "paese",
    ),
    "attributes": ("attributes",),  # a JSON object, as `substore export` writes it
}  # fmt: skip
FIELDS = tuple(SYNONYMS)
STATUSES = ("SUBSCRIBED", "UNSUBSCRIBED")
_KEYPAD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "22233344455566677778889999")
# ASCII in one pass: letters (either case) to their keypad digit, digits kept, the rest
# dropped; a regular expression after upper() and translate() was ~4 us of a row's ~20.
_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_KEYPAD = bytes.maketrans(_LETTERS + _LETTERS.lower(), b"22233344455566677778889999" * 2)
_NOT_KEYS = bytes(c for c in range(256) if not (chr(c).isdigit() or chr(c).isalpha()) or c > 127)
# A text cell of these fields goes as it is (status and the times are then checked);
# attributes are parsed and nested, so a mapping with any takes the general path.
_AS_TEXT = frozenset(FIELDS) - {"attributes"}
_CHECKED = frozenset({"status", "consentedAt", "unsubscribedAt"})

Input = tuple[dict[str, Any] | None, dict[str, Any] | None]
# A row's lane key, then its SubscriberInput or the error that keeps it from going.
RowReader = Callable[[dict[str, Any]], tuple[str, dict[str, Any] | None, dict[str, Any] | None]]


def header_key(name: str) -> str:
    """ "Mobile Phone", "mobile_phone" and "MOBILE-PHONE" are one header; so are
    "Téléphone" and "telephone" (accents dropped: exports and people differ on them)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


@dataclass(frozen=True)
class Mapping:
    """`fields`: input field (or attributes.KEY) -> column; `number` is fields["number"]."""

    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls, columns: list[str], given: dict[str, str], *, strict_columns: bool = True
    ) -> Mapping:
        """The mapping for `columns`; `given` (--map, --number-column...) wins over names.

        With `strict_columns` (a CSV) every given column must exist, and a number or an
        E.164 column must be found; JSON lines name their keys row by row."""
        for name in given:
            if name not in FIELDS and not (name.startswith("attributes.") and name[11:]):
                raise ImportFileError(
                    f"--map {name}=...: {name!r} is not a field; the fields are "
                    f"{', '.join(FIELDS)} and attributes.KEY"
                )
        found = _by_header(columns)
        fields = {**found, **given}
        missing = [c for c in given.values() if c not in columns]
        if strict_columns and missing:
            raise ImportFileError(
                f"column {missing[0]!r} is not in the file; its columns are {columns}"
            )
        if strict_columns and not ({"number", "e164Number"} & fields.keys()):
            raise ImportFileError(
                f"no phone number column among {columns}: name it with --number-column "
                "or --e164-column"
            )
        return cls(fields)

    @property
    def number(self) -> str | None:
        return self.fields.get("number")

    def column_of(self, path: list[str] | None) -> str:
        """The file column an error's field path (["input", "3", "email"]) is about."""
        name = path[-1] if path else ""
        if name == "attributes":
            return ", ".join(c for f, c in self.fields.items() if f.startswith("attributes"))
        return self.fields.get(name, "")

    def to_input(self, row: dict[str, Any]) -> Input:
        """The row as a SubscriberInput, or None and the error that keeps it from going."""
        data: dict[str, Any] = {}
        for name, column in self.fields.items():
            value = row.get(column)
            if not _present(value):
                continue  # an empty cell leaves the stored value alone
            if name.startswith("attributes."):
                data.setdefault("attributes", {})[name.split(".", 1)[1]] = value
            elif name == "attributes":
                if isinstance(value, str) and nested_deeper(value, MAX_JSON_DEPTH):
                    message = (
                        f"attributes is nested more than {MAX_JSON_DEPTH} levels deep: flatten it"
                    )
                    return None, local_error("attributes", message)
                data["attributes"] = _object(value)
            elif name in ("number", "e164Number"):
                data[name] = _phone(value)
            else:
                data[name] = _text(value)
        return _checked(data)

    def lane_key(self, row: dict[str, Any]) -> str:
        """Digits that any two spellings of one number end with (for lane routing)."""
        e164 = row.get(self.fields["e164Number"]) if "e164Number" in self.fields else None
        number = e164 if _present(e164) else row.get(self.number) if self.number else None
        return _digits(str(number or ""))[-8:]

    def reader(self) -> RowReader:
        """lane_key and to_input of a row in one call, built once per mapping."""
        if not self.fields.keys() <= _AS_TEXT:
            return lambda row: (self.lane_key(row), *self.to_input(row))
        return _text_reader(self)


def _text_reader(mapping: Mapping) -> RowReader:
    """A reader for a mapping without attributes: a row of text cells (every CSV row)
    in one pass; a row with any other value goes the general way."""
    pairs = tuple(mapping.fields.items())
    checked = not _CHECKED.isdisjoint(mapping.fields)

    def read(row: dict[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
        data: dict[str, Any] = {}
        for name, column in pairs:
            value = row.get(column)
            if type(value) is not str:
                if value is None:
                    continue
                return (mapping.lane_key(row), *mapping.to_input(row))
            # isspace() and strip() agree on what whitespace is: this is _present.
            if value and not value.isspace():
                data[name] = value
        key = _digits(data.get("e164Number") or data.get("number") or "")[-8:]
        return (key, *_checked(data)) if checked else (key, data, None)

    return read


def _by_header(columns: list[str]) -> dict[str, str]:
    keys = {header_key(c): c for c in reversed(columns)}  # the first of equal headers wins
    # A header that is a field's own name wins over synonyms: an export's "countryCode"
    # (a number) must not be read as the region beside its "defaultRegion".
    found: dict[str, str] = {c: c for c in columns if c in SYNONYMS}
    for name, synonyms in SYNONYMS.items():
        column = next((keys[s] for s in synonyms if s in keys), None)
        if name not in found and column is not None and column not in found.values():
            found[name] = column
    return found


def _checked(data: dict[str, Any]) -> Input:
    """What the server would refuse for the whole batch, refused here for the row alone."""
    if "status" in data:
        data["status"] = data["status"].strip().upper()
        if data["status"] not in STATUSES:
            return None, local_error(
                "status", f"status {data['status']!r} is not SUBSCRIBED or UNSUBSCRIBED"
            )
    for name in ("consentedAt", "unsubscribedAt"):
        if name in data and not _is_time(data[name]):
            message = f"{name} {data[name]!r} is not a time like 2026-05-01T14:30:00Z"
            return None, local_error(name, message)
    return data, None


def local_error(field_name: str, message: str, code: str = "PARAMETER_INVALID") -> dict[str, Any]:
    return {"code": code, "message": message, "field": [field_name], "reason": None}


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _object(value: Any) -> Any:
    """A JSON object written in a cell becomes one; anything else goes for the server to
    refuse with a message. A JSON line's own object is copied: attributes.KEY columns add
    to it, and the row as read goes to the rejects file as it was (nor may it hold itself)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return dict(value) if isinstance(value, dict) else value


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _phone(value: Any) -> str | int:
    # Strings and integers go as they are; anything else as text, for the server to refuse.
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else _text(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _digits(text: str) -> str:
    if text.isascii():  # nearly every row; only ASCII's 0-9 are digits to unicodedata
        return text.encode("ascii").translate(_ASCII_KEYPAD, _NOT_KEYS).decode("ascii")
    out = []
    for char in text.upper().translate(_KEYPAD):
        digit = unicodedata.digit(char, None)
        if digit is not None:
            out.append(str(digit))
    return "".join(out)
