"""The FastMoss ribbon tab: what each of its buttons does, in Python.

The add-in ``xl_fastmoss/addin/FastMoss.xlam`` (built by ``python -m tools.build_addin``) puts a
FastMoss tab on Excel's ribbon for every workbook. All its buttons call one VBA callback,
``RibbonMyAddin.RunMain(control As IRibbonControl)``, which hands the button's id to Python::

    RunPython "import xl_fastmoss.ribbon; xl_fastmoss.ribbon.on_action('" & control.Id & "')"

:func:`on_action` finds the button in :data:`BUTTONS` and runs its action on the active workbook:
the ribbon belongs to the add-in, the tables to the workbook the analyst is looking at. The
refresh buttons call the functions the template's buttons reach: :func:`macros.refresh`,
:func:`macros.refresh_sheet` of the active sheet, :func:`macros.refresh_selection`.

Messages are Excel message boxes (``App.alert``, xlwings' MsgBox); the key is asked for in
Excel's input box (``Application.InputBox``) and goes to the OS keyring, never into a cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from . import macros
from .client import default_client
from .errors import FastMossError
from .settings import store_api_key
from .sheets.functions import status_table
from .sheets.table import error_text
from .usage import recent_days_lines

TITLE = "FastMoss"
#: Longer text is refused: no FastMoss key is that long, and a paste gone wrong should not be stored.
MAX_KEY_CHARS = 256
#: Application.InputBox's Type for text (https://learn.microsoft.com/office/vba/api/excel.application.inputbox).
INPUT_BOX_TEXT = 2


@dataclass(frozen=True)
class Button:
    """A button of the FastMoss tab: its ribbon id, label, icon (imageMso), tip, and what it does."""

    id: str
    label: str
    image: str
    tip: str
    action: Callable[[Any], object]


def refresh_sheet(book) -> list[str]:
    """Refresh the FM_ tables of the workbook's active sheet (:func:`macros.refresh_sheet`)."""
    return macros.refresh_sheet(book.sheets.active)


def usage_lines() -> list[str]:
    """What the Usage button shows, one line a row: FM_STATUS's table (today's calls and rows
    of every process, what is left of each budget), then the calls and rows of the last 7 days
    from the call ledger (``xl-fastmoss usage`` shows more)."""
    lines = [" ".join(str(value) for value in row) if len(row) == 1 else f"{row[0]}: {row[1]}"
             for row in status_table()]
    try:
        recent = recent_days_lines(default_client().ledger)
    except Exception as error:  # FM_STATUS said what is wrong already
        return [*lines, f"Last 7 days: {error_text(error)}"]
    return [*lines, "Last 7 days (local time):", *(f"  {line}" for line in recent or ["no calls"])]


def show_usage(book) -> None:
    """The Usage button: the usage lines in a message box."""
    _alert(book, "\n".join(usage_lines()), f"{TITLE} usage")


def set_key(book) -> None:
    """The Set key button: ask for the API key in Excel's input box and store it (OS keyring)."""
    answer = book.app.api.InputBox(
        Prompt="Your FastMoss API key (the console's client secret). It is stored in your "
               "OS keyring (Windows Credential Manager, macOS Keychain), never in a workbook.",
        Title=f"{TITLE} API key", Type=INPUT_BOX_TEXT)
    if answer is False:  # Cancel
        return
    key = str(answer).strip()
    if not key:
        _alert(book, "No key was entered: the stored key, if any, is unchanged.")
        return
    if len(key) > MAX_KEY_CHARS or any(ch.isspace() or not ch.isprintable() for ch in key):
        _alert(book, f"That is not a FastMoss key: a key is one word of at most {MAX_KEY_CHARS} characters, "
                     "without spaces. The stored key, if any, is unchanged.")
        return
    where = store_api_key(key)
    _alert(book, f"FastMoss API key stored in {where}. Refresh to use it.")


HELP_TEXT = """FastMoss tab
Refresh workbook: fetch every FM_ table of this workbook again.
Refresh sheet: the FM_ tables of the active sheet only.
Refresh selection: the FM_ tables the selected cells touch.
Usage: the key, the calls and rows of today and of the last 7 days, what is left of the daily budgets,
the cache in use (as =FM_STATUS() shows them). Refreshes above 50 estimated calls ask first.
Set key: store your FastMoss API key (in the OS keyring, never in a workbook).

Functions: =FM_MOSTPROMOTED(region, category_id, date_type, date_value, [option, value]...),
FM_TOPSELLING, FM_FULLYMANAGED, FM_STATUS. Every API call is paid; a refresh asks each page once.
Command line: xl-fastmoss --help; settings: xl-fastmoss config."""


def show_help(book) -> None:
    """The Help button: what the buttons do, and where the full guide is."""
    _alert(book, f"{HELP_TEXT}\n\nThe full guide is the README of xl-fastmoss: {readme_location()}",
           f"{TITLE} help")


def readme_location() -> str:
    """Where the installed package keeps its README (its metadata file holds it), or how to find it."""
    from importlib import metadata

    try:
        dist = metadata.distribution("xl-fastmoss")
        entry = next((f for f in dist.files or () if f.name == "METADATA"), None)
    except metadata.PackageNotFoundError:
        entry = None
    if entry is None:
        return "README.md in the xl-fastmoss source"
    return str(dist.locate_file(entry))


BUTTONS = (
    Button("fastmoss_refresh_workbook", "Refresh workbook", "RefreshAll",
           "Fetch every FastMoss table of this workbook again.", macros.refresh),
    Button("fastmoss_refresh_sheet", "Refresh sheet", "Refresh",
           "Fetch the FastMoss tables of the active sheet again.", refresh_sheet),
    Button("fastmoss_refresh_selection", "Refresh selection", "Refresh",
           "Fetch again the FastMoss tables that the selected cells touch.", macros.refresh_selection),
    Button("fastmoss_usage", "Usage", "Info",
           "The API key, the calls made and the cache in use.", show_usage),
    Button("fastmoss_set_key", "Set key", "AdpPrimaryKey",
           "Store your FastMoss API key in the OS keyring (never in a workbook).", set_key),
    Button("fastmoss_help", "Help", "Help", "What the FastMoss buttons do, and where the guide is.", show_help),
)
BUTTONS_BY_ID = {button.id: button for button in BUTTONS}


def on_action(control_id: str) -> None:
    """Run the ribbon button ``control_id`` on the active workbook (RunMain's RunPython command)."""
    book = active_book()
    button = BUTTONS_BY_ID.get(control_id)
    if button is None:
        _alert(book, f"The FastMoss ribbon has no button {control_id!r} in this xl-fastmoss; "
                     "install the add-in again: xl-fastmoss addin install")
        return
    try:
        button.action(book)
    except FastMossError as error:
        _alert(book, error_text(error))


def active_book():
    """The workbook the analyst is looking at, in the Excel that ran the ribbon (an xlwings Book).

    ``Application.ActiveWorkbook`` "doesn't return the add-in workbook; it returns the workbook
    that's calling the add-in" (https://learn.microsoft.com/office/vba/api/excel.application.thisworkbook).
    Asked of the caller's Excel, so a second Excel instance cannot be mistaken for it.
    """
    import xlwings as xw

    return xw.Book.caller().app.books.active


def _alert(book, text: str, title: str = TITLE) -> None:
    book.app.alert(text, title=title)
