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


def test_mlx_port_imports_torch_only_inside_functions():
    assert offending(sources("inference/mlx"), ("torch",), top_level_only=True) == []


def test_workers_never_import_widgets():
    bad = [b for b in offending(sources("app/workers"), ("PySide6.QtWidgets", "pyqtgraph"), top_level_only=False)]
    assert bad == []


def test_widgets_use_only_the_light_inference_helpers():
    allowed = {"inference.core.paths", "inference.core.errors"}
    bad = []
    for path in sources("app/ui"):
        for line, module in imports(path, top_level_only=False):
            if module.split(".")[0] == "inference" and not any(module.startswith(a) for a in allowed):
                bad.append(f"{rel(path)}:{line} imports {module}")
    assert bad == []


@pytest.mark.parametrize("folder", ["app", "inference"])
def test_heavy_libraries_load_on_first_use(folder):
    paths = sources(folder)
    if folder == "inference":
        # Modules that exist to run the heavy libraries may import them at the top; the
        # light helpers the GUI imports at start-up may not.
        light = {"__init__.py", "errors.py", "paths.py", "runtime.py", "audio.py", "weights.py"}
        paths = [p for p in paths if p.parent == ROOT / "inference" and p.name in light]
    assert offending(paths, HEAVY, top_level_only=True) == []


def test_files_stay_about_400_lines():
    long = []
    for folder in ("app", "inference", "benchmarks", "scripts", "resources"):
        for path in sources(folder):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert long == []
