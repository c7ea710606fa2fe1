"""Workbook files on disk, part by part, without Excel: read saved values, write a values copy.

zipfile reads the package, lxml the parts that need parsing, and :mod:`.archive` writes the
copy, so everything a copy does not change (charts, drawings, images, VBA, styles, sheets of
data...) stays byte for byte what it was, compressed bytes included. Nothing here
knows the FastMoss functions; it is imported module by module (``workbook.reader``,
``workbook.writer``), so that its address helpers cost no XML library.
"""
