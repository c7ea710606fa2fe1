"""Workbook files on disk, part by part, without Excel: read saved values, write a values copy.

Only the standard library's zipfile and lxml touch the package, so everything a copy does not
change (charts, drawings, images, VBA, styles...) stays byte for byte what it was. Nothing here
knows the FastMoss functions; it is imported module by module (``workbook.reader``,
``workbook.writer``), so that its address helpers cost no XML library.
"""
