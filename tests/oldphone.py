"""A real older phonenumbers, in a throwaway virtualenv, that keys numbers as a write
made with it did (tests of `substore rekey`).

phonenumbers 8.10.16 (August 1, 2019) is the last release before libphonenumber 8.10.17
(August 15, 2019: "MX ... mobile tokens (1) are abolished"): with it a Mexican mobile
written "044 55 1234 5678" or "+52 1 55 1234 5678" is the key +5215512345678, which the
pinned phonenumbers no longer accepts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

OLD_VERSION = "8.10.16"

# Run by the old library: each (raw number, region) as its write read it (substore's
# rules 4 and 7: parse in the region, the key is + country code + national number).
_KEYS = """
import json, sys
import phonenumbers as p
types = {v: k for k, v in vars(p.PhoneNumberType).items() if k.isupper()}
sources = {
    p.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN: "PLUS_SIGN",
    p.CountryCodeSource.FROM_NUMBER_WITH_IDD: "IDD",
    p.CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN: "NUMBER_WITHOUT_PLUS",
    p.CountryCodeSource.FROM_DEFAULT_COUNTRY: "DEFAULT_REGION",
}
out = []
for raw, region in json.load(sys.stdin):
    n = p.parse(raw, region, keep_raw_input=True)
    nsn = p.national_significant_number(n)
    out.append({
        "valid": p.is_valid_number(n),
        "e164_number": "+%d%s" % (n.country_code, nsn),
        "number": nsn,
        "raw_number": raw,
        "country_code": n.country_code,
        "region_code": p.region_code_for_number(n),
        "number_type": types[p.number_type(n)],
        "country_code_source": sources[n.country_code_source],
        "default_region": region,
        "normalizer_version": p.__version__,
    })
print(json.dumps(out))
"""


def make_venv(where: Path) -> Path | str:
    """The venv's python, or why it could not be made (no registry, say)."""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
        python = where / "bin" / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"phonenumbers=={OLD_VERSION}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.CalledProcessError as error:
        return f"could not install phonenumbers {OLD_VERSION}: {(error.stderr or '')[-300:]}"
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"could not make a virtualenv with phonenumbers {OLD_VERSION}: {error}"
    return python


def old_keys(python: Path, numbers: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """The key columns the old phonenumbers gives each (raw number, region)."""
    done = subprocess.run(
        [str(python), "-c", _KEYS],
        input=json.dumps(numbers),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    keys: list[dict[str, Any]] = json.loads(done.stdout)
    return keys
