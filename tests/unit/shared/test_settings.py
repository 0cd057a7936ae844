"""pitwall_shared.settings: parse once, fail naming the variable, read only what is given."""

from __future__ import annotations

import pytest

from pitwall_shared.settings import ServiceSettings, SettingsError, load_settings


class Example(ServiceSettings):
    table_name: str
    batch_size: int = 10


def test_reads_variables_by_upper_case_name():
    settings = load_settings(Example, {"TABLE_NAME": "t", "BATCH_SIZE": "25"})
    assert (settings.table_name, settings.batch_size) == ("t", 25)


def test_missing_variable_is_named():
    with pytest.raises(SettingsError, match="TABLE_NAME"):
        load_settings(Example, {})


def test_malformed_variable_is_named_without_its_value():
    with pytest.raises(SettingsError, match="BATCH_SIZE") as error:
        load_settings(Example, {"TABLE_NAME": "t", "BATCH_SIZE": "lots-of-secret"})
    assert "lots-of-secret" not in str(error.value)


def test_a_given_mapping_ignores_the_process_environment(monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "from-process")
    with pytest.raises(SettingsError, match="TABLE_NAME"):
        load_settings(Example, {})
    assert load_settings(Example).table_name == "from-process"
