"""The Excel refresh macro, driven through a stand-in for xlwings' Book.

Excel cannot run here, so the stand-in answers the few Book calls the macro makes from a real
.xlsx file read with openpyxl; the planning and fetching behind it are the real ones.
"""

import pytest
from openpyxl import Workbook, load_workbook

from xl_fastmoss import macros
from xl_fastmoss.fake_server import Fault

DAY = "2026-04-01"


class StandInRange:
    def __init__(self, sheet, ref):
        self.sheet, self.ref = sheet, ref

    @property
    def value(self):
        cells = self.sheet.ws[self.ref]
        if isinstance(cells, tuple):
            return [[c.value for c in row] for row in cells]
        return cells.value

    @value.setter
    def value(self, value):
        self.sheet.ws[self.ref].value = value[0][0] if isinstance(value, list) else value
        if isinstance(value, list):
            for r, row in enumerate(value):
                for c, item in enumerate(row):
                    self.sheet.ws.cell(row=self.sheet.ws[self.ref].row + r, column=self.sheet.ws[self.ref].column + c,
                                       value=item)

    @property
    def formula(self):
        return [[c.value if c.data_type == "f" else "" for c in row] for row in self.sheet.ws.iter_rows()]

    @property
    def shape(self):
        cells = self.sheet.ws[self.ref]
        return (len(cells), len(cells[0])) if isinstance(cells, tuple) else (1, 1)

    def __getitem__(self, index):
        r, c = index
        return StandInRange(self.sheet, self.sheet.ws.cell(row=r + 1, column=c + 1).coordinate)

    def get_address(self, row_absolute=True, column_absolute=True):
        return self.ref


class StandInSheet:
    def __init__(self, ws):
        self.ws, self.name = ws, ws.title

    @property
    def used_range(self):
        return StandInRange(self, "A1")

    def range(self, ref):
        return StandInRange(self, ref.replace("$", ""))

    def clear_contents(self):
        for row in self.ws.iter_rows():
            for c in row:
                c.value = None


class StandInBook:
    def __init__(self, wb):
        self.wb = wb
        self.calculated = 0
        self.app = type("App", (), {"calculate": lambda _: setattr(self, "calculated", self.calculated + 1)})()

    @property
    def sheets(self):
        book = self

        class Sheets(list):
            def __getitem__(self, key):
                if isinstance(key, str):
                    return StandInSheet(book.wb[key])
                return list.__getitem__(self, key)

            def add(self, name, after=None):
                return StandInSheet(book.wb.create_sheet(name))

        return Sheets(StandInSheet(ws) for ws in self.wb.worksheets)

    @property
    def names(self):
        wb = self.wb

        class Names:
            def __iter__(self):
                for name, defined in wb.defined_names.items():
                    yield type("Name", (), {"name": name, "refers_to": "=" + defined.attr_text})()

            def __getitem__(self, name):
                defined = wb.defined_names[name]
                sheet, ref = next(iter(defined.destinations))
                target = StandInRange(StandInSheet(wb[sheet]), ref.replace("$", ""))
                return type("Name", (), {"refers_to_range": target})()

        return Names()


@pytest.fixture
def book(tmp_path):
    from openpyxl.workbook.defined_name import DefinedName

    wb = Workbook()
    ws = wb.active
    ws.title = "Daily"
    ws["A1"], ws["B1"] = "Market", "US"
    ws["A2"] = "Last refresh"
    wb.defined_names["FM_LastRefresh"] = DefinedName("FM_LastRefresh", attr_text="Daily!$B$2")
    ws["A4"] = '=FM_MOSTPROMOTED($B$1,14,"day","2026-04-01","rows",150)'
    ws["P4"] = '=FM_MOSTPROMOTED("GB",14,"day","2026-04-01")'
    ws["AC4"] = '=FM_MOSTPROMOTED(B1,14,"day","2026-04-01","rows",20)'
    wb.save(tmp_path / "book.xlsx")
    return StandInBook(load_workbook(tmp_path / "book.xlsx"))


def test_refresh_fetches_each_distinct_query_fresh_then_recalculates_and_stamps(book, fake_env):
    assert macros.refresh(book) == []
    assert fake_env.call_count == 3  # US: 2 pages shared by two cells; GB: 1
    assert book.calculated == 1
    assert book.wb["Daily"]["B2"].value.startswith("Refreshed 3 FastMoss tables at ")
    assert "FastMoss refresh" not in book.wb.sheetnames
    macros.refresh(book)
    assert fake_env.call_count == 6  # a refresh always asks again


def test_a_failed_table_is_reported_and_the_rest_refreshed(book, fake_env):
    fake_env.inject(Fault.API_CODE, code=30001, page=1, times=1)
    problems = macros.refresh(book)
    failed = {p.split(":")[0] for p in problems}
    assert failed in ({"Daily!A4", "Daily!AC4"}, {"Daily!P4"})  # the cells of whichever query got the fault
    assert all("code 30001" in p and "request_id" in p for p in problems)
    report = [row[0].value for row in book.wb["FastMoss refresh"].iter_rows()]
    assert f"{len(problems)} failed" in report[0] and report[1:] == problems
    assert book.calculated == 1
