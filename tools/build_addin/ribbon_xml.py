"""``customUI/customUI.xml``: the FastMoss tab, one button per :data:`xl_fastmoss.ribbon.BUTTONS`.

Office 2007's custom UI schema (the quickstart's namespace), which every later Excel reads. All
buttons call the quickstart's one callback; Excel passes it the button (IRibbonControl), whose
``Id`` the callback hands to Python.
"""

from __future__ import annotations

from lxml import etree

from xl_fastmoss.ribbon import BUTTONS

from .names import ON_ACTION
from .quickstart import CUSTOM_UI_NS

TAB_ID, TAB_LABEL = "fastmossTab", "FastMoss"
#: (group id, label, button ids) in the tab's order.
GROUPS = (
    ("fastmossRefresh", "Refresh", ("fastmoss_refresh_workbook", "fastmoss_refresh_sheet",
                                    "fastmoss_refresh_selection")),
    ("fastmossAccount", "Account", ("fastmoss_usage", "fastmoss_set_key", "fastmoss_help")),
)


def ribbon_xml() -> bytes:
    """The custom UI part, every button of BUTTONS in one of GROUPS."""
    by_id = {button.id: button for button in BUTTONS}
    placed = [button_id for _, _, ids in GROUPS for button_id in ids]
    if sorted(placed) != sorted(by_id):
        raise SystemExit(f"GROUPS place {sorted(placed)}, BUTTONS has {sorted(by_id)}")
    ns = f"{{{CUSTOM_UI_NS}}}"
    root = etree.Element(ns + "customUI", nsmap={None: CUSTOM_UI_NS})
    tabs = etree.SubElement(etree.SubElement(root, ns + "ribbon"), ns + "tabs")
    tab = etree.SubElement(tabs, ns + "tab", id=TAB_ID, label=TAB_LABEL)
    for group_id, label, ids in GROUPS:
        group = etree.SubElement(tab, ns + "group", id=group_id, label=label)
        for button_id in ids:
            button = by_id[button_id]
            etree.SubElement(group, ns + "button", id=button.id, label=button.label, size="large",
                             imageMso=button.image, screentip=button.label, supertip=button.tip,
                             onAction=ON_ACTION)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True, pretty_print=True)
