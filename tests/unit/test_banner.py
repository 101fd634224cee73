"""commands.py's start banner: commands that run as written after `make run`."""

from __future__ import annotations

from substore.commands import first_run_banner, start_banner


def test_the_banner_names_the_installed_command_and_a_write_key():
    said = start_banner({"accounts": 2}, "http://127.0.0.1:8000/graphql")
    assert "`.venv/bin/substore accounts list`" in said
    assert "`.venv/bin/substore keys create --account ID --scope write`" in said
    assert " `substore " not in said  # not on PATH after `make run`


def test_the_first_run_banner_gives_the_header_to_paste():
    created = {"id": 1, "defaultRegion": "US", "apiKey": "sk_abc"}
    said = first_run_banner(created, "http://127.0.0.1:8000/graphql")
    assert '{"Authorization": "Bearer sk_abc"}' in said and "write API key" in said
