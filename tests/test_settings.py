"""Settings from the environment and the config file: what cannot work is refused in one line."""

import pytest
from click.testing import CliRunner

from xl_fastmoss.cli import main
from xl_fastmoss.errors import ConfigurationError
from xl_fastmoss.settings import Settings

DAY = "2026-04-01"


@pytest.mark.parametrize("variable, value, message", [
    ("FASTMOSS_TIMEOUT", "nan", "FASTMOSS_TIMEOUT must be a number from 0.1 to 3600, got nan"),
    ("FASTMOSS_TIMEOUT", "inf", "FASTMOSS_TIMEOUT must be a number from 0.1 to 3600, got inf"),
    ("FASTMOSS_TIMEOUT", "-inf", "FASTMOSS_TIMEOUT must be a number from 0.1 to 3600, got -inf"),
    ("FASTMOSS_TIMEOUT", "1e999", "FASTMOSS_TIMEOUT must be a number from 0.1 to 3600, got 1e999"),
    ("FASTMOSS_TIMEOUT", "0", "FASTMOSS_TIMEOUT must be a number from 0.1 to 3600, got 0"),
    ("FASTMOSS_MAX_RETRIES", "inf", "FASTMOSS_MAX_RETRIES must be a whole number from 0 to 100, got inf"),
    ("FASTMOSS_MAX_RETRIES", "2.5", "FASTMOSS_MAX_RETRIES must be a whole number from 0 to 100, got 2.5"),
    ("FASTMOSS_MAX_CONCURRENCY", "nan", "FASTMOSS_MAX_CONCURRENCY must be a whole number from 1 to 64, got nan"),
    ("FASTMOSS_CACHE_TTL", "1e30", "FASTMOSS_CACHE_TTL must be a number from 0 to 3.16224e+08, got 1e30"),
    ("FASTMOSS_CACHE_TTL", "ten", "FASTMOSS_CACHE_TTL must be a number, got 'ten'"),
    ("FASTMOSS_DAILY_CALLS", "-1", "FASTMOSS_DAILY_CALLS must be a whole number from 0 to 1e+09, got -1"),
    ("FASTMOSS_DAILY_ROWS", "1.5", "FASTMOSS_DAILY_ROWS must be a whole number from 0 to 1e+12, got 1.5"),
    ("FASTMOSS_SETTLE_DAYS", "nan", "FASTMOSS_SETTLE_DAYS must be a number from 0 to 3660, got nan"),
    ("FASTMOSS_CONFIRM_CALLS", "inf", "FASTMOSS_CONFIRM_CALLS must be a whole number from 0 to 1e+09, got inf"),
    ("FASTMOSS_PAGE_ROWS", "half", "FASTMOSS_PAGE_ROWS must be full or exact, got 'half'"),
])
def test_a_setting_that_cannot_work_is_one_line_everywhere_and_costs_no_call(fake_env, monkeypatch, variable,
                                                                              value, message):
    import xl_fastmoss.udfs as udfs

    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        Settings.load()
    assert caught.value.message == message
    assert udfs.FM_MOSTPROMOTED("US", 14, "day", DAY) == [[f"FastMoss: {message}"]]
    assert udfs.FM_STATUS() == [[f"FastMoss: {message}"]]
    result = CliRunner().invoke(main, ["most-promoted", "US", "14", "day", DAY])
    assert result.exit_code == 1 and result.stderr.strip().splitlines() == [f"ConfigurationError: {message}"]
    assert fake_env.call_count == 0


@pytest.mark.parametrize("field, value", [("read_timeout", float("nan")), ("retry_deadline", float("inf")),
                                          ("connect_timeout", -1.0), ("max_page_bytes", 10)])
def test_settings_given_in_python_are_checked_too(field, value):
    with pytest.raises(ConfigurationError, match=f"{field} must be"):
        Settings(**{field: value})


def test_sound_numbers_are_read_with_their_types(monkeypatch):
    monkeypatch.setenv("FASTMOSS_TIMEOUT", "2.5")
    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "2")
    monkeypatch.setenv("FASTMOSS_MAX_CONCURRENCY", "8.0")
    settings = Settings.load()
    assert (settings.read_timeout, settings.max_retries, settings.max_concurrency) == (2.5, 2, 8)
    assert isinstance(settings.max_retries, int) and isinstance(settings.max_concurrency, int)


def test_tables_held_in_memory_default_to_256_and_read_from_the_environment_and_the_file(monkeypatch):
    from xl_fastmoss.settings import write_config

    assert Settings.load().memory_tables == 256
    write_config({"memory_tables": "40"})
    assert Settings.load().memory_tables == 40
    monkeypatch.setenv("FASTMOSS_MEMORY_TABLES", "0")
    assert Settings.load().memory_tables == 0
    monkeypatch.setenv("FASTMOSS_MEMORY_TABLES", "-1")
    with pytest.raises(ConfigurationError, match="FASTMOSS_MEMORY_TABLES must be a whole number from 0 to 100000"):
        Settings.load()


def test_the_spend_settings_have_their_defaults_and_read_from_the_config_file(monkeypatch):
    from xl_fastmoss.settings import write_config

    settings = Settings.load()
    assert (settings.daily_calls, settings.daily_rows, settings.page_rows, settings.settle_days,
            settings.confirm_calls) == (None, None, "full", 3.0, 50)
    write_config({"daily_calls": "200", "daily_rows": "none", "page_rows": "Exact", "settle_days": "7",
                  "confirm_calls": "10"})
    settings = Settings.load()
    assert (settings.daily_calls, settings.daily_rows, settings.page_rows, settings.settle_days,
            settings.confirm_calls) == (200, None, "exact", 7.0, 10)
    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "5")  # the environment wins over the file
    assert Settings.load().daily_calls == 5
