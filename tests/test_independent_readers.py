"""Every file the project writes, checked by readers that are not the project's own.

``openxml-audit`` (a pure-Python port of the Open XML SDK's validation, Microsoft 365 rules)
validates the package; ``python-calamine`` (Rust calamine) reads the values back.

Known false positives of openxml-audit, filtered here by their exact shape and nothing else:

- ``Unexpected element 'b'`` (``color``, ``sz``, ``i``...) under ``/styleSheet/fonts/font``:
  openpyxl writes a font's children in its own order, the SDK's schema expects a sequence;
  ISO 29500 is read by Excel, LibreOffice and calamine as any order, and Excel opens the file.
  Any schema error elsewhere in styles.xml still fails.
- the warning that a worksheet has inline strings (``t="inlineStr"``) and no shared-strings part:
  the writer writes every text as an inline string, which the standard allows; Excel moves them
  to a shared-strings part on its next save.
"""

import pytest
from openxml_audit import FileFormat, OpenXmlValidator, ValidationSeverity
from python_calamine import CalamineWorkbook

from xl_fastmoss import FastMossClient, Settings
from xl_fastmoss.demo import TEMPLATES_DIR
from xl_fastmoss.headless import refresh_workbook
from xl_fastmoss.workbook.reader import WorkbookFile

TEMPLATE = TEMPLATES_DIR / "FastMossDashboard.xlsm"


def known_false_positive(finding) -> bool:
    description = str(finding.description)
    if (finding.severity is ValidationSeverity.WARNING and "inline-string cell" in description
            and "sharedStrings" in description):
        return True
    return (finding.severity is ValidationSeverity.ERROR and finding.part_uri == "/xl/styles.xml"
            and "/fonts[1]/font[" in (finding.path or "") and description.startswith("Unexpected element '")
            and description.split("'")[1] in {"b", "i", "u", "strike", "color", "sz", "name", "family",
                                              "charset", "scheme", "vertAlign", "outline", "shadow"})


def findings(path):
    result = OpenXmlValidator(file_format=FileFormat.MICROSOFT_365, max_errors=0).validate(str(path))
    return [f"{f.severity.name} {f.part_uri} {f.path}: {f.description}"
            for f in result.errors if not known_false_positive(f)]


def calamine_values(path, sheet):
    found = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    top, left = found.start
    return {(top + i + 1, left + j + 1): value for i, row in enumerate(found.to_python())
            for j, value in enumerate(row) if value != ""}


@pytest.fixture(scope="module")
def written(tmp_path_factory, fake_server):
    """The files the project writes: the template, values copies (.xlsx and .xlsm), an .xlsx export."""
    from xl_fastmoss import export
    from xl_fastmoss.fake_server import FAKE_API_KEY

    folder = tmp_path_factory.mktemp("written")
    settings = Settings(api_key=FAKE_API_KEY, base_url=fake_server.base_url, cache_dir=folder / "cache")
    with FastMossClient(settings) as client:
        for suffix in (".xlsx", ".xlsm"):
            assert refresh_workbook(TEMPLATE, folder / f"values{suffix}", client).ok
        result = client.top_selling("US", 14, "day", "2026-04-01", rows=30)
        export.write_xlsx(result, folder / "export.xlsx")
    return {"template": TEMPLATE, "values.xlsx": folder / "values.xlsx", "values.xlsm": folder / "values.xlsm",
            "export": folder / "export.xlsx"}, result


@pytest.mark.parametrize("name", ["template", "values.xlsx", "values.xlsm", "export"])
def test_openxml_audit_finds_nothing_but_the_known_false_positives(written, name):
    files, _ = written
    assert findings(files[name]) == []


def test_the_filter_lets_other_findings_through(tmp_path, written):
    """A broken package is still caught: the filter names two shapes of finding, not everything."""
    from package_helpers import rewrite_zip

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(written[0]["values.xlsx"].read_bytes())
    rewrite_zip(broken, {"xl/workbook.xml": lambda data: data.replace(b"<sheets>", b"<sheets><bogus/>", 1)})
    assert any("/xl/workbook.xml" in line for line in findings(broken))


@pytest.mark.parametrize("name", ["values.xlsx", "values.xlsm"])
def test_calamine_reads_the_values_copies_as_the_project_wrote_them(written, name):
    files, _ = written
    ours = WorkbookFile.open(files[name])
    for sheet in ("Daily", "Markets", "Shop rankings"):
        theirs = calamine_values(files[name], sheet)
        for ref, cell in ours.cells(sheet).items():
            from xl_fastmoss.workbook.addresses import split_cell

            value = cell.value
            if value in (None, ""):
                continue
            seen = theirs[split_cell(ref)]
            assert seen == pytest.approx(value) if isinstance(value, (int, float)) else seen == value, (sheet, ref)


def test_calamine_reads_the_export_as_the_ranking(written):
    files, result = written
    values = calamine_values(files["export"], CalamineWorkbook.from_path(str(files["export"])).sheet_names[0])
    seller_ids = {value for value in values.values() if isinstance(value, str) and value.isdigit()}
    assert set(result.frame["seller_id"]) <= seller_ids  # 19-digit ids stay text
    names = [v for (r, c), v in sorted(values.items()) if isinstance(v, str)]
    assert all(str(name) in names for name in result.frame["name"])
