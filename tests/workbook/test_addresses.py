import pytest

from xl_fastmoss.workbook.addresses import (
    absolute_cell,
    cell_name,
    column_letters,
    column_number,
    is_cell_ref,
    quote_sheet,
    split_cell,
    split_range,
)


def test_cell_address_helpers():
    assert column_number("A") == 1 and column_number("xfd") == 16384
    assert column_letters(28) == "AB" and column_letters(16384) == "XFD"
    assert split_cell("$B$3") == (3, 2)
    assert cell_name(13, 15) == "O13"
    assert split_range("C5:B3") == (3, 2, 5, 3)
    assert split_range("B3") == (3, 2, 3, 2)
    assert is_cell_ref("XFD1048576") and not is_cell_ref("XFE1") and not is_cell_ref("A0")
    with pytest.raises(ValueError):
        split_cell("Region")
    assert quote_sheet("Data") == "Data"
    assert quote_sheet("My Sheet") == "'My Sheet'"
    assert quote_sheet("It's") == "'It''s'"
    assert quote_sheet("A1") == "'A1'"
    assert absolute_cell("b3") == "$B$3" and absolute_cell("$B3") == "$B$3"
