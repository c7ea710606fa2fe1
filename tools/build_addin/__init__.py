"""Build ``xl_fastmoss/addin/FastMoss.xlam``: the FastMoss ribbon on xlwings' ribbon add-in quickstart.

A development tool, not part of the wheel. From the repository root::

    python -m tools.build_addin                  # writes xl_fastmoss/addin/FastMoss.xlam
    python -m tools.build_addin --output-dir DIR

Steps, a module each:

1. :mod:`.quickstart`: ``xlwings quickstart FastMoss --addin --ribbon`` in a temporary folder, and
   a check that it still has the shape the next steps edit (olevba).
2. :mod:`.ribbon_xml`: ``customUI/customUI.xml``, the FastMoss tab, one button per entry of
   :data:`xl_fastmoss.ribbon.BUTTONS`, each calling the quickstart's VBA callback.
3. :mod:`.vba`: that callback's module rewritten in ``xl/vbaProject.bin`` (olefile, in place) so
   that it hands the button's id to :func:`xl_fastmoss.ribbon.on_action`; :mod:`.ovba` compresses
   the new source to the exact size of the old.
4. :mod:`.package_edits`: the add-in's config sheet switched on, properties, fixed timestamps,
   so that a rebuild gives the same bytes.
"""

from __future__ import annotations

from .command import build_addin, main
from .names import ADDIN_FILE, ADDIN_NAME, CALLBACK, RIBBON_MODULE
from .ovba import CompressionError, compress_to_size
from .quickstart import check_quickstart, quickstart
from .ribbon_xml import ribbon_xml
from .vba import RIBBON_SOURCE, module_streams, rewrite_module

__all__ = [
    "ADDIN_FILE", "ADDIN_NAME", "CALLBACK", "RIBBON_MODULE", "RIBBON_SOURCE", "CompressionError", "build_addin",
    "check_quickstart", "compress_to_size", "main", "module_streams", "quickstart", "ribbon_xml", "rewrite_module",
]
