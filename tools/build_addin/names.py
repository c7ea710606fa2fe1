"""The add-in's names: its file, the quickstart's VBA callback the ribbon calls, its config sheet."""

from __future__ import annotations

from xl_fastmoss.addin_command import ADDIN_FILE, CONFIG_SHEET, PROJECT_NAME

ADDIN_NAME = ADDIN_FILE.removesuffix(".xlam")
#: The quickstart's ribbon module and its callback: ``Sub RunMain(control As IRibbonControl)``.
RIBBON_MODULE = "RibbonMyAddin"
CALLBACK = "RunMain"
ON_ACTION = f"{RIBBON_MODULE}.{CALLBACK}"
#: The quickstart's config sheet: its leading underscore keeps xlwings from reading it.
QUICKSTART_CONFIG_SHEET = f"_{PROJECT_NAME}.conf"

__all__ = ["ADDIN_FILE", "ADDIN_NAME", "CALLBACK", "CONFIG_SHEET", "ON_ACTION", "PROJECT_NAME",
           "QUICKSTART_CONFIG_SHEET", "RIBBON_MODULE"]
