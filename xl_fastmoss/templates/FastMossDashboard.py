"""The Python side of FastMossDashboard.xlsm; keep it in the workbook's folder.

The workbook's "Refresh FastMoss data" buttons run the VBA macro ``SampleCall``, which runs
``import FastMossDashboard; FastMossDashboard.main()`` (the module named like the workbook), as
does xlwings' "Run main" ribbon button. Both refresh every FM_ table of the workbook.

A button or a ribbon of your own can refresh less: a VBA Sub such as ::

    Sub RefreshThisSheet()
        RunPython "import FastMossDashboard; FastMossDashboard.refresh_active_sheet()"
    End Sub

runs :func:`refresh_active_sheet`; :func:`refresh_selection` refreshes the tables the selected
cells touch.
"""

import xl_fastmoss.macros


def main():
    """Refresh every FastMoss table of the calling workbook and stamp FM_LastRefresh."""
    xl_fastmoss.macros.main()


def refresh_active_sheet():
    """Refresh the FastMoss tables of the calling workbook's active sheet."""
    xl_fastmoss.macros.main_active_sheet()


def refresh_selection():
    """Refresh the FastMoss tables that the selected cells touch."""
    xl_fastmoss.macros.main_selection()


if __name__ == "__main__":
    # Run from an editor with the workbook open in Excel (Windows or macOS).
    import xlwings as xw

    xw.Book("FastMossDashboard.xlsm").set_mock_caller()
    main()
