"""Issue #8: the py2app description of RVC Studio.app, checked on any platform (py2app builds
only on macOS). The bundle itself is checked on a Mac by ``make app-smoke``."""

from __future__ import annotations

import importlib.util
import mmap
import os
import plistlib
import re
import struct
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import setup_app

REPO = Path(__file__).resolve().parents[1]
UTI = re.compile(r"^[a-z0-9-]+(\.[A-Za-z0-9-]+)+$")
ICNS_SIZES = {
    b"icp4": 16,
    b"icp5": 32,
    b"ic11": 32,
    b"ic12": 64,
    b"ic07": 128,
    b"ic13": 256,
    b"ic08": 256,
    b"ic14": 512,
    b"ic09": 512,
    b"ic10": 1024,
}


def _document_types() -> list[dict]:
    return setup_app.PLIST["CFBundleDocumentTypes"]


def test_import_builds_nothing(tmp_path: Path) -> None:
    code = "import sys, setup_app; print('setuptools' in sys.modules, 'py2app' in sys.modules, setup_app.APP)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:2] == ["False", "False"], "importing setup_app must not call setup()"
    assert list(tmp_path.iterdir()) == [], "importing setup_app wrote files"


def test_every_named_resource_exists() -> None:
    named = [*setup_app.APP, setup_app.OPTIONS["iconfile"]]
    named += [src for _dest, sources in setup_app.DATA_FILES for src in sources]
    for relative in named:
        assert not Path(relative).is_absolute(), relative
        assert (REPO / relative).is_file(), f"setup_app names a missing file: {relative}"
    assert setup_app.OPTIONS["iconfile"].endswith(".icns")


def test_version_and_bundle_id_come_from_their_sources() -> None:
    import app
    from app.application import BUNDLE_ID

    with open(REPO / "pyproject.toml", "rb") as fp:
        version = tomllib.load(fp)["project"]["version"]
    plist = setup_app.PLIST
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == version == app.__version__
    assert plist["CFBundleIdentifier"] == BUNDLE_ID
    assert plist["CFBundleName"] == "RVC Studio"


def test_audio_document_types() -> None:
    types = _document_types()
    extensions = {ext for t in types for ext in t.get("CFBundleTypeExtensions", [])}
    utis = {uti for t in types for uti in t["LSItemContentTypes"]}
    assert {"wav", "flac", "mp3", "m4a", "aiff", "aif", "ogg"} <= extensions
    assert {
        "public.audio",
        "com.microsoft.waveform-audio",
        "public.mp3",
        "public.mpeg-4-audio",
        "public.aiff-audio",
        "org.xiph.flac",
        "org.xiph.ogg-audio",
    } <= utis
    for entry in types:
        assert entry["CFBundleTypeRole"] in ("Viewer", "Editor"), entry
        assert entry["LSHandlerRank"] == "Alternate", entry
        assert entry["CFBundleTypeName"] and entry["LSItemContentTypes"], entry
        for uti in entry["LSItemContentTypes"]:
            assert UTI.match(uti), f"not a UTI: {uti!r}"
        for ext in entry.get("CFBundleTypeExtensions", []):
            assert re.fullmatch(r"[a-z0-9]+", ext), f"extension must be bare lower case: {ext!r}"
    # UTIs we declare ourselves describe audio and are the ones our document types use.
    for declaration in setup_app.PLIST["UTImportedTypeDeclarations"]:
        assert declaration["UTTypeIdentifier"] in utis
        assert declaration["UTTypeConformsTo"] == ["public.audio"]
        assert declaration["UTTypeTagSpecification"]["public.filename-extension"]


def test_environment_and_system_keys() -> None:
    plist = setup_app.PLIST
    assert plist["LSEnvironment"]["OMP_NUM_THREADS"] == "1"
    assert plist["LSEnvironment"]["KMP_DUPLICATE_LIB_OK"] == "TRUE"
    assert all(isinstance(v, str) for v in plist["LSEnvironment"].values()), "LSEnvironment values must be strings"
    assert plist["NSHighResolutionCapable"] is True
    assert plist["NSRequiresAquaSystemAppearance"] is False
    major_minor = re.fullmatch(r"(\d+)\.(\d+)", plist["LSMinimumSystemVersion"])
    assert major_minor and (int(major_minor[1]), int(major_minor[2])) >= (14, 0), "mlx/torch wheels need macOS 14"
    assert plistlib.loads(plistlib.dumps(plist)) == plist, "the plist must survive plistlib unchanged"
    assert setup_app.OPTIONS["plist"] is plist
    assert setup_app.OPTIONS["argv_emulation"] is False, "Qt handles open-file events itself"
    assert setup_app.OPTIONS["arch"] == "arm64"


def test_packages_and_includes_resolve_here() -> None:
    for name in [*setup_app.OPTIONS["packages"], *setup_app.OPTIONS["includes"]]:
        spec = importlib.util.find_spec(name)
        assert spec is not None, f"setup_app names an unknown module: {name}"
        # py2app finds `packages` with imp.find_module, which cannot see namespace packages.
        assert spec.origin not in (None, "namespace"), f"{name} is a namespace package: list it in NAMESPACE_PACKAGES"
    packages = set(setup_app.OPTIONS["packages"])
    assert {"torch", "transformers", "faiss", "PySide6", "shiboken6", "torchfcpe", "_soundfile_data"} <= packages
    assert "mlx" in setup_app.NAMESPACE_PACKAGES and "mlx" in setup_app.OPTIONS["excludes"]


def test_namespace_packages_are_copied_whole(tmp_path: Path) -> None:
    copied = setup_app.copy_namespace_packages(tmp_path)
    assert copied, "nothing copied"

    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}

    source = set().union(*(files(location) for location in copied))
    assert files(tmp_path / "mlx") == source
    assert any(name.startswith("core.") and name.endswith(".so") for name in source), "mlx's compiled core"
    assert any(name.startswith("lib/libmlx") for name in source), "libmlx (and on macOS mlx.metallib) lives in mlx/lib"


def test_launcher_runs_main_and_moves_numba_cache(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / setup_app.APP[0]), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"RVC Studio {setup_app.VERSION}"
    # Inside the bundle (sys.frozen) numba must cache outside the app.
    code = (
        "import sys, os, importlib.util; sys.frozen = 'macosx_app'; sys.argv = ['RVC Studio', '--version']\n"
        f"spec = importlib.util.spec_from_file_location('launcher', {str(REPO / setup_app.APP[0])!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "assert mod.run() == 0; print(os.environ['NUMBA_CACHE_DIR'])"
    )
    env = {**os.environ, "RVC_STUDIO_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    env.pop("NUMBA_CACHE_DIR", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(tmp_path / "cache" / "numba")


def _qt_modules_in_source() -> set[str]:
    found: set[str] = set()
    for folder in ("app", "inference", "resources"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found.update(re.findall(r"PySide6\.(Qt\w+)", text))
            for group in re.findall(r"from\s+PySide6\s+import\s+\(?([\w\s,]+)\)?", text):
                found.update(name.strip() for name in group.split(",") if name.strip().startswith("Qt"))
    return found


def test_our_code_imports_no_excluded_qt_module() -> None:
    used = _qt_modules_in_source()
    assert {"QtCore", "QtWidgets", "QtMultimedia"} <= used, f"the scan found too little: {sorted(used)}"
    assert not used & set(setup_app.EXCLUDED_QT_MODULES), (
        f"excluded but imported: {sorted(used & set(setup_app.EXCLUDED_QT_MODULES))}"
    )


def test_qt_modules_loaded_at_run_time_are_kept() -> None:
    code = (
        "import sys, pyqtgraph, app.application, app.ui.main_window, app.selftest\n"
        "from PySide6 import QtMultimedia\n"
        "print(' '.join(sorted(m.split('.')[1] for m in sys.modules if m.startswith('PySide6.Qt'))))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.split())
    assert {"QtCore", "QtGui", "QtWidgets", "QtMultimedia"} <= loaded
    assert not loaded & set(setup_app.EXCLUDED_QT_MODULES), sorted(loaded & set(setup_app.EXCLUDED_QT_MODULES))


# --- pruning PySide6 ----------------------------------------------------------------------------


def elf_needed(path: Path) -> set[str]:
    """DT_NEEDED entries of a 64-bit little-endian ELF file (empty for anything else)."""
    with open(path, "rb") as fp, mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if data[:6] != b"\x7fELF\x02\x01":
            return set()
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        needed = set()
        for _name, kind, _flags, _addr, offset, size, link, *_rest in sections:
            if kind != 6:  # SHT_DYNAMIC
                continue
            strings = sections[link][4]
            for entry in range(offset, offset + size, 16):
                tag, value = struct.unpack_from("<qQ", data, entry)
                if tag == 0:
                    break
                if tag == 1:  # DT_NEEDED
                    start = strings + value
                    needed.add(data[start : data.find(b"\0", start)].decode())
        return needed


@pytest.fixture(scope="module")
def pyside_dry_run() -> tuple[Path, set[Path]]:
    import PySide6

    root = Path(PySide6.__file__).parent
    return root, set(setup_app.prune_pyside6(root, elf_needed, dry_run=True))


def _is_removed(path: Path, removed: set[Path]) -> bool:
    return any(path == r or r in path.parents for r in removed)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="checks the installed ELF PySide6 with ldd")
def test_prune_keeps_everything_the_loader_needs(pyside_dry_run) -> None:
    root, removed = pyside_dry_run
    for module in ("QtCore", "QtGui", "QtWidgets", "QtMultimedia", "QtSvg", "QtOpenGLWidgets", "QtTest"):
        assert not any(_is_removed(p, removed) for p in root.glob(f"{module}.*.so")), f"{module} pruned"
    plugins = root / "Qt" / "plugins"
    kept_plugins = [p for p in plugins.rglob("*.so") if not _is_removed(p, removed)]
    assert plugins / "multimedia" / "libffmpegmediaplugin.so" in kept_plugins
    assert plugins / "platforms" / "libqxcb.so" in kept_plugins
    kept_bindings = [p for p in root.glob("Qt*.so") if not _is_removed(p, removed)]
    # ldd resolves what the dynamic loader would load: none of it may be pruned.
    for binary in kept_bindings + kept_plugins:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=60).stdout
        for resolved in re.findall(r"=>\s+(\S+)", out):
            path = Path(resolved)
            if root in path.parents:
                assert not _is_removed(path, removed), f"{binary.name} needs pruned {path.name}"


def test_prune_drops_unused_qt(pyside_dry_run) -> None:
    root, removed = pyside_dry_run
    names = {p.relative_to(root).as_posix() for p in removed}
    assert "Qt/qml" in names
    assert "Qt/plugins/imageformats/libqpdf.so" in names
    assert not {"Qt/plugins/multimedia", "Qt/plugins/platforms"} & names
    for module in ("QtWebEngineCore", "QtQuick", "Qt3DCore", "QtCharts", "QtPdf", "QtBluetooth"):
        assert any(n.startswith(f"{module}.") for n in names), f"{module} binding kept"
    assert any("WebEngineCore" in n for n in names if n.startswith("Qt/lib/"))
    assert any("Qt63DCore" in n for n in names if n.startswith("Qt/lib/"))


def test_prune_on_a_macos_layout(tmp_path: Path) -> None:
    """A miniature of the macOS wheel: frameworks, an FFmpeg dylib, tools, a plugin per kind."""
    root = tmp_path / "PySide6"
    links = {
        "QtCore.abi3.so": ["@rpath/QtCore.framework/Versions/A/QtCore"],
        "QtMultimedia.abi3.so": ["@rpath/QtMultimedia.framework/Versions/A/QtMultimedia"],
        "QtWebEngineCore.abi3.so": ["@rpath/QtWebEngineCore.framework/Versions/A/QtWebEngineCore"],
        "libpyside6.abi3.6.12.dylib": ["@rpath/QtCore.framework/Versions/A/QtCore"],
        "libpyside6qml.abi3.6.12.dylib": ["@rpath/QtQml.framework/Versions/A/QtQml"],
        "Qt/lib/QtCore.framework/Versions/A/QtCore": [],
        "Qt/lib/QtMultimedia.framework/Versions/A/QtMultimedia": ["@rpath/QtNetwork.framework/Versions/A/QtNetwork"],
        "Qt/lib/QtNetwork.framework/Versions/A/QtNetwork": ["@rpath/QtCore.framework/Versions/A/QtCore"],
        "Qt/lib/QtWebEngineCore.framework/Versions/A/QtWebEngineCore": ["@rpath/QtQuick.framework/Versions/A/QtQuick"],
        "Qt/lib/QtQuick.framework/Versions/A/QtQuick": [],
        "Qt/lib/QtQml.framework/Versions/A/QtQml": [],
        "Qt/lib/libavcodec.61.dylib": [],
        "Qt/lib/libavcodec.61.3.100.dylib": [],
        "Qt/plugins/multimedia/libffmpegmediaplugin.dylib": [
            "@rpath/libavcodec.61.dylib",
            "@rpath/QtMultimedia.framework/Versions/A/QtMultimedia",
        ],
        "Qt/plugins/platforms/libqcocoa.dylib": ["@rpath/QtCore.framework/Versions/A/QtCore"],
        "Qt/plugins/imageformats/libqpdf.dylib": ["@rpath/QtPdf.framework/Versions/A/QtPdf"],
        "Qt/plugins/position/libqtposition_cl.dylib": [],
        "Qt/qml/QtQuick/qmldir": [],
        "Designer.app/Contents/MacOS/Designer": [],
        "QtCore.pyi": [],
        "QtWebEngineCore.pyi": [],
        "support/__init__.py": [],
    }
    for relative in links:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"")
    by_path = {root / relative: names for relative, names in links.items()}
    removed = setup_app.prune_pyside6(root, lambda binary: by_path[binary])
    left = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert left == {
        "QtCore.abi3.so",
        "QtMultimedia.abi3.so",
        "libpyside6.abi3.6.12.dylib",
        "QtCore.pyi",
        "support/__init__.py",
        "Qt/lib/QtCore.framework/Versions/A/QtCore",
        "Qt/lib/QtMultimedia.framework/Versions/A/QtMultimedia",
        "Qt/lib/QtNetwork.framework/Versions/A/QtNetwork",
        "Qt/lib/libavcodec.61.dylib",
        "Qt/plugins/multimedia/libffmpegmediaplugin.dylib",
        "Qt/plugins/platforms/libqcocoa.dylib",
    }
    assert all(not p.exists() for p in removed)


def test_universal_macho_detection(tmp_path: Path) -> None:
    fat = tmp_path / "fat.dylib"
    fat.write_bytes(b"\xca\xfe\xba\xbe" + struct.pack(">I", 2) + b"\0" * 40)
    thin = tmp_path / "thin.dylib"
    thin.write_bytes(b"\xcf\xfa\xed\xfe" + b"\0" * 40)  # MH_MAGIC_64, little-endian arm64
    java = tmp_path / "Old.class"
    java.write_bytes(b"\xca\xfe\xba\xbe" + struct.pack(">I", 52) + b"\0" * 40)
    assert setup_app.is_universal_macho(fat)
    assert not setup_app.is_universal_macho(thin)
    assert not setup_app.is_universal_macho(java)
    assert setup_app.library_key("@rpath/QtCore.framework/Versions/A/QtCore") == "QtCore.framework"
    assert setup_app.library_key("@rpath/libavcodec.61.dylib") == "libavcodec.61.dylib"


# --- the icon -----------------------------------------------------------------------------------


def read_icns(path: Path) -> list[tuple[bytes, bytes]]:
    """Our own reader: check the container's lengths and return ``(type, payload)`` chunks."""
    data = path.read_bytes()
    assert data[:4] == b"icns", "not an icns file"
    assert struct.unpack(">I", data[4:8])[0] == len(data), "header length differs from the file size"
    chunks, offset = [], 8
    while offset < len(data):
        kind, length = data[offset : offset + 4], struct.unpack(">I", data[offset + 4 : offset + 8])[0]
        assert length >= 8 and offset + length <= len(data), f"chunk {kind!r} overruns the file"
        chunks.append((kind, data[offset + 8 : offset + length]))
        offset += length
    return chunks


def _check_icns(path: Path) -> None:
    from PySide6.QtGui import QImage

    chunks = read_icns(path)
    assert chunks[0][0] == b"TOC "
    toc = chunks[0][1]
    listed = [(toc[i : i + 4], struct.unpack(">I", toc[i + 4 : i + 8])[0]) for i in range(0, len(toc), 8)]
    assert listed == [(kind, 8 + len(payload)) for kind, payload in chunks[1:]], "TOC does not match the chunks"
    assert {kind for kind, _ in chunks[1:]} == set(ICNS_SIZES)
    for kind, payload in chunks[1:]:
        assert payload[:8] == b"\x89PNG\r\n\x1a\n", f"{kind!r} is not a PNG"
        image = QImage.fromData(payload, "PNG")
        assert not image.isNull() and (image.width(), image.height()) == (ICNS_SIZES[kind],) * 2, kind


def test_committed_icns_is_valid(qapp) -> None:
    _check_icns(REPO / setup_app.OPTIONS["iconfile"])


def test_make_icon_draws_a_two_voice_icon(tmp_path: Path, qapp) -> None:
    from PySide6.QtGui import QImage

    spec = importlib.util.spec_from_file_location("make_icon", REPO / "resources" / "make_icon.py")
    make_icon = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icon)
    assert make_icon.main(["--out", str(tmp_path), "--iconset", str(tmp_path / "set")]) == 0
    _check_icns(tmp_path / "RVCStudio.icns")
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == sorted(name for name, _s, _k in make_icon.ICONSET)
    image = QImage(str(tmp_path / "RVCStudio.png"))
    assert (image.width(), image.height()) == (1024, 1024)
    assert image.pixelColor(20, 20).alpha() == 0, "outside the tile is transparent"

    def hues(x0: int, x1: int) -> list[int]:
        colours = [image.pixelColor(x, y) for x in range(x0, x1, 4) for y in range(300, 724, 4)]
        return [c.hsvHue() for c in colours if c.saturation() > 120 and c.value() > 200]

    left, right = hues(190, 420), hues(620, 834)
    assert left and right, "no bright waveform pixels"
    assert sum(170 <= h <= 210 for h in left) > 0.8 * len(left), "left voice should be cyan"
    assert sum(h >= 320 or h <= 20 for h in right) > 0.8 * len(right), "right voice should be coral"


# --- make app off macOS -----------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "darwin", reason="on macOS `make app` really builds")
def test_make_app_explains_it_needs_macos() -> None:
    for target in ("app", "app-smoke"):
        proc = subprocess.run(["make", "-s", target], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
        assert "macOS" in proc.stdout + proc.stderr and "docs/macos-bundle.md" in proc.stdout + proc.stderr
