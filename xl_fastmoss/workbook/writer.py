"""Write a values copy of a workbook: each FM_ formula replaced by its table as plain values.

The copy is made part by part, never by loading the workbook into an object model, so charts,
drawings, images, VBA and everything else it does not need to change stay byte for byte what
they were (their compressed bytes too: :mod:`.archive`). Only the worksheets that receive a
table, whose formulas use a spill reference to one or read a changed cell, ``workbook.xml`` (to
ask for a recalculation on open), and, when formulas changed and the workbook has a
calculation chain, the content types and workbook relationships that list it, are rewritten;
``styles.xml`` only when a date lands in a cell without a date format. Which sheets those are is
told by a scan of each sheet's bytes (:mod:`.survey`); the others are never parsed. A sheet
rewritten is edited row by row (:mod:`.sheet_editor`): its other rows stay the bytes they were,
and a table costs what its own cells cost, however many rows the sheet holds.

A values copy is for people without the add-in, who often open it in Protected View, where
Excel does not recalculate: so every other formula that depends on a written table gets its
correct cached value (:mod:`.recalc`), the buttons that ran a macro are removed (they cannot
work in a copy), and an ``.xlsx`` copy of an ``.xlsm`` is macro-free (no VBA part, its
relationship and content type gone, the workbook's content type that of an ``.xlsx``).
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from lxml import etree

from .addresses import MAX_COLUMN, MAX_ROW, cell_name, range_text, split_cell, split_range
from .package import (
    CONTENT_TYPES_NS,
    CONTENT_TYPES_PART,
    WorkbookError,
    local_name,
    namespace_of,
    parse_xml,
    rels_part_of,
    serialise,
    with_override,
    without_override,
    without_relationships,
    write_package,
)
from .reader import CellError, WorkbookFile
from .recalc import recalculate
from .sheet_editor import SheetEditor

#: ``mapping(sheet, anchor)``: the fixed range now holding the array anchored at ``anchor`` of
#: ``sheet`` (None for an unqualified reference's own sheet), or None to leave a reference alone.
SpillMapping = Callable[[str | None, str], str | None]
#: Rewrites the spill references of one formula (``B3#``) with a :data:`SpillMapping`.
SpillRewriter = Callable[[str, SpillMapping], str]

__all__ = ["WriteReport", "write_values_copy", "MAX_TEXT_LENGTH", "MACRO_FREE_WORKBOOK_TYPE"]

#: The content type of the workbook part of an ``.xlsx``, and of an ``.xlsm``.
MACRO_FREE_WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_PROJECT_TYPE = "application/vnd.ms-office.vbaProject"
#: Where a copy may go, by the source's extension: the same kind, or an .xlsm made macro-free.
ALLOWED_COPIES = {".xlsx": (".xlsx",), ".xlsm": (".xlsm", ".xlsx")}
_ANCHORS = frozenset({"twoCellAnchor", "oneCellAnchor", "absoluteAnchor"})

#: The longest text a cell holds; Excel declares a file with a longer one corrupt.
MAX_TEXT_LENGTH = 32_767
#: Integers from here on lose digits as Excel numbers (15 significant digits) and go in as text.
LARGEST_EXACT_INTEGER = 10**15
#: Number formats given to a date written into a cell that has no date format.
DATE_FORMAT_ID = 14  # m/d/yyyy, shown in the reader's locale
DATETIME_FORMAT_ID = 22  # m/d/yyyy h:mm
TIME_FORMAT_ID = 21  # h:mm:ss

#: The error values a cell may hold in a file (``t="e"``).
_CELL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA"})
# After sheets, functionGroups, externalReferences and definedNames; before these.
_AFTER_CALC_PR = frozenset({
    "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
    "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst",
})


@dataclass
class WriteReport:
    """What :func:`write_values_copy` did.

    ``written`` lists ``(sheet, anchor, range)`` for each table written, e.g.
    ``("Dashboard", "B3", "B3:O13")``; ``conflicts`` has one message per table left out;
    ``warnings`` notes values changed to fit a cell (text cut at 32,767 characters);
    ``not_computed`` names each other formula whose cached value could not be computed;
    ``removed`` says what the copy left out (buttons that ran macros, the VBA project).
    """

    written: list[tuple[str, str, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_computed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class _Table:
    sheet: str
    cell: str
    row: int
    column: int
    values: list[list[object]]
    n_rows: int
    n_columns: int

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.cell}"

    @property
    def last_row(self) -> int:
        return self.row + max(self.n_rows, 1) - 1

    @property
    def last_column(self) -> int:
        return self.column + max(self.n_columns, 1) - 1

    @property
    def range(self) -> str:
        return range_text(self.row, self.column, self.last_row, self.last_column)

    def cells(self):
        for r in range(self.row, self.last_row + 1):
            for c in range(self.column, self.last_column + 1):
                yield r, c


def write_values_copy(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    tables: Mapping[tuple[str, str], Sequence[Sequence[object]]],
    rewrite_spill_refs: SpillRewriter | None = None,
    *,
    partial: bool = True,
    before_replace: Callable[[], None] | None = None,
    book: WorkbookFile | None = None,
) -> WriteReport:
    """Copy ``src`` to ``dst`` with each FM_ formula replaced by its table as plain values.

    Parameters
    ----------
    src, dst
        The workbook to copy (never modified) and where to write the copy; they must differ.
        ``dst`` appears only when the whole copy succeeded. An ``.xlsm`` may be copied to an
        ``.xlsx``, which is then macro-free; otherwise the copy keeps the extension.
    tables
        ``{(sheet, anchor): rows}``: the rows (rectangular, values str, int, float, bool, None,
        date, time or datetime) written from the anchor cell right and down. An empty table
        leaves the anchor empty.
    rewrite_spill_refs
        When given, spill references to a written table (``B3#``, stored as
        ``_xlfn.ANCHORARRAY(B3)``) in any formula, conditional format, data validation or
        defined name become its fixed range.
    partial
        Whether to write the copy when some tables conflict; False writes nothing then.
    before_replace
        Run once the copy is complete, before it replaces ``dst`` (a check that the source did
        not change meanwhile); when it raises, nothing is written.
    book
        ``src`` already opened (its sheets surveyed, its parts verified): it is read once only.

    Returns
    -------
    WriteReport
        The tables written and, for each one that would overwrite filled cells, a conflict
        message; such a table is not written and its formula stays. The formulas whose values
        could not be computed, and what the copy left out.

    Other formulas reading a written cell get their new cached values; the copy also asks
    Excel to recalculate everything when it is opened for editing.
    """
    src, dst = Path(src), Path(dst)
    macro_free = check_copy_path(src, dst)
    if book is None:
        with WorkbookFile.open(src) as opened:
            return write_values_copy(src, dst, tables, rewrite_spill_refs, partial=partial,
                                     before_replace=before_replace, book=opened)
    report = WriteReport()
    try:
        replaced, removed, editors = _edit(book, tables, rewrite_spill_refs, partial, macro_free, report)
    except etree.XMLSyntaxError as error:
        raise WorkbookError(f"{src}: a part is not well-formed XML ({error})") from None
    if replaced is None:
        return report
    parts: dict[str, bytes | Iterable[bytes]] = dict(replaced)
    for sheet, editor in editors.items():
        if editor.changed:
            parts[book.sheet_part(sheet)] = editor.chunks()
    write_package(src, dst, parts, removed, before_replace, book.package)
    return report


def _edit(book: WorkbookFile, tables, rewrite_spill_refs: SpillRewriter | None, partial: bool,
          macro_free: bool, report: WriteReport) -> tuple[dict[str, bytes] | None, set[str], dict[str, SheetEditor]]:
    placement = _place_tables(book, _plan(book, tables), report)
    if report.conflicts and not partial:
        return None, set(), {}
    for editor, table, old_spill in placement.placed:
        if old_spill:
            editor.prepare(min(r for r, _ in old_spill), max(r for r, _ in old_spill))
            editor.clear(sorted(old_spill - set(table.cells())))
    styles = _Styles(book)
    for editor, table, _ in placement.placed:
        _write_table(editor, table, styles, book.date1904, report.warnings)
        report.written.append((table.sheet, table.cell, table.range))
    formulas_changed = bool(placement.placed)
    if placement.accepted and rewrite_spill_refs is not None:
        formulas_changed |= _rewrite_sheets(book, placement, rewrite_spill_refs)
    report.not_computed = _recalculate(book, placement, styles)
    replaced, removed = _changed_parts(book, placement, styles, formulas_changed, rewrite_spill_refs)
    report.removed.extend(_remove_macro_buttons(book, replaced))
    if macro_free:
        report.removed.extend(_remove_vba(book, replaced, removed))
    return replaced, removed, placement.editors


@dataclass
class _Placement:
    """Where the tables go: the sheets being edited, each accepted table's range."""

    editors: dict[str, SheetEditor] = field(default_factory=dict)
    #: ``(sheet casefolded, anchor) -> range`` of each table that will be written.
    accepted: dict[tuple[str, str], str] = field(default_factory=dict)
    #: ``(editor, table, cells of the anchor's previous spill)`` in writing order.
    placed: list[tuple[SheetEditor, _Table, set]] = field(default_factory=list)


def _place_tables(book: WorkbookFile, plan: dict[str, list[_Table]], report: WriteReport) -> _Placement:
    """Check each table against its sheet's cells; a conflict goes to ``report`` instead."""
    placement = _Placement()
    for sheet in book.worksheet_names:
        if sheet not in plan:
            continue
        editor = placement.editors[sheet] = _open_editor(book, sheet)
        occupied: list[tuple[int, int, int, int]] = []
        for table in sorted(plan[sheet], key=lambda t: (t.row, t.column)):
            conflict, old_spill = _check(editor, table, occupied)
            if conflict:
                report.conflicts.append(conflict)
                continue
            occupied.append((table.row, table.column, table.last_row, table.last_column))
            placement.placed.append((editor, table, old_spill))
            placement.accepted[(sheet.casefold(), table.cell)] = table.range
    return placement


def _rewrite_sheets(book: WorkbookFile, placement: _Placement, rewrite: SpillRewriter) -> bool:
    """Rewrite spill references in every sheet that may hold one; whether any changed."""
    changed = False
    for sheet in book.worksheet_names:
        editor = placement.editors.get(sheet)
        if editor is None:
            if not book.survey(sheet).may_refer_to_spills:
                continue  # no formula of the sheet holds a spill reference: it is not even parsed
            editor = _open_editor(book, sheet)
        if editor.replace_spill_refs(rewrite, _spill_mapping(placement.accepted, sheet)):
            placement.editors[sheet] = editor
            changed = True
    return changed


def _changed_parts(book: WorkbookFile, placement: _Placement, styles: _Styles, formulas_changed: bool,
                   rewrite_spill_refs: SpillRewriter | None) -> tuple[dict[str, bytes], set[str]]:
    """The parts of the copy that differ from the source's, and the parts it drops (the edited
    sheets are written as they are compressed: :func:`write_values_copy` adds them)."""
    replaced: dict[str, bytes] = {}
    for editor in placement.editors.values():
        if editor.changed:
            editor.finish()
    removed: set[str] = set()
    workbook_xml = book.package.read(book.workbook_part)
    replaced[book.workbook_part] = _edit_workbook(book, workbook_xml, placement.accepted, rewrite_spill_refs)
    calc_chain = _calc_chain_part(book) if formulas_changed else None
    if calc_chain is not None:
        removed.add(calc_chain)
        _forget_calc_chain(book, calc_chain, replaced)
    if styles.changed and book.styles_part:
        replaced[book.styles_part] = styles.tobytes()
    return replaced, removed


def _open_editor(book: WorkbookFile, sheet: str) -> SheetEditor:
    return SheetEditor(book.package.read(book.sheet_part(sheet)), _where(book, sheet))


def _where(book: WorkbookFile, sheet: str) -> str:
    return f"{book.path}: the sheet {sheet}"


def _recalculate(book: WorkbookFile, placement: _Placement, styles: _Styles) -> list[str]:
    """New cached values for the formulas that read a changed cell; what could not be computed."""
    changed = {sheet: editor.touched_cells for sheet, editor in placement.editors.items() if editor.touched_cells}
    if not changed:
        return []
    mentions = list(changed) + [name.name for name in book.defined_names]
    for sheet in book.worksheet_names:
        if sheet in placement.editors:
            continue
        survey = book.survey(sheet)
        if not survey.may_have_formulas:
            continue  # no formula: nothing to compute, and the sheet is never parsed
        if survey.may_have_uncached_formulas or any(survey.mentions(mention) for mention in mentions):
            placement.editors[sheet] = _open_editor(book, sheet)

    def write(formula, rows) -> None:
        editor = placement.editors[formula.sheet]
        r1, c1, _, _ = formula.area
        for i, values in enumerate(rows):
            for j, value in enumerate(values):
                position = (r1 + i, c1 + j)
                content = _content(value, book.date1904)
                if content[0] == "date":
                    content = ("n", repr(content[1]))
                if position == formula.position:
                    editor.set_cached(position, content)
                else:
                    editor.set_value(position, content)

    return recalculate(book, placement.editors, changed, write, book.date1904)


def _remove_macro_buttons(book: WorkbookFile, replaced: dict[str, bytes]) -> list[str]:
    """Take out every drawing shape that runs a macro: in a values copy none can work."""
    removed = []
    for sheet in book.worksheet_names:
        part = book.sheet_part(sheet)
        for rel in book.package.relationships(part).values():
            drawing = book.package.part(rel.target) if rel.kind == "drawing" and not rel.external else None
            if drawing is None:
                continue
            data = book.package.read(drawing)
            if b"macro=" not in data:
                continue
            root = parse_xml(data)
            count = 0
            for element in [e for e in root.iter() if isinstance(e.tag, str) and e.get("macro")]:
                parent = element.getparent()
                target = parent if parent is not None and local_name(parent.tag) in _ANCHORS else element
                holder = target.getparent()
                if holder is not None:
                    holder.remove(target)
                    count += 1
            if count:
                replaced[drawing] = serialise(root, data)
                removed.append(f"{sheet}: {count} button{'s' if count > 1 else ''} that ran a macro")
    return removed


def _remove_vba(book: WorkbookFile, replaced: dict[str, bytes], removed: set[str]) -> list[str]:
    """Make the copy an .xlsx: no VBA project, its links and content types gone."""
    package = book.package
    vba_parts = [package.part(rel.target) for rel in package.relationships(book.workbook_part).values()
                 if rel.kind == "vbaProject" and not rel.external and package.part(rel.target)]
    gone: set[str] = set()
    for part in vba_parts:
        assert part is not None
        gone.add(part)
        rels = package.part(rels_part_of(part))
        if rels:  # the project's signatures
            gone.add(rels)
            gone.update(p for rel in package.relationships(part).values()
                        if not rel.external and (p := package.part(rel.target)))
    removed.update(gone)
    rels_part = rels_part_of(book.workbook_part)
    current = replaced.get(rels_part) or package.read(rels_part)
    replaced[rels_part] = without_relationships(current, book.workbook_part,
                                                lambda rel: rel.kind == "vbaProject" or rel.target in gone)
    types = replaced.get(CONTENT_TYPES_PART) or package.read(CONTENT_TYPES_PART)
    for part in gone:
        types = without_override(types, part)
    types = with_override(types, book.workbook_part, MACRO_FREE_WORKBOOK_TYPE)
    replaced[CONTENT_TYPES_PART] = _without_vba_default(types, [n for n in package.names if n not in gone])
    return ["the VBA project (an .xlsx holds no macros)"] if gone else []


def _without_vba_default(types: bytes, remaining: list[str]) -> bytes:
    """Drop the ``bin`` default that declares VBA; other .bin parts (printer settings) get theirs."""
    root = parse_xml(types)
    defaults = [e for e in root if local_name(e.tag) == "Default" and e.get("Extension", "").lower() == "bin"
                and e.get("ContentType") == VBA_PROJECT_TYPE]
    if not defaults:
        return types
    for element in defaults:
        root.remove(element)
    overridden = {e.get("PartName", "").lstrip("/").lower() for e in root if local_name(e.tag) == "Override"}
    for name in remaining:
        if name.lower().endswith(".bin") and name.lower() not in overridden:
            kind = ("application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings"
                    if "printersettings" in name.lower() else "application/octet-stream")
            etree.SubElement(root, f"{{{CONTENT_TYPES_NS}}}Override", PartName="/" + name, ContentType=kind)
    return serialise(root, types)


# ---------------------------------------------------------------------------------------------
# Planning


def check_copy_path(src: Path, dst: Path) -> bool:
    """Refuse a copy that would be its source, a folder, or of a kind Excel would not open.

    Returns whether the copy must be macro-free (an ``.xlsm`` copied to an ``.xlsx``). The same
    file by identity counts, whatever the spelling: a symlink, a hard link, ``./`` or ``..``.
    """
    same = src.resolve() == dst.resolve()
    if not same and dst.exists():
        try:
            same = os.path.samefile(src, dst)
        except OSError:
            same = False
    if same:
        raise WorkbookError(f"{dst}: the copy must not overwrite the workbook it is made from")
    if dst.is_dir():
        raise WorkbookError(f"{dst}: is a folder; give the path of the copy to write")
    source_kind, copy_kind = src.suffix.lower(), dst.suffix.lower()
    allowed = ALLOWED_COPIES.get(source_kind)
    if allowed is None:
        raise WorkbookError(f"{src}: a workbook must be .xlsx or .xlsm to be copied (got {src.suffix or 'none'})")
    if copy_kind not in allowed:
        # Excel refuses a workbook whose extension does not match its content type.
        raise WorkbookError(f"{dst}: the copy of {src.name} must be {' or '.join(allowed)}"
                            + (" (an .xlsm made macro-free)" if len(allowed) > 1 else ""))
    return source_kind == ".xlsm" and copy_kind == ".xlsx"


def _plan(book: WorkbookFile, tables) -> dict[str, list[_Table]]:
    plan: dict[str, list[_Table]] = {}
    seen = set()
    for (sheet, cell), rows in tables.items():
        try:
            sheet_name = book.sheet(sheet).name
        except KeyError:
            raise WorkbookError(f"{book.path}: no worksheet named {sheet!r}") from None
        try:
            row, column = split_cell(cell.strip())
        except ValueError:
            raise WorkbookError(f"{_address(sheet_name, cell)}: not a cell address") from None
        anchor = cell_name(row, column)
        if (sheet_name, anchor) in seen:
            raise WorkbookError(f"{_address(sheet_name, anchor)}: two tables for one cell")
        seen.add((sheet_name, anchor))
        values = []
        for values_row in rows:
            if isinstance(values_row, (str, bytes)):
                raise WorkbookError(
                    f"{_address(sheet_name, anchor)}: a table is a list of rows, got a row of text"
                )
            values.append(list(values_row))
        widths = {len(values_row) for values_row in values}
        if len(widths) > 1:
            raise WorkbookError(
                f"{_address(sheet_name, anchor)}: the table is not rectangular "
                f"(rows of {sorted(widths)} values)"
            )
        n_columns = widths.pop() if widths else 0
        n_rows = len(values) if n_columns else 0
        plan.setdefault(sheet_name, []).append(
            _Table(sheet_name, anchor, row, column, values, n_rows, n_columns)
        )
    return plan


def _spill_mapping(accepted: Mapping[tuple[str, str], str], sheet: str | None) -> SpillMapping:
    def mapping(ref_sheet: str | None, cell: str) -> str | None:
        target = ref_sheet if ref_sheet is not None else sheet
        if target is None:
            return None
        return accepted.get((target.casefold(), cell))

    return mapping


def _address(sheet: str, cell: str) -> str:
    return f"{sheet}!{cell}"


def _size(table: _Table) -> str:
    rows = f"{table.n_rows} row{'' if table.n_rows == 1 else 's'}"
    columns = f"{table.n_columns} column{'' if table.n_columns == 1 else 's'}"
    return f"{rows} x {columns}"


def _cell_list(cells: list[tuple[int, int]], limit: int = 10) -> str:
    names = [cell_name(r, c) for r, c in sorted(cells)[:limit]]
    more = len(cells) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


# ---------------------------------------------------------------------------------------------
# Worksheets


def _check(editor: SheetEditor, table: _Table, occupied: list[tuple[int, int, int, int]]) -> tuple[str | None, set]:
    """(conflict message or None, cells of the anchor's previous spill that may be cleared)."""
    where = table.where
    if table.last_row > MAX_ROW or table.last_column > MAX_COLUMN:
        return (f"{where}: the table ({_size(table)}) does not fit on the sheet from "
                f"{table.cell}; move the formula up or left"), set()
    anchor = editor.cell((table.row, table.column))
    formula = editor.child(anchor, "f") if anchor is not None else None
    formula_ref = formula.get("ref") if formula is not None else None
    old_spill: set[tuple[int, int]] = set()
    if formula is not None and formula_ref:
        try:
            r1, c1, r2, c2 = split_range(formula_ref)
        except ValueError:
            r1 = c1 = r2 = c2 = 0
        if formula.get("t") == "shared" and (r1, c1, r2, c2) != (table.row, table.column) * 2:
            return (f"{where}: the formula was filled over {formula_ref} as one shared "
                    f"formula; keep it in {table.cell} only and delete the copies"), set()
        if formula.get("t") == "array":
            old_spill = {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                         if (r, c) != (table.row, table.column)}
    return _overlap(editor, table, occupied, old_spill), old_spill


def _overlap(editor: SheetEditor, table: _Table, occupied: list[tuple[int, int, int, int]],
             old_spill: set) -> str | None:
    """Why the table may not go where it is asked: filled or merged cells in its way."""
    editor.prepare(table.row, table.last_row)
    first_column, last_column = table.column, table.last_column
    # The other tables' blocks that meet this one, once: tables side by side meet none, and
    # looking through all of them on every row made the check cost tables x tables x rows.
    meeting = [(r1, max(c1, first_column), r2, min(c2, last_column)) for r1, c1, r2, c2 in occupied
               if c1 <= last_column and first_column <= c2 and r1 <= table.last_row and table.row <= r2]
    filled: list[tuple[int, int]] = []
    for r in range(table.row, table.last_row + 1):
        row = editor.row(r)
        in_the_way = {c for r1, first, r2, last in meeting if r1 <= r <= r2 for c in range(first, last + 1)}
        if row is not None:
            in_the_way.update(c for c, cell in row.cells.items() if first_column <= c <= last_column
                              and _in_the_way(editor, cell, (r, c), table, old_spill))
        filled.extend((r, c) for c in sorted(in_the_way))
    merged = []
    for ref in editor.merged_ranges():
        try:
            r1, c1, r2, c2 = split_range(ref)
        except ValueError:
            continue
        if r1 <= table.last_row and table.row <= r2 and c1 <= table.last_column and table.column <= c2:
            merged.append(ref)
    if not filled and not merged:
        return None
    reasons = []
    if filled:
        reasons.append(f"would overwrite filled cells {_cell_list(filled)}")
    if merged:
        reasons.append(f"would overlap merged cells {', '.join(merged)}")
    advice = "clear or unmerge them, or move the formula" if merged else "clear them or move the formula"
    return f"{table.where}: the table ({_size(table)}, {table.range}) {' and '.join(reasons)}; {advice}"


def _in_the_way(editor: SheetEditor, c: etree._Element | None, position: tuple[int, int], table: _Table,
                old_spill: set) -> bool:
    """A cell the table would overwrite: filled, and neither its anchor nor its old spill's values."""
    if position == (table.row, table.column):
        return False
    if c is None or not editor.is_filled(c):
        return False
    return not (position in old_spill and editor.child(c, "f") is None)


def _write_table(editor: SheetEditor, table: _Table, styles: _Styles, date1904: bool, warnings: list[str]) -> None:
    """The table's values from its anchor on, the anchor's formula gone; each cell keeps its style."""
    anchor = (table.row, table.column)
    editor.drop_formula(anchor)
    if table.n_rows == 0:
        editor.clear([anchor])
        return
    editor.prepare(table.row, table.last_row)
    for i, values_row in enumerate(table.values):
        try:
            contents = [_content(value, date1904) for value in values_row]
        except TypeError:
            j, value = next((j, v) for j, v in enumerate(values_row) if _is_unwritable(v, date1904))
            raise WorkbookError(
                f"{_address(table.sheet, cell_name(table.row + i, table.column + j))}: cannot write a value of "
                f"type {type(value).__name__} ({value!r:.60})"
            ) from None
        for j, content in enumerate(contents):
            if content[0] == "s" and len(content[1]) > MAX_TEXT_LENGTH:
                warnings.append(
                    f"{_address(table.sheet, cell_name(table.row + i, table.column + j))}: text of "
                    f"{len(content[1])} characters cut to {MAX_TEXT_LENGTH}, the most a cell holds"
                )
                contents[j] = ("s", content[1][:MAX_TEXT_LENGTH])
        editor.write_row(table.row + i, table.column, contents, styles.with_date_format)
    editor.touched_cells.add_block(table.row, table.column, table.last_row, table.last_column)


def _is_unwritable(value: object, date1904: bool) -> bool:
    try:
        _content(value, date1904)
    except TypeError:
        return True
    return False


# ---------------------------------------------------------------------------------------------
# Values




def _content(value: object, date1904: bool) -> tuple:
    """How a Python value goes into a cell: ``("empty",)``, ``("s", text)``, ``("n", text)``,
    ``("b", "1")``, ``("e", "#NUM!")`` or ``("date", serial, number format id)``.

    NaN and NaT are empty cells, infinities ``#NUM!``, a :class:`CellError` an error value, and
    an integer Excel cannot hold exactly (16 digits or more) is written as its text.
    """
    kind = type(value)  # the plain types first: a table holds mostly these
    if kind is str:
        return ("s", value)
    if kind is float:
        if value != value:
            return ("empty",)
        if value in (math.inf, -math.inf):
            return ("e", "#NUM!")
        return ("n", repr(value))
    if kind is int:
        if -LARGEST_EXACT_INTEGER < value < LARGEST_EXACT_INTEGER:  # type: ignore[operator]
            return ("n", str(value))
        return ("s", str(value))
    if value is None:
        return ("empty",)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return ("b", "1" if value else "0")
    if isinstance(value, CellError) and value in _CELL_ERRORS:
        return ("e", str(value))
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        if value != value:  # pandas.NaT
            return ("empty",)
        return _date_serial(value, date1904)
    if isinstance(value, numbers.Integral):
        number = int(value)
        if abs(number) >= LARGEST_EXACT_INTEGER:
            return ("s", str(number))
        return ("n", str(number))
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        real = float(value)
        if math.isnan(real):
            return ("empty",)
        if math.isinf(real):
            return ("e", "#NUM!")
        return ("n", repr(real))
    raise TypeError(type(value).__name__)


def _date_serial(value: dt.date | dt.time, date1904: bool) -> tuple:
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return ("date", seconds / 86400, TIME_FORMAT_ID)
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
        format_id = DATE_FORMAT_ID if moment.time() == dt.time() else DATETIME_FORMAT_ID
    else:
        moment = dt.datetime(value.year, value.month, value.day)
        format_id = DATE_FORMAT_ID
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    delta = moment - base
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    if not date1904 and serial < 61:
        serial -= 1  # Excel's serials count a 29 February 1900 that never was
    if serial < (0 if date1904 else 1):
        return ("s", value.isoformat())  # before Excel's first date
    if serial == int(serial):
        serial = int(serial)
    return ("date", serial, format_id)


class _Styles:
    """``styles.xml``, parsed only when a date needs a cell format with a date number format."""

    def __init__(self, book: WorkbookFile):
        self.part = book.styles_part
        self.date_styles = set(book.date_styles)
        self._package = book.package
        self._root: etree._Element | None = None
        self._original = b""
        self._made: dict[tuple[int, int], int] = {}
        self.changed = False

    def with_date_format(self, style: int, format_id: int) -> int:
        """A cell format like ``style`` but showing dates, added to cellXfs when needed."""
        if style in self.date_styles or self.part is None:
            return style
        key = (style, format_id)
        if key in self._made:
            return self._made[key]
        if self._root is None:
            self._original = self._package.read(self.part)
            self._root = parse_xml(self._original)
        ns = namespace_of(self._root)
        xfs = self._root.find(f"{{{ns}}}cellXfs")
        if xfs is None:
            return style
        existing = [xf for xf in xfs if local_name(xf.tag) == "xf"]
        base = existing[style] if style < len(existing) else (existing[0] if existing else None)
        xf = etree.SubElement(xfs, f"{{{ns}}}xf")
        if base is not None:
            for name, value in base.attrib.items():
                xf.set(name, value)
            for child in base:
                xf.append(copy.deepcopy(child))
        xf.set("numFmtId", str(format_id))
        xf.set("applyNumberFormat", "1")
        xfs.set("count", str(len(existing) + 1))
        new_style = len(existing)
        self._made[key] = new_style
        self.date_styles.add(new_style)
        self.changed = True
        return new_style

    def tobytes(self) -> bytes:
        assert self._root is not None  # only a changed styles part is written
        return serialise(self._root, self._original)


# ---------------------------------------------------------------------------------------------
# Workbook-level parts


def _edit_workbook(book: WorkbookFile, data: bytes, accepted,
                   rewrite_spill_refs: SpillRewriter | None) -> bytes:
    root = parse_xml(data)
    ns = namespace_of(root)
    sheets_by_index = {info.index: info.name for info in book.sheets}
    names = root.find(f"{{{ns}}}definedNames")
    if accepted and names is not None and rewrite_spill_refs is not None:
        for element in names:
            if local_name(element.tag) != "definedName" or not element.text:
                continue
            scope = element.get("localSheetId")
            sheet = sheets_by_index.get(int(scope)) if scope is not None else None
            element.text = rewrite_spill_refs(element.text, _spill_mapping(accepted, sheet))
    calc = root.find(f"{{{ns}}}calcPr")
    if calc is None:
        calc = etree.SubElement(root, f"{{{ns}}}calcPr")
        position = len(root) - 1
        for i, child in enumerate(root):
            if child is not calc and local_name(child.tag) in _AFTER_CALC_PR:
                position = i
                break
        root.insert(position, calc)
    calc.set("fullCalcOnLoad", "1")
    return serialise(root, data)


def _calc_chain_part(book: WorkbookFile) -> str | None:
    for rel in book.package.relationships(book.workbook_part).values():
        if rel.kind == "calcChain" and book.package.part(rel.target):
            return book.package.part(rel.target)
    return None


def _forget_calc_chain(book: WorkbookFile, part: str, replaced: dict[str, bytes]) -> None:
    """The content types and workbook relationships without their entries for the calc chain."""
    rels_part = rels_part_of(book.workbook_part)
    types = replaced.get(CONTENT_TYPES_PART) or book.package.read(CONTENT_TYPES_PART)
    rels = replaced.get(rels_part) or book.package.read(rels_part)
    replaced[CONTENT_TYPES_PART] = without_override(types, part)
    replaced[rels_part] = without_relationships(rels, book.workbook_part, lambda rel: rel.kind == "calcChain")
