"""What an FM_ cell means: its formula text, its arguments, the table it shows, the refresh plan.

Shared by the Excel functions (:mod:`xl_fastmoss.udfs`), the refresh button
(:mod:`xl_fastmoss.macros`) and the headless refresh (:mod:`xl_fastmoss.headless`). Nothing here
imports xlwings or a workbook library.
"""
