"""The part of Excel's formula language the template and the tests use, parsed to a small tree.

Literals (numbers, "text" with "" escapes, TRUE/FALSE), references (A1, $A$1, A1:B2, Sheet!A1,
'My sheet'!A1), spill references (A1#, https://support.microsoft.com/office/
dynamic-array-formulas-and-spilled-array-behavior-205c6b06-03ba-4151-89a1-87a7eb36e531 "spilled
range operator"), defined names, function calls with empty arguments, comparisons, & and the
four arithmetic operators. Anything else raises NotImplementedError naming it: the model does
not guess what Excel would make of a formula it cannot read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Functions the model evaluates itself (Excel's own); UDFs are looked up in the registry.
BUILTINS = ("IF", "SUM", "ROWS", "COUNTA", "IFERROR", "N", "LARGE", "MATCH", "INDEX", "COUNTIF")

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"]|"")*")
  | (?P<sheetref>(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?\#?)
  | (?P<ref>\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?\#?(?![\w(]))
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<name>[A-Za-z_\\][\w.]*)
  | (?P<op><>|<=|>=|[-+*/&=<>(),])
""", re.VERBOSE)

_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)$")
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384


def column_number(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def parse_cell(text: str) -> tuple[int, int]:
    match = _CELL.match(text)
    if not match:
        raise ValueError(f"excel model: not a cell address: {text!r}")
    row, column = int(match[2]), column_number(match[1])
    if not (1 <= row <= MAX_ROW and 1 <= column <= MAX_COLUMN):
        raise ValueError(f"excel model: outside the sheet: {text!r}")
    return row, column


def parse_area(text: str) -> tuple[int, int, int, int]:
    """``"B3:O13"`` or ``"B3"`` -> (first row, first column, last row, last column)."""
    first, _, last = text.partition(":")
    r1, c1 = parse_cell(first)
    r2, c2 = parse_cell(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def split_sheet(text: str) -> tuple[str | None, str]:
    """``"'My sheet'!A1"`` -> ("My sheet", "A1")."""
    if "!" not in text:
        return None, text
    sheet, _, ref = text.rpartition("!")
    if sheet.startswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, ref


# -- the tree ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    value: object


@dataclass(frozen=True)
class Reference:
    sheet: str | None
    area: tuple[int, int, int, int]
    spill: bool = False


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Missing:
    """An empty argument: ``F(a,,b)``."""


@dataclass(frozen=True)
class Call:
    function: str  # upper case
    args: tuple


@dataclass(frozen=True)
class Operation:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Negate:
    operand: object


_PRECEDENCE = {"=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1, "&": 2, "+": 3, "-": 3, "*": 4, "/": 4}


def parse(text: str, known_functions) -> object:
    """The tree of a formula (with its leading ``=``); raises NotImplementedError for the unknown."""
    if not text.startswith("="):
        raise ValueError(f"excel model: a formula starts with '=': {text!r}")
    tokens = _tokens(text[1:])
    parser = _Parser(tokens, {f.upper() for f in known_functions} | set(BUILTINS), text)
    tree = parser.expression(0)
    if parser.position != len(tokens):
        raise NotImplementedError(f"excel model: cannot read the formula {text!r} past {tokens[parser.position]!r}")
    return tree


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise NotImplementedError(f"excel model: cannot read formula text {text[position:]!r}")
        position = match.end()
        if match.lastgroup != "ws":
            tokens.append((match.lastgroup, match.group()))
    return tokens


class _Parser:
    def __init__(self, tokens, functions, text):
        self.tokens, self.functions, self.text, self.position = tokens, functions, text, 0

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.position += 1
        return token

    def expression(self, level: int):
        left = self.unary()
        while True:
            kind, text = self.peek()
            if kind != "op" or text not in _PRECEDENCE or _PRECEDENCE[text] <= level:
                return left
            self.take()
            left = Operation(text, left, self.expression(_PRECEDENCE[text]))

    def unary(self):
        kind, text = self.peek()
        if (kind, text) == ("op", "-"):
            self.take()
            return Negate(self.unary())
        return self.primary()

    def primary(self):
        kind, text = self.take()
        if kind == "number":
            return Literal(float(text))
        if kind == "string":
            return Literal(text[1:-1].replace('""', '"'))
        if kind in ("ref", "sheetref"):
            spill = text.endswith("#")
            sheet, ref = split_sheet(text.rstrip("#"))
            return Reference(sheet, parse_area(ref), spill)
        if kind == "name":
            upper = text.upper()
            if upper in ("TRUE", "FALSE") and self.peek() != ("op", "("):
                return Literal(upper == "TRUE")
            if self.peek() == ("op", "("):
                if upper.startswith("_XLUDF."):
                    upper = upper[len("_XLUDF."):]
                if upper not in self.functions:
                    raise NotImplementedError(f"excel model: the function {text} is not modelled "
                                              f"(in {self.text!r})")
                self.take()
                return Call(upper, self.arguments())
            return Name(text)
        if (kind, text) == ("op", "("):
            inner = self.expression(0)
            if self.take() != ("op", ")"):
                raise NotImplementedError(f"excel model: unbalanced parentheses in {self.text!r}")
            return inner
        raise NotImplementedError(f"excel model: cannot read {text!r} in {self.text!r}")

    def arguments(self) -> tuple:
        args = []
        if self.peek() == ("op", ")"):
            self.take()
            return ()
        while True:
            if self.peek() in (("op", ","), ("op", ")")):
                args.append(Missing())
            else:
                args.append(self.expression(0))
            kind, text = self.take()
            if text == ")":
                return tuple(args)
            if text != ",":
                raise NotImplementedError(f"excel model: expected , or ) in {self.text!r}, got {text!r}")


def functions_called(tree) -> set[str]:
    if isinstance(tree, Call):
        return {tree.function}.union(*(functions_called(a) for a in tree.args))
    if isinstance(tree, Operation):
        return functions_called(tree.left) | functions_called(tree.right)
    if isinstance(tree, Negate):
        return functions_called(tree.operand)
    return set()
