"""The Python side of FastMossDashboard.xlsm; keep it in the workbook's folder.

The workbook's "Refresh FastMoss data" buttons run the VBA macro ``SampleCall``, which runs
``import FastMossDashboard; FastMossDashboard.main()`` (the module named like the workbook), as
does xlwings' "Run main" ribbon button. Both then refresh every FM_ table of the workbook.
"""

import xl_fastmoss.macros


def main():
    """Refresh every FastMoss table of the calling workbook and stamp FM_LastRefresh."""
    xl_fastmoss.macros.main()


if __name__ == "__main__":
    # Run from an editor with the workbook open in Excel (Windows or macOS).
    import xlwings as xw

    xw.Book("FastMossDashboard.xlsm").set_mock_caller()
    main()
