"""`substore normalize`, run as the installed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SUBSTORE = [sys.executable, "-m", "substore.cli"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUBSTORE_DEFAULT_REGION": "US"}
    return subprocess.run(
        [*SUBSTORE, "normalize", *args], input=stdin, capture_output=True, text=True, env=env
    )


def test_prints_e164_for_a_us_national_number():
    done = run("(201) 555-0123", "--region", "US")
    assert done.returncode == 0
    assert json.loads(done.stdout)["e164Number"] == "+12015550123"


def test_e164_option_takes_precedence_and_warns():
    done = run("(201) 555-0123", "--e164", "+447400123456")
    body = json.loads(done.stdout)
    assert body["e164Number"] == "+447400123456"
    assert body["warnings"][0]["reason"] == "NUMBER_MISMATCH"


def test_bad_input_exits_1_with_the_reason():
    done = run("555-0123", "--region", "US")
    assert done.returncode == 1
    assert "LOCAL_ONLY" in done.stderr
    assert json.loads(done.stdout)["error"]["reason"] == "LOCAL_ONLY"


def test_strict_country_code_refuses_inferred_numbers():
    assert run("447400123456").returncode == 0
    assert run("447400123456", "--strict-country-code").returncode == 1


def test_stdin_mode_writes_one_json_line_per_input_line():
    done = run("-", "--region", "GB", stdin="020 7946 0018\nnope\n+1 201 555 0123\n")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["valid"] for row in rows] == [True, False, True]
    assert rows[0]["input"] == "020 7946 0018"
    assert rows[2]["e164Number"] == "+12015550123"
    assert done.returncode == 1


def test_stdin_mode_all_good_exits_0():
    done = run("-", stdin="(201) 555-0123\n")
    assert done.returncode == 0


def test_spreadsheet_and_inferred_numbers_say_so():
    float_like = json.loads(run("4155552671.0", "--region", "US").stdout)
    assert float_like["e164Number"] == "+14155552671"
    assert [w["reason"] for w in float_like["warnings"]] == ["SPREADSHEET_NUMBER"]
    inferred = json.loads(run("00447400123456", "--region", "US").stdout)
    assert [w["reason"] for w in inferred["warnings"]] == ["COUNTRY_CODE_INFERRED"]


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path):
    """`substore normalize - | head -1`: no BrokenPipeError traceback."""
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("2015550123\n" * 20000)
    stderr = tmp_path / "stderr.txt"
    command = f"{' '.join(SUBSTORE)} normalize - --region US < {numbers} 2> {stderr} | head -1"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout)["e164Number"] == "+12015550123"
    assert stderr.read_text() == ""
