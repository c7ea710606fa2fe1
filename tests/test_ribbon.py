"""The FastMoss ribbon (xl_fastmoss/addin/FastMoss.xlam) clicked in the Excel model.

The add-in is installed as a user installs it (``xl-fastmoss addin install`` into a startup
folder, which writes this Python into its config sheet), then opened in the model beside an
analyst's workbook. A click runs the button's onAction: the add-in's own VBA (read with olevba
and interpreted, tests/excel_model/addin.py) hands ``control.Id`` to RunPython, which starts
the interpreter the add-in names, in a child process. What is checked is what the analyst sees:
the tables of the active workbook, the message boxes, the key stored and in no cell.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from excel_model import ExcelModel, ModelGap
from openpyxl import Workbook

from xl_fastmoss import FastMossClient, Settings, addin_command, ribbon
from xl_fastmoss.fake_server import FAKE_API_KEY
from xl_fastmoss.settings import config_file
from xl_fastmoss.sheets.calls import read_call
from xl_fastmoss.sheets.table import to_rows

MORNING = dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.timezone.utc)
DAY = "2026-04-01"
FORMULAS = {
    "Daily!A4": ("FM_MOSTPROMOTED", "US", 14, "day", DAY, "rows", 20),
    "Daily!P4": ("FM_MOSTPROMOTED", "GB", 14, "day", DAY),
    "Weekly!A4": ("FM_TOPSELLING", "DE", 14, "week", "2026-13"),
}


def _formula(function, *args) -> str:
    return f"={function}({','.join(repr(a).replace(chr(39), chr(34)) for a in args)})"


@pytest.fixture
def installed(tmp_path):
    """The add-in copied into a startup folder by the install command, with this Python."""
    folder = tmp_path / "XLSTART"
    folder.mkdir()
    return addin_command.install(folder)


@pytest.fixture
def analysis(fake_env, tmp_path, monkeypatch, recent_periods):
    """An analyst's workbook with no stamp cell, no buttons and no VBA: only FM_ formulas."""
    monkeypatch.setenv("FASTMOSS_MAX_RETRIES", "0")
    wb = Workbook()
    wb.active.title = "Daily"
    wb.create_sheet("Weekly")
    conf = wb.create_sheet("xlwings.conf")
    conf["A1"], conf["B1"] = "UDF Modules", "xl_fastmoss.udfs"
    path = tmp_path / "book" / "Analysis.xlsx"
    path.parent.mkdir()
    wb.save(path)
    return path


@pytest.fixture
def excel(analysis, installed, server):
    """Excel started with the add-in in its startup folder, the analysis open, its tables landed."""
    with time_machine.travel(MORNING, tick=True), ExcelModel() as model:
        model.load_addin(installed)
        book = model.open(analysis)
        for address, (function, *args) in FORMULAS.items():
            sheet, _, cell = address.partition("!")
            book.sheets[sheet][cell].formula2 = _formula(function, *args)
        model.wait_until_idle(60)
        yield model, book


def answer(tmp_path, function, *args) -> list[list]:
    """The table the API answers now, as the sheet holds it (None is "", numbers are doubles)."""
    region, category, date_type, date_value, *options = args
    call = read_call(function, region, category, date_type, date_value, tuple(options))
    with FastMossClient(Settings.load(cache_dir=tmp_path / "independent")) as client:
        rows = to_rows(client.fetch(call.request, refresh=True), call.fields, call.headers)
    return [["" if v is None else float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row]
            for row in rows]


def tables(model, book) -> dict[str, list[list]]:
    return {address: model.table(book, address) for address in FORMULAS}


def click(model, control_id: str) -> None:
    outcome = model.click_ribbon(control_id)
    assert outcome is not None and outcome.message_box is None, outcome
    assert not outcome.in_udf_server and outcome.pid > 0  # the add-in keeps Use UDF Server off
    model.wait_until_idle(60)


# -- the refresh buttons ---------------------------------------------------------------------------

def test_refresh_workbook_refreshes_every_table_of_the_active_workbook(excel, server, tmp_path):
    model, book = excel
    before = tables(model, book)
    server.revision += 1
    server.reset_calls()
    click(model, "fastmoss_refresh_workbook")
    assert server.call_count == 3
    for address, (function, *args) in FORMULAS.items():
        assert model.table(book, address) == answer(tmp_path, function, *args) != before[address], address


def test_refresh_sheet_refreshes_the_active_sheet_only(excel, server, tmp_path):
    model, book = excel
    before = tables(model, book)
    server.revision += 1
    server.reset_calls()
    model.select(book, "Weekly!C3")
    click(model, "fastmoss_refresh_sheet")
    assert server.call_count == 1
    assert model.table(book, "Weekly!A4") == answer(tmp_path, *FORMULAS["Weekly!A4"]) != before["Weekly!A4"]
    assert {a: t for a, t in tables(model, book).items() if a != "Weekly!A4"} == {
        a: t for a, t in before.items() if a != "Weekly!A4"}


def test_refresh_selection_refreshes_the_tables_the_selection_touches(excel, server, tmp_path):
    model, book = excel
    before = tables(model, book)
    server.revision += 1
    server.reset_calls()
    model.select(book, "Daily!Q7")  # inside GB's table
    click(model, "fastmoss_refresh_selection")
    assert server.call_count == 1
    assert model.table(book, "Daily!P4") == answer(tmp_path, *FORMULAS["Daily!P4"]) != before["Daily!P4"]
    assert {a: t for a, t in tables(model, book).items() if a != "Daily!P4"} == {
        a: t for a, t in before.items() if a != "Daily!P4"}


def test_the_refresh_buttons_work_with_the_udf_server_on_too(excel, server, tmp_path):
    model, book = excel
    (addin,) = model.app.addins
    config = addin.book.sheet(addin_command.CONFIG_SHEET)
    row = next(r for r in range(1, 20) if config.shown(r, 1) == "Use UDF Server")
    model.app.set_constant(config, row, 2, True)
    server.revision += 1
    server.reset_calls()
    model.select(book, "Daily!A5")
    outcome = model.click_ribbon("fastmoss_refresh_selection")
    assert outcome.in_udf_server and outcome.message_box is None
    model.wait_until_idle(60)
    assert server.call_count == 1
    assert model.table(book, "Daily!A4") == answer(tmp_path, *FORMULAS["Daily!A4"])


def test_the_refresh_buttons_call_the_functions_the_template_buttons_reach():
    from xl_fastmoss import macros

    actions = {button.id: button.action for button in ribbon.BUTTONS}
    assert actions["fastmoss_refresh_workbook"] is macros.refresh  # macros.main(): refresh(Book.caller())
    assert actions["fastmoss_refresh_selection"] is macros.refresh_selection
    assert actions["fastmoss_refresh_sheet"] is ribbon.refresh_sheet  # macros.refresh_sheet of the active sheet


# -- Usage, Set key, Help ----------------------------------------------------------------------------

def test_usage_shows_fm_status_in_a_message_box(excel, server):
    model, book = excel
    click(model, "fastmoss_usage")
    (box,) = model.dialogs
    assert (box.kind, box.title) == ("MsgBox", "FastMoss usage")
    lines = box.text.split("\n")
    assert lines[:2] == ["API key: configured", f"Base URL: {server.base_url}"]
    assert "API calls this session: 0" in lines and any(line.startswith("Cache: ") for line in lines)
    assert FAKE_API_KEY not in box.text


def test_set_key_stores_the_typed_key_and_puts_it_in_no_cell(excel, server, tmp_path, monkeypatch):
    model, book = excel
    monkeypatch.delenv("FASTMOSS_API_KEY")
    model.type_into_input_box(f"  {FAKE_API_KEY} ")
    click(model, "fastmoss_set_key")
    asked, told = model.dialogs
    assert (asked.kind, asked.title) == ("InputBox", "FastMoss API key") and "keyring" in asked.text
    assert (told.kind, told.text) == ("MsgBox", f"FastMoss API key stored in {config_file()}. Refresh to use it.")
    assert FAKE_API_KEY in config_file().read_text()  # the test's keyring fails: the user-only file
    for sheet in model.book(book).sheets:
        assert not any(FAKE_API_KEY in str(sheet.shown(*p)) for p in list(sheet.cells) + list(sheet.spilled_from))
    server.revision += 1
    server.reset_calls()
    click(model, "fastmoss_refresh_workbook")  # the stored key is the one the refresh uses
    assert server.call_count == 3
    assert model.table(book, "Daily!P4") == answer(tmp_path, *FORMULAS["Daily!P4"])


def test_set_key_cancelled_stores_nothing(excel):
    model, _ = excel
    model.type_into_input_box(False)
    click(model, "fastmoss_set_key")
    assert [d.kind for d in model.dialogs] == ["InputBox"]
    assert not config_file().exists()


@pytest.mark.parametrize("typed", ["", "two words", "x" * (ribbon.MAX_KEY_CHARS + 1)])
def test_set_key_refuses_what_is_no_key_and_keeps_the_stored_one(excel, typed):
    model, _ = excel
    model.type_into_input_box(typed)
    click(model, "fastmoss_set_key")
    _, told = model.dialogs
    assert told.kind == "MsgBox" and "unchanged" in told.text
    assert not config_file().exists()


def test_help_says_what_the_buttons_do_and_where_the_guide_is(excel):
    model, _ = excel
    click(model, "fastmoss_help")
    (box,) = model.dialogs
    assert box.title == "FastMoss help"
    for button in ribbon.BUTTONS:
        if button.id != "fastmoss_help":
            assert f"{button.label}: " in box.text
    assert "README of xl-fastmoss: " in box.text and box.text.rstrip().endswith("METADATA")


# -- the add-in itself ---------------------------------------------------------------------------------

def test_a_button_clicked_with_no_workbook_open_says_so_without_python(installed, server):
    with ExcelModel() as model:
        model.load_addin(installed)
        assert model.click_ribbon("fastmoss_help") is None
        (box,) = model.dialogs
        assert box.text.startswith("Open a workbook first") and box.title == "FastMoss"


def test_the_packaged_add_in_names_no_python_until_installed(analysis, server):
    """Without `xl-fastmoss addin install`, RunPython would start whatever `python` PATH finds."""
    from importlib import resources

    with ExcelModel() as model, resources.as_file(addin_command.packaged_addin()) as packaged:
        model.load_addin(packaged)
        model.open(analysis)
        with pytest.raises(ModelGap, match="`python` found on PATH"):
            model.click_ribbon("fastmoss_help")


def test_an_add_in_installed_for_a_python_that_is_gone_says_so(analysis, tmp_path, server):
    folder = tmp_path / "start"
    folder.mkdir()
    path = addin_command.install(folder, interpreter=str(tmp_path / "gone" / "python.exe"))
    with ExcelModel() as model:
        model.load_addin(path)
        model.open(analysis)
        assert model.click_ribbon("fastmoss_usage").message_box == "Could not find Interpreter!"


def test_every_ribbon_button_is_a_button_of_xl_fastmoss_ribbon(installed):
    with ExcelModel() as model:
        addin = model.load_addin(installed)
    assert sorted(addin.buttons) == sorted(ribbon.BUTTONS_BY_ID)
    assert set(addin.buttons.values()) == {"RibbonMyAddin.RunMain"}


def use_udf_server(model) -> None:
    (addin,) = model.app.addins
    config = addin.book.sheet(addin_command.CONFIG_SHEET)
    row = next(r for r in range(1, 20) if config.shown(r, 1) == "Use UDF Server")
    model.app.set_constant(config, row, 2, True)


def test_usage_shows_todays_calls_of_every_process_and_the_last_days(excel, server, monkeypatch):
    model, book = excel
    from xl_fastmoss.client import reset_default_client

    monkeypatch.setenv("FASTMOSS_DAILY_CALLS", "100")
    reset_default_client()  # the UDF server's client takes the budget up
    use_udf_server(model)  # the click runs in this process, on the morning the cells were calculated
    outcome = model.click_ribbon("fastmoss_usage")
    assert outcome.in_udf_server and outcome.message_box is None
    (box,) = model.dialogs
    lines = box.text.split("\n")
    assert "API calls today: 3" in lines and "Rows received today: 300" in lines  # the three tables on opening
    assert "Calls left today: 97 of 100" in lines and "Rows left today: no budget" in lines
    assert lines[-2:] == ["Last 7 days (local time):", "  2026-04-02: 3 calls, 300 rows"]


def test_a_refresh_button_shows_the_estimate_first_above_the_threshold(excel, server, monkeypatch):
    model, book = excel
    monkeypatch.setenv("FASTMOSS_CONFIRM_CALLS", "2")  # the button's Python process reads it
    server.revision += 1
    server.reset_calls()
    model.click_in_message_box("cancel")
    click(model, "fastmoss_refresh_workbook")
    (asked,) = model.dialogs
    assert asked.title == "FastMoss refresh" and asked.text.startswith("This refresh will make about 3 API calls")
    assert server.call_count == 0
    model.click_in_message_box("ok")
    click(model, "fastmoss_refresh_workbook")
    assert server.call_count == 3
