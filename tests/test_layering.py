"""The layers hold: what the API core, sheets/ and workbook/ may import, and no import cycle."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xl_fastmoss"
#: Entry points and adapters: they may compose every layer.
ADAPTERS = {"cli", "demo", "export", "headless", "macros", "udfs", "ribbon", "addin_command", "__init__"}
EXCEL_AND_WORKBOOK_LIBRARIES = ("xlwings", "openpyxl", "lxml")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, module_level_only: bool = False) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def package_files(folder: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "fake_server" not in p.parts)


def core_files() -> list[Path]:
    return [p for p in PACKAGE.glob("*.py") if p.stem not in ADAPTERS]


def test_the_api_core_and_sheets_import_no_excel_or_workbook_library():
    for path in core_files() + sorted((PACKAGE / "sheets").glob("*.py")):
        banned = {name for name in imports(path) if name.split(".")[0] in EXCEL_AND_WORKBOOK_LIBRARIES}
        assert not banned, f"{module_name(path)} imports {sorted(banned)}"


def test_the_api_core_and_sheets_know_nothing_of_workbook_files_or_the_fake_server():
    for path in core_files() + sorted((PACKAGE / "sheets").glob("*.py")):
        names = imports(path)
        assert not any(n.startswith("xl_fastmoss.fake_server") for n in names), module_name(path)
        reaching = {n for n in names if n.startswith(("xl_fastmoss.workbook.reader", "xl_fastmoss.workbook.writer",
                                                      "xl_fastmoss.workbook.package"))}
        assert not reaching, f"{module_name(path)} imports {sorted(reaching)}"


def test_the_workbook_layer_imports_nothing_of_the_api():
    for path in sorted((PACKAGE / "workbook").glob("*.py")):
        ours = {n for n in imports(path) if n.startswith("xl_fastmoss")}
        outside = {n for n in ours if not n.startswith(("xl_fastmoss.workbook", "xl_fastmoss.files"))}
        assert not outside, f"{module_name(path)} imports {sorted(outside)}"


def test_loading_sheets_and_the_core_loads_no_excel_or_workbook_library():
    modules = [module_name(p) for p in core_files() + sorted((PACKAGE / "sheets").glob("*.py"))]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {EXCEL_AND_WORKBOOK_LIBRARIES!r}))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=PACKAGE.parent).stdout.strip()
    assert loaded == "[]"


def test_no_import_cycle_between_modules_of_the_package():
    files = package_files() + sorted((PACKAGE / "fake_server").glob("*.py"))
    known = {module_name(p): p for p in files}
    graph = {}
    for name, path in known.items():
        targets = set()
        for imported in imports(path, module_level_only=True):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets

    def cycle_from(start):
        stack, on_path, done = [(start, iter(graph[start]))], [start], set()
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_path.pop()
                done.add(node)
            elif child in on_path:
                return on_path[on_path.index(child):] + [child]
            elif child not in done:
                stack.append((child, iter(graph[child])))
                on_path.append(child)
        return None

    cycles = [c for c in (cycle_from(m) for m in graph) if c]
    assert not cycles, f"import cycle: {' -> '.join(cycles[0])}"
