"""Excel formula text: find FM_ calls, read their arguments, rewrite spill references.

Pure functions over strings, no file I/O. A small tokenizer respects string literals
(``""`` escapes), quoted sheet names (``''`` escapes), structured references and error
literals, so ``="FM_MOSTPROMOTED("`` is text, not a call.

Formulas are read as a workbook file stores them (no leading ``=``, comma separators), but a
leading ``=`` is accepted too. Excel stores a spill reference ``B3#`` as
``_xlfn.ANCHORARRAY(B3)``; both spellings are recognised.

Hand-written because the libraries at hand cannot do this job: openpyxl's formula tokenizer
(``openpyxl.formula.Tokenizer``) refuses a spill reference such as ``B3#`` and the error
literal ``#SPILL!``, and its tokens keep no positions in the text, which rewriting a reference
in place needs (checked with openpyxl 3.1.5: ``TokenizerError: Unexpected character`` for
``=SUM(B3#)``, ``Invalid error code`` for ``#SPILL!``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

from ..workbook.addresses import R1C1_LIKE, absolute_cell, is_cell_ref

__all__ = [
    "FM_FUNCTIONS",
    "Literal",
    "CellRef",
    "NameRef",
    "Missing",
    "Unsupported",
    "Argument",
    "FmCall",
    "FormulaScan",
    "SpillRef",
    "parse_formula",
    "parse_argument",
    "find_spill_refs",
    "replace_spill_refs",
]

FM_FUNCTIONS = ("FM_MOSTPROMOTED", "FM_TOPSELLING", "FM_FULLYMANAGED", "FM_HISTORY")

# Excel prefixes a function it does not know at save time (an add-in's UDF) with _xludf.
_UDF_PREFIX = "_XLUDF."


# ---------------------------------------------------------------------------------------------
# Arguments of an FM_ call


@dataclass(frozen=True)
class Literal:
    """A constant typed into the formula: text, a number or TRUE/FALSE."""

    value: str | int | float | bool


@dataclass(frozen=True)
class CellRef:
    """A cell or a range, as written (``$B$2``, ``B2:C3``); ``sheet`` is None when unqualified."""

    sheet: str | None
    ref: str


@dataclass(frozen=True)
class NameRef:
    """A defined name; ``sheet`` is set only for the qualified form ``Sheet1!MyName``."""

    name: str
    sheet: str | None = None


@dataclass(frozen=True)
class Missing:
    """An empty argument, as the second one of ``FM_X("US",,"day")``."""


@dataclass(frozen=True)
class Unsupported:
    """Anything else: a nested call, arithmetic, an array constant; its text, for messages."""

    text: str


Argument = Union[Literal, CellRef, NameRef, Missing, Unsupported]


@dataclass(frozen=True)
class FmCall:
    """One FM_ call: ``function`` is upper case without the ``_xludf.`` prefix."""

    function: str
    args: tuple[Argument, ...]


@dataclass(frozen=True)
class FormulaScan:
    """What :func:`parse_formula` found.

    ``call`` is set when the formula is exactly one FM_ call. ``nested`` is True when an FM_
    call is part of a larger expression (then ``call`` is None). ``functions`` lists every FM_
    function the formula calls, in order. A scan of a formula without FM_ calls is falsy.
    """

    call: FmCall | None = None
    nested: bool = False
    functions: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.functions)


@dataclass(frozen=True)
class SpillRef:
    """A spill reference (``B3#`` or ``_xlfn.ANCHORARRAY(B3)``) found in a formula.

    ``cell`` is the anchor without ``$`` markers, upper case; ``start``/``end`` delimit the
    whole reference, sheet prefix included, in the text searched; ``prefix`` is the sheet
    prefix as written (``'My Sheet'!`` or empty); ``absolute`` is True for ``$B$3``.
    """

    sheet: str | None
    cell: str
    start: int
    end: int
    prefix: str
    absolute: bool


# ---------------------------------------------------------------------------------------------
# Tokenizer


@dataclass(frozen=True)
class _Token:
    kind: str  # string quoted bracket space error hash number word ( ) , ! : { } op
    text: str
    start: int
    end: int


_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[\w.$\\?]+")
_ERROR = re.compile(
    r"#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!|BLOCKED!"
    r"|CONNECT!|BUSY!|UNKNOWN!|PYTHON!|EXTERNAL!)",
    re.IGNORECASE,
)
_LOOSE_ERROR = re.compile(r"#[A-Za-z0-9_/]*[!?]?")
_SINGLE = {"(": "(", ")": ")", ",": ",", "!": "!", ":": ":", "{": "{", "}": "}"}


def _quoted_end(text: str, start: int, quote: str) -> int:
    """Index after the closing quote of a literal opened at ``start`` (doubled quotes escape)."""
    i = start + 1
    while True:
        j = text.find(quote, i)
        if j < 0:
            return len(text)
        if j + 1 < len(text) and text[j + 1] == quote:
            i = j + 2
            continue
        return j + 1


def _bracket_end(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "[":
            depth += 1
        elif text[i] == "]":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            end, kind = _quoted_end(text, i, '"'), "string"
        elif char == "'":
            end, kind = _quoted_end(text, i, "'"), "quoted"
        elif char == "[":
            end, kind = _bracket_end(text, i), "bracket"
        elif char.isspace():
            end = i + 1
            while end < n and text[end].isspace():
                end += 1
            kind = "space"
        elif char == "#":
            previous = tokens[-1] if tokens else None
            if previous is not None and previous.end == i and previous.kind == "word":
                end, kind = i + 1, "hash"
            else:
                error = _ERROR.match(text, i) or _LOOSE_ERROR.match(text, i)
                end, kind = (error.end() if error else i + 1), "error"
        elif number := _NUMBER.match(text, i):
            end, kind = number.end(), "number"
        elif char in _SINGLE:
            end, kind = i + 1, _SINGLE[char]
        elif word := _WORD.match(text, i):
            end, kind = word.end(), "word"
        else:
            end, kind = i + 1, "op"
        tokens.append(_Token(kind, text[i:end], i, end))
        i = end
    return tokens


def _unquote(token: _Token) -> str:
    quote = token.text[0]
    closed = len(token.text) > 1 and token.text.endswith(quote)
    inner = token.text[1:-1] if closed else token.text[1:]
    return inner.replace(quote * 2, quote)


def _fm_function(token: _Token) -> str | None:
    if token.kind != "word":
        return None
    name = token.text.upper()
    if name.startswith(_UDF_PREFIX):
        name = name[len(_UDF_PREFIX):]
    return name if name in FM_FUNCTIONS else None


def _next_significant(tokens: list[_Token], index: int) -> int | None:
    for j in range(index + 1, len(tokens)):
        if tokens[j].kind != "space":
            return j
    return None


def _matching_paren(tokens: list[_Token], open_index: int) -> int | None:
    depth = 0
    for j in range(open_index, len(tokens)):
        if tokens[j].kind == "(":
            depth += 1
        elif tokens[j].kind == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


# ---------------------------------------------------------------------------------------------
# FM_ calls


def parse_formula(text: str) -> FormulaScan:
    """Find the FM_ call in a formula.

    Returns a :class:`FormulaScan` whose ``call`` is set when the whole formula is one FM_
    call (``=FM_MOSTPROMOTED("US", B2)``), whose ``nested`` is True when an FM_ call sits inside
    another expression, and which is falsy when the formula calls no FM_ function.
    """
    tokens = _tokenize(text)
    calls = []
    for i, token in enumerate(tokens):
        function = _fm_function(token)
        if function is None:
            continue
        after = _next_significant(tokens, i)
        if after is not None and tokens[after].kind == "(":
            calls.append((i, function, after))
    if not calls:
        return FormulaScan()
    functions = tuple(function for _, function, _ in calls)

    significant = [i for i, token in enumerate(tokens) if token.kind != "space"]
    if significant and tokens[significant[0]].kind == "op" and tokens[significant[0]].text == "=":
        significant = significant[1:]
    first, function, open_index = calls[0]
    close_index = _matching_paren(tokens, open_index)
    alone = (
        len(calls) == 1
        and significant
        and significant[0] == first
        and close_index is not None
        and close_index == significant[-1]
    )
    if not alone:
        return FormulaScan(None, True, functions)
    parts = _split_arguments(tokens[open_index + 1:close_index])
    args = tuple(_argument(text, part) for part in parts)
    return FormulaScan(FmCall(function, args), False, functions)


def parse_argument(text: str) -> Argument:
    """One argument on its own, e.g. what a defined name refers to (``Inputs!$A$1``, ``"US"``)."""
    text = text.strip()
    if text.startswith("="):
        text = text[1:]
    tokens = _tokenize(text)
    parts = _split_arguments(tokens)
    if len(parts) > 1:
        return Unsupported(text)
    return _argument(text, parts[0] if parts else [])


def _split_arguments(tokens: list[_Token]) -> list[list[_Token]]:
    if not any(token.kind != "space" for token in tokens):
        return []  # FM_X() has no arguments, not one missing argument
    parts: list[list[_Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind in ("(", "{"):
            depth += 1
        elif token.kind in (")", "}"):
            depth -= 1
        elif token.kind == "," and depth == 0:
            parts.append([])
            continue
        parts[-1].append(token)
    return parts


def _argument(text: str, tokens: list[_Token]) -> Argument:
    tokens = list(tokens)
    while tokens and tokens[0].kind == "space":
        tokens.pop(0)
    while tokens and tokens[-1].kind == "space":
        tokens.pop()
    if not tokens:
        return Missing()
    source = text[tokens[0].start:tokens[-1].end]
    kinds = [token.kind for token in tokens]

    if kinds == ["string"]:
        return Literal(_unquote(tokens[0]))
    if kinds[-1] == "number" and all(t.kind == "op" and t.text in "+-" for t in tokens[:-1]):
        sign = -1 if sum(t.text == "-" for t in tokens[:-1]) % 2 else 1
        number = tokens[-1].text
        value = int(number) if number.isdigit() else float(number)
        return Literal(sign * value)
    if kinds == ["word"] and tokens[0].text.upper() in ("TRUE", "FALSE"):
        return Literal(tokens[0].text.upper() == "TRUE")

    sheet, rest = _sheet_prefix(tokens)
    if rest is None:
        return Unsupported(source)
    rest_kinds = [token.kind for token in rest]
    if rest_kinds == ["word"] and is_cell_ref(rest[0].text):
        return CellRef(sheet, rest[0].text.upper())
    if (
        rest_kinds == ["word", ":", "word"]
        and is_cell_ref(rest[0].text)
        and is_cell_ref(rest[2].text)
    ):
        return CellRef(sheet, f"{rest[0].text}:{rest[2].text}".upper())
    if rest_kinds == ["word"] and _is_name(rest[0].text):
        return NameRef(rest[0].text, sheet)
    return Unsupported(source)


def _sheet_prefix(tokens: list[_Token]) -> tuple[str | None, list[_Token] | None]:
    """Split ``Sheet1!`` or ``'My Sheet'!`` off the front; (None, tokens) when unqualified."""
    if len(tokens) >= 2 and tokens[1].kind == "!":
        if tokens[0].kind == "quoted":
            return _unquote(tokens[0]), tokens[2:]
        if tokens[0].kind == "word":
            return tokens[0].text, tokens[2:]
        return None, None
    if any(token.kind == "!" for token in tokens):
        return None, None
    return None, tokens


_NAME = re.compile(r"^[A-Za-z_\\\u00A1-\uFFFF][\w.?\\]*$")


def _is_name(text: str) -> bool:
    return (
        bool(_NAME.match(text))
        and not is_cell_ref(text)
        and not R1C1_LIKE.match(text)
        and text.upper() not in ("TRUE", "FALSE")
    )


# ---------------------------------------------------------------------------------------------
# Spill references


def find_spill_refs(formula: str) -> list[SpillRef]:
    """Every spill reference in ``formula`` outside string literals, in order.

    Recognises ``B3#``, ``Sheet1!$B$3#``, ``'My Sheet'!B3#`` and the stored form
    ``_xlfn.ANCHORARRAY(B3)``.
    """
    tokens = _tokenize(formula)
    found: list[SpillRef] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "word" and token.text.upper() in ("_XLFN.ANCHORARRAY", "ANCHORARRAY"):
            anchored = _anchorarray(formula, tokens, i)
            if anchored is not None:
                found.append(anchored[0])
                i = anchored[1] + 1
                continue
        if token.kind == "hash":
            spill = _hash_spill(formula, tokens, i)
            if spill is not None:
                found.append(spill)
        i += 1
    return found


def _hash_spill(formula: str, tokens: list[_Token], index: int) -> SpillRef | None:
    """The spill reference ending with the ``#`` at ``tokens[index]``, if a cell precedes it."""
    cell_token = tokens[index - 1] if index >= 1 else None
    if cell_token is None or cell_token.kind != "word" or not is_cell_ref(cell_token.text):
        return None
    start, sheet, prefix = cell_token.start, None, ""
    qualified = index >= 3 and tokens[index - 2].kind == "!"
    if qualified and tokens[index - 3].kind in ("word", "quoted"):
        sheet_token = tokens[index - 3]
        before = tokens[index - 4] if index >= 4 else None
        if before is not None and before.kind == "bracket" and before.end == sheet_token.start:
            return None  # [1]Sheet1!B3#: a sheet of another workbook
        start = sheet_token.start
        sheet = _unquote(sheet_token) if sheet_token.kind == "quoted" else sheet_token.text
        prefix = formula[sheet_token.start:cell_token.start]
    return _spill(sheet, cell_token.text, start, tokens[index].end, prefix)


def _anchorarray(formula: str, tokens: list[_Token], index: int) -> tuple[SpillRef, int] | None:
    parts: list[int] = []
    j = index + 1
    while j < len(tokens) and len(parts) < 6:
        if tokens[j].kind != "space":
            parts.append(j)
            if tokens[j].kind == ")":
                break
        j += 1
    kinds = [tokens[k].kind for k in parts]
    if kinds[:1] != ["("] or kinds[-1:] != [")"]:
        return None
    inner = [tokens[k] for k in parts[1:-1]]
    if [t.kind for t in inner] == ["word"] and is_cell_ref(inner[0].text):
        sheet, prefix = None, ""
    elif (
        len(inner) == 3
        and inner[0].kind in ("word", "quoted")
        and inner[1].kind == "!"
        and inner[2].kind == "word"
        and is_cell_ref(inner[2].text)
        and inner[1].start == inner[0].end
        and inner[2].start == inner[1].end
    ):
        sheet = _unquote(inner[0]) if inner[0].kind == "quoted" else inner[0].text
        prefix = formula[inner[0].start:inner[2].start]
    else:
        return None
    start, end = tokens[index].start, tokens[parts[-1]].end
    return _spill(sheet, inner[-1].text, start, end, prefix), parts[-1]


def _spill(sheet: str | None, cell: str, start: int, end: int, prefix: str) -> SpillRef:
    absolute = cell.startswith("$") and "$" in cell[1:]
    return SpillRef(sheet, cell.replace("$", "").upper(), start, end, prefix, absolute)


def replace_spill_refs(
    formula: str, mapping: Callable[[str | None, str], str | None]
) -> str:
    """Replace spill references by fixed ranges.

    ``mapping(sheet, cell)`` gets the sheet as written (None when unqualified) and the anchor
    without ``$`` (``"B3"``); it returns the range text (``"B3:O13"``) or None to leave that
    reference alone. The sheet prefix is kept; a fully absolute anchor (``$B$3#``) gets an
    absolute range (``$B$3:$O$13``).
    """
    pieces = []
    last = 0
    for spill in find_spill_refs(formula):
        target = mapping(spill.sheet, spill.cell)
        if target is None:
            continue
        if spill.absolute:
            target = _absolute(target)
        pieces.append(formula[last:spill.start])
        pieces.append(spill.prefix + target)
        last = spill.end
    if not pieces:
        return formula
    pieces.append(formula[last:])
    return "".join(pieces)


def _absolute(range_: str) -> str:
    parts = range_.split(":")
    if not all(is_cell_ref(part) for part in parts):
        return range_
    return ":".join(absolute_cell(part) for part in parts)
