import pytest

from xl_fastmoss.sheets.formulas import (
    FM_FUNCTIONS,
    CellRef,
    FmCall,
    FormulaScan,
    Literal,
    Missing,
    NameRef,
    SpillRef,
    Unsupported,
    find_spill_refs,
    parse_argument,
    parse_formula,
    replace_spill_refs,
)


def test_fm_functions_are_the_three_rankings_and_the_history():
    assert FM_FUNCTIONS == ("FM_MOSTPROMOTED", "FM_TOPSELLING", "FM_FULLYMANAGED", "FM_HISTORY")


def test_a_history_call_is_read_with_its_seller_id_as_text():
    scan = parse_formula('=FM_HISTORY("7494006325298104216","US",14,"day",-29,"latest","depth",200)')
    assert scan.call.function == "FM_HISTORY"
    assert scan.call.args[0] == Literal("7494006325298104216") and scan.call.args[4] == Literal(-29)


def test_a_lone_call_with_literal_arguments_is_read():
    scan = parse_formula('=FM_MOSTPROMOTED("US", 14, "day", "2026-04-01")')
    assert scan.call == FmCall(
        "FM_MOSTPROMOTED", (Literal("US"), Literal(14), Literal("day"), Literal("2026-04-01"))
    )
    assert not scan.nested
    assert scan.functions == ("FM_MOSTPROMOTED",)
    assert scan


def test_the_leading_equals_sign_is_optional_and_whitespace_is_ignored():
    assert parse_formula('FM_TOPSELLING("US")').call == FmCall("FM_TOPSELLING", (Literal("US"),))
    assert parse_formula('  =  FM_TOPSELLING( "US" )  ').call == FmCall("FM_TOPSELLING", (Literal("US"),))


@pytest.mark.parametrize(
    "text",
    ['=fm_fullymanaged("US")', '=Fm_FullyManaged("US")', '=_xludf.FM_FULLYMANAGED("US")',
     '_XLUDF.fm_fullymanaged("US")'],
)
def test_function_names_match_in_any_case_and_with_the_udf_prefix(text):
    assert parse_formula(text).call == FmCall("FM_FULLYMANAGED", (Literal("US"),))


def test_literals_are_text_numbers_and_booleans():
    scan = parse_formula('=FM_TOPSELLING("say ""hi""", -1, 2.5, 1e3, TRUE, false, +3, --4)')
    assert scan.call.args == (
        Literal('say "hi"'), Literal(-1), Literal(2.5), Literal(1000.0), Literal(True),
        Literal(False), Literal(3), Literal(4),
    )
    assert type(scan.call.args[1].value) is int
    assert type(scan.call.args[4].value) is bool


def test_empty_arguments_are_missing():
    scan = parse_formula('=FM_MOSTPROMOTED("US",,"day",)')
    assert scan.call.args == (Literal("US"), Missing(), Literal("day"), Missing())
    assert parse_formula("=FM_MOSTPROMOTED()").call.args == ()
    assert parse_formula("=FM_MOSTPROMOTED( , )").call.args == (Missing(), Missing())


def test_references_keep_their_sheet_and_text():
    scan = parse_formula(
        "=FM_TOPSELLING(A1, $B$2, b2:c3, 'Sheet Name'!A1, Sheet1!$B$2, 'It''s'!D4:E5, $C4)"
    )
    assert scan.call.args == (
        CellRef(None, "A1"),
        CellRef(None, "$B$2"),
        CellRef(None, "B2:C3"),
        CellRef("Sheet Name", "A1"),
        CellRef("Sheet1", "$B$2"),
        CellRef("It's", "D4:E5"),
        CellRef(None, "$C4"),
    )


def test_names_are_name_refs_and_not_cells():
    scan = parse_formula("=FM_TOPSELLING(Region, Inputs!Category, _period, ABCD1, XFE1)")
    assert scan.call.args == (
        NameRef("Region"), NameRef("Category", "Inputs"), NameRef("_period"), NameRef("ABCD1"),
        NameRef("XFE1"),
    )


@pytest.mark.parametrize(
    "argument",
    ["TODAY()", "1+2", "A1&B1", "A:A", "1:1", "{1,2}", "#N/A", "Sheet1:Sheet3!A1",
     "Table1[[#Headers],[Shop]]", "[1]Sheet1!A1", '"a"&"b"', "50%", "A1 B1", "-A1"],
)
def test_anything_else_is_unsupported_with_its_text(argument):
    scan = parse_formula(f'=FM_TOPSELLING("US", {argument}, "day")')
    assert scan.call.args[1] == Unsupported(argument)
    assert scan.call.args[2] == Literal("day")


def test_commas_inside_nested_calls_do_not_split_arguments():
    scan = parse_formula('=FM_TOPSELLING(IF(A1,"x,y",2), "US")')
    assert scan.call.args == (Unsupported('IF(A1,"x,y",2)'), Literal("US"))


@pytest.mark.parametrize(
    "text",
    ["=INDEX(FM_MOSTPROMOTED(\"US\"),1,1)", "=FM_MOSTPROMOTED(\"US\")+1", "=1+FM_TOPSELLING()",
     "=FM_MOSTPROMOTED(FM_TOPSELLING(\"US\"))", "=@FM_TOPSELLING(\"US\")",
     "=FM_TOPSELLING(\"US\") & FM_TOPSELLING(\"GB\")"],
)
def test_a_call_inside_another_expression_is_nested(text):
    scan = parse_formula(text)
    assert scan.nested
    assert scan.call is None
    assert scan


@pytest.mark.parametrize(
    "text",
    ['="FM_MOSTPROMOTED("', "=SUM(A1:B2)", "=FM_MOSTPROMOTED", '=CONCAT("FM_TOPSELLING(", A1, ")")',
     "=MY_FM_TOPSELLING(1)", ""],
)
def test_no_call_gives_an_empty_scan(text):
    scan = parse_formula(text)
    assert scan == FormulaScan()
    assert not scan
    assert scan.call is None and not scan.nested


def test_text_mentioning_a_function_beside_a_real_call_is_not_a_second_call():
    scan = parse_formula('=FM_TOPSELLING("FM_MOSTPROMOTED(", A1)')
    assert scan.call == FmCall("FM_TOPSELLING", (Literal("FM_MOSTPROMOTED("), CellRef(None, "A1")))


def test_parse_argument_reads_one_argument_alone():
    assert parse_argument("Inputs!$A$1") == CellRef("Inputs", "$A$1")
    assert parse_argument('="US"') == Literal("US")
    assert parse_argument("-2.5") == Literal(-2.5)
    assert parse_argument("#REF!") == Unsupported("#REF!")
    assert parse_argument("A1,B1") == Unsupported("A1,B1")
    assert parse_argument("") == Missing()


def test_spill_refs_are_found_with_sheet_and_span():
    formula = "=SUM(B3#)+'My Sheet'!$B$3#+Sheet1!C4#"
    refs = find_spill_refs(formula)
    assert [(r.sheet, r.cell, formula[r.start:r.end], r.prefix, r.absolute) for r in refs] == [
        (None, "B3", "B3#", "", False),
        ("My Sheet", "B3", "'My Sheet'!$B$3#", "'My Sheet'!", True),
        ("Sheet1", "C4", "Sheet1!C4#", "Sheet1!", False),
    ]
    assert all(isinstance(r, SpillRef) for r in refs)


def test_the_stored_anchorarray_form_is_a_spill_ref():
    formula = "SUM(_xlfn.ANCHORARRAY(Dashboard!$B$3))+ANCHORARRAY( b3 )"
    refs = find_spill_refs(formula)
    assert [(r.sheet, r.cell, formula[r.start:r.end]) for r in refs] == [
        ("Dashboard", "B3", "_xlfn.ANCHORARRAY(Dashboard!$B$3)"),
        (None, "B3", "ANCHORARRAY( b3 )"),
    ]


def test_spill_refs_inside_text_or_errors_are_ignored():
    assert find_spill_refs('="B3#"&"\'S\'!B3#"') == []
    assert find_spill_refs("=#REF!+#N/A+Region#") == []
    assert find_spill_refs("=_xlfn.ANCHORARRAY(B3:C4)") == []
    assert find_spill_refs("=SUM([1]Sheet1!B3#)+_xlfn.ANCHORARRAY([1]Sheet1!B3)") == []


def test_replace_spill_refs_keeps_the_sheet_prefix_and_text():
    ranges = {(None, "B3"): "B3:P13", ("My Sheet", "B3"): "B3:D5", ("Sheet1", "C4"): "C4:C9"}
    formula = "=SUM(B3#)+'My Sheet'!$B$3#+Sheet1!C4#+COUNTA(\"B3#\")+Z9#"
    replaced = replace_spill_refs(formula, lambda sheet, cell: ranges.get((sheet, cell)))
    assert replaced == "=SUM(B3:P13)+'My Sheet'!$B$3:$D$5+Sheet1!C4:C9+COUNTA(\"B3#\")+Z9#"


def test_replace_spill_refs_rewrites_anchorarray():
    replaced = replace_spill_refs(
        "SUM(_xlfn.ANCHORARRAY(Dashboard!B3))", lambda sheet, cell: "B3:O13"
    )
    assert replaced == "SUM(Dashboard!B3:O13)"


def test_replace_spill_refs_without_matches_returns_the_text_unchanged():
    formula = "=SUM(B3#)"
    assert replace_spill_refs(formula, lambda sheet, cell: None) is formula
