"""The house rules of ARCHITECTURE.md, checked on the source (AST, no imports executed).

- ``inference/`` never imports Qt; ``inference/mlx/`` never imports torch at module level.
- ``app/workers/`` never imports widgets; ``app/ui/`` touches ``inference`` only for its light,
  Qt-free helpers (paths, errors), never the engine.
- Heavy libraries (torch, mlx, transformers, faiss) are imported inside functions only in every
  module the GUI imports at start-up (``app/`` and the light ``inference`` helpers).
- One file per concern: no source file grows far past 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "mlx", "transformers", "faiss")
MAX_LINES = 450  # "about 400 lines at most"


def sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def imports(path: Path, top_level_only: bool) -> list[tuple[int, str]]:
    """(line, module) for each import; ``top_level_only`` skips those inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import) and not (top_level_only and in_function):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if not (top_level_only and in_function):
                    if (ROOT / child.module.replace(".", "/")).is_dir():  # from package import module
                        found.extend((child.lineno, f"{child.module}.{a.name}") for a in child.names)
                    else:
                        found.append((child.lineno, child.module))
            visit(child, inside)

    visit(tree, False)
    return found


def offending(paths: list[Path], banned: tuple[str, ...], top_level_only: bool) -> list[str]:
    bad = []
    for path in paths:
        for line, module in imports(path, top_level_only):
            if module.split(".")[0] in banned or module in banned:
                bad.append(f"{rel(path)}:{line} imports {module}")
    return bad


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def test_the_checker_sees_imports_and_knows_where_they_are(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import torch\nfrom PySide6 import QtCore\ndef f():\n    import mlx.core\n")
    assert offending([probe], ("torch", "PySide6"), top_level_only=True) == [
        f"{probe}:1 imports torch",
        f"{probe}:2 imports PySide6",
    ]
    assert offending([probe], ("mlx",), top_level_only=True) == []
    assert offending([probe], ("mlx",), top_level_only=False) == [f"{probe}:4 imports mlx.core"]
    assert [m for _, m in imports(probe, top_level_only=True)] == ["torch", "PySide6"]
    assert [m for _, m in imports(probe, top_level_only=False)] == ["torch", "PySide6", "mlx.core"]


def test_inference_never_imports_qt():
    assert offending(sources("inference"), ("PySide6", "pyqtgraph", "shiboken6"), top_level_only=False) == []


def test_workers_never_import_widgets():
    bad = [b for b in offending(sources("app/workers"), ("PySide6.QtWidgets", "pyqtgraph"), top_level_only=False)]
    assert bad == []


def test_widgets_use_only_the_light_inference_vocabulary():
    allowed = {
        "inference.core.paths",
        "inference.core.errors",
        "inference.pipeline.params",
        "inference.covers.params",
        "inference.audio.naming",
    }
    bad = []
    for path in sources("app/ui"):
        for line, module in imports(path, top_level_only=False):
            if module.split(".")[0] == "inference" and module not in allowed:
                bad.append(f"{rel(path)}:{line} imports {module}")
    assert bad == []


@pytest.mark.parametrize("folder", ["app", "inference"])
def test_heavy_libraries_load_on_first_use(folder):
    """Only the two generator ports import torch or mlx at their top: they load with a model."""
    ports = (ROOT / "inference" / "mlx", ROOT / "inference" / "synth" / "torch")
    paths = [p for p in sources(folder) if p.parent not in ports]
    assert offending(paths, HEAVY, top_level_only=True) == []


def test_files_stay_about_400_lines():
    long = []
    for folder in ("app", "inference", "benchmarks", "scripts", "resources", "tests/support"):
        for path in sources(folder):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert long == []


# --- docs/architecture.md: the tree and the import rules it states --------------------------------

DOC = ROOT / "docs" / "architecture.md"


def room_of(module: str) -> str | None:
    """``inference.synth.torch.x`` -> ``synth.torch``; ``inference.pipeline.x`` -> ``pipeline``."""
    parts = module.split(".")
    if parts[0] != "inference" or len(parts) < 2:
        return None
    return "synth.torch" if parts[1:3] == ["synth", "torch"] else parts[1]


def documented_tree() -> set[str]:
    """The paths in the doc's tree block, rebuilt from their indentation."""
    block = DOC.read_text(encoding="utf-8").split("## The tree", 1)[1].split("```")[1]
    stack: list[tuple[int, str]] = []
    out = set()
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        name = line.split()[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "".join(part for _, part in stack) + name
        out.add(path)
        if name.endswith("/"):
            stack.append((indent, name))
    return out


def real_tree() -> set[str]:
    out = {"inference/"}
    for path in sources("inference"):
        relative = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py":
            out.add(relative.removesuffix("__init__.py"))
        else:
            out.add(relative)
    return out


def test_the_documented_tree_is_the_tree():
    documented, real = documented_tree(), real_tree()
    assert sorted(real - documented) == [], "in the code but not in docs/architecture.md"
    assert sorted(documented - real) == [], "in docs/architecture.md but not in the code"


def test_inference_has_at_most_ten_top_level_rooms():
    top = [p for p in (ROOT / "inference").iterdir() if p.name not in ("__init__.py", "__pycache__")]
    assert len(top) <= 10, sorted(p.name for p in top)
    prefixes = sorted(p.stem.split("_")[0] for p in top if "_" in p.stem)
    assert prefixes == [], "prefix-named siblings: make them a package"


def documented_rules() -> dict[str, set[str]]:
    text = DOC.read_text(encoding="utf-8").split("## Who may import whom", 1)[1]
    rules = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] and cells[0] not in ("room",) and not cells[0].startswith("---"):
            rules[cells[0]] = {c.strip() for c in cells[1].split(",") if c.strip()}
    return rules


def test_rooms_import_only_what_the_doc_allows():
    rules = documented_rules()
    assert set(rules) == {
        room_of(f"inference.{p.name}") for p in (ROOT / "inference").iterdir() if p.is_dir() and p.name != "__pycache__"
    } | {"synth.torch"}
    bad = []
    for path in sources("inference"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        here = room_of(module)
        for line, imported in imports(path, top_level_only=False):
            there = room_of(imported)
            if there is not None and there != here and there not in rules.get(here, set()):
                bad.append(f"{rel(path)}:{line}: {here} imports {imported}")
    assert bad == []
