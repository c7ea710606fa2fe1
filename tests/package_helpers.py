"""Helpers for tests that build workbook packages by hand."""

import os
import zipfile


def rewrite_zip(path, changes):
    """Replace (bytes or a function of the old bytes), delete (None) or add parts of a zip."""
    with zipfile.ZipFile(path) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    temporary = path.with_name(path.name + ".part")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in items:
            change = changes.get(info.filename, data)
            if change is None:
                continue
            archive.writestr(info, change(data) if callable(change) else change)
        names = {info.filename for info, _ in items}
        for name, change in changes.items():
            if name not in names and change is not None:
                archive.writestr(name, change)
    os.replace(temporary, path)
