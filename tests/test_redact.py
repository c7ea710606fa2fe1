"""The one scrubber every text goes through: remembered keys, bearer tokens, URL passwords."""

import logging

from xl_fastmoss import errors, redact
from xl_fastmoss.settings import Settings

KEY = "sk-live-9f8e7d6c5b4a"


def test_a_remembered_key_and_any_bearer_token_are_masked():
    redact.remember_secret(KEY)
    text = f"invalid token: Bearer {KEY}; also bearer\tabc.def-123 and key={KEY}"
    assert redact.scrub(text) == "invalid token: Bearer ***; also bearer\t*** and key=***"


def test_every_settings_remembers_its_key_and_every_error_message_is_scrubbed():
    Settings(api_key="sk-made-in-python-42")
    error = errors.ParameterError(10001, "echo sk-made-in-python-42", "r1")
    assert "sk-made-in-python-42" not in str(error) and "sk-made-in-python-42" not in error.api_message
    assert errors.InvalidResponse("got Bearer abcdefgh").message == "got Bearer ***"


def test_log_records_of_the_package_are_scrubbed(caplog):
    redact.remember_secret(KEY)
    caplog.set_level(logging.INFO)
    redact.logger("xl_fastmoss.some_module").warning("calling with %s", f"Bearer {KEY} {KEY}")
    [record] = caplog.records
    assert record.getMessage() == "calling with Bearer *** ***" and KEY not in caplog.text


def test_short_texts_are_not_taken_for_secrets():
    redact.remember_secret("abc")
    assert redact.scrub("abc abc") == "abc abc"


def test_an_unexpected_error_in_a_cell_shows_no_key():
    from xl_fastmoss.settings import Settings
    from xl_fastmoss.sheets.table import error_text

    Settings(api_key="sk-live-abcdef0123456789")  # a Settings registers its key for scrubbing
    text = error_text(RuntimeError("boom with sk-live-abcdef0123456789 and Bearer abc.def"))
    assert "sk-live-abcdef0123456789" not in text and "abc.def" not in text
    assert text.startswith("FastMoss: unexpected RuntimeError: boom with ***")
