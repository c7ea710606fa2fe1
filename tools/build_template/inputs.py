"""The dashboards' inputs: what each asks for, its validation, its yellow cell, and FM_ formula text."""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula

from xl_fastmoss.endpoints import ALL_REGIONS

from .look import HINT_FONT, INPUT_BORDER, INPUT_FILL, INPUT_FONT, LABEL_FONT, TEXT_FORMAT


@dataclass(frozen=True)
class Input:
    label: str
    default: object
    hint: str
    #: ``market``, ``period_type``, ``sort``, ``rows``, ``category`` or None.
    check: str | None = None
    #: Typed as text: "2026-03" must not become a date, "latest" stays a word.
    text: bool = False


def market_input(default="US", regions=ALL_REGIONS, hint=None) -> Input:
    return Input("Market", default, hint or "TikTok Shop market: " + " ".join(regions), "market")


def sort_input(default: str) -> Input:
    return Input("Sort by", default, "units_sold or usd_gmv", "sort")


CATEGORY = Input("Category id", 14, "FastMoss category id: 14 = Beauty & Personal Care; empty = all",
                 "category")
ROWS = Input("Rows", 20, "1 to 500; the table spills below its header", "rows")
PERIOD_TYPE = Input("Period type", "day", "day, week or month", "period_type")
PERIOD = Input("Period", "latest", "YYYY-MM-DD, YYYY-WW or YYYY-MM as the type; latest = last complete",
               text=True)

#: ``check: (DataValidation arguments, prompt title, prompt)``; the prompt is also the error text.
VALIDATIONS: dict[str, tuple[dict, str, str]] = {
    "market": (dict(type="list", formula1='"' + ",".join(ALL_REGIONS) + '"', allow_blank=True),
               "Market", "A TikTok Shop market code; empty for all markets."),
    "period_type": (dict(type="list", formula1='"day,week,month"', allow_blank=False),
                    "Period type", "day, week or month."),
    "sort": (dict(type="list", formula1='"units_sold,usd_gmv"', allow_blank=True),
             "Sort by", "units_sold or usd_gmv (GMV in US dollars)."),
    "rows": (dict(type="whole", operator="between", formula1="1", formula2="500"),
             "Rows", "How many shops, 1 to 500."),
    "category": (dict(type="whole", operator="greaterThanOrEqual", formula1="1", allow_blank=True),
                 "Category id", "A FastMoss category id (14 = Beauty & Personal Care); empty for all."),
}


def validation(check: str) -> DataValidation:
    """A new validation for one kind of input, with its prompt and error message."""
    if check not in VALIDATIONS:
        raise ValueError(check)
    arguments, title, prompt = VALIDATIONS[check]
    dv = DataValidation(**arguments)
    dv.promptTitle, dv.prompt = title, prompt
    dv.showInputMessage = True
    dv.showErrorMessage = True
    dv.errorTitle = "FastMoss input"
    dv.error = dv.prompt
    return dv


def style_input(cell, spec: Input) -> None:
    """The yellow, orange-bordered look of an input cell."""
    cell.fill = INPUT_FILL
    cell.border = INPUT_BORDER
    cell.font = INPUT_FONT
    cell.alignment = Alignment(horizontal="left")
    if spec.text:
        cell.number_format = TEXT_FORMAT


def write_inputs(ws, specs, first_row: int, label_col: int, label_right: bool = False) -> list[str]:
    """Label, yellow input cell and hint per spec, one a row; returns the inputs' absolute addresses."""
    refs = []
    validations: dict[str, DataValidation] = {}
    for row, spec in enumerate(specs, start=first_row):
        label = ws.cell(row, label_col, spec.label)
        label.font = LABEL_FONT
        if label_right:
            label.alignment = Alignment(horizontal="right", indent=1)
        cell = ws.cell(row, label_col + 1, spec.default)
        style_input(cell, spec)
        ws.cell(row, label_col + 2, spec.hint).font = HINT_FONT
        if spec.check:
            if spec.check not in validations:
                validations[spec.check] = validation(spec.check)
                ws.add_data_validation(validations[spec.check])
            validations[spec.check].add(cell.coordinate)
        refs.append(absolute(row, label_col + 1))
    return refs


def absolute(row: int, col: int) -> str:
    """``$B$4`` for row 4, column 2."""
    return f"${get_column_letter(col)}${row}"


def literal(value) -> str:
    """Formula text of a constant: strings quoted, numbers as they are."""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def fm_formula(function: str, region: str, category: str, date_type: str, date_value: str,
               options: tuple = ()) -> str:
    """``=FUNCTION(args)``; each argument is already formula text (a reference or a quoted literal)."""
    args = [region, category, date_type, date_value, *options]
    return f"={function}({','.join(args)})"


def set_fm(ws, row: int, col: int, formula: str) -> None:
    """Put an FM_ formula in a cell, as an array formula of one cell."""
    # The package edit marks it dynamic (cm="1"), so that Excel 365 spills it.
    ref = f"{get_column_letter(col)}{row}"
    ws[ref] = ArrayFormula(ref, formula)
