"""py2app description of ``RVC Studio.app``. Build on a Mac with ``make app``
(``python setup_app.py py2app``); see docs/macos-bundle.md.

Importing this module builds nothing: tests read ``APP``, ``DATA_FILES``, ``OPTIONS`` and
``PLIST`` on any platform. ``setup()`` runs only when the file is executed as a script.

Two things py2app does not do by itself are done here, between copying the packages and
making the bundle standalone (``build_executable``):

- PySide6 is copied whole (its modules load Qt libraries and plugins by path), which would
  carry WebEngine, Qt 3D, QML and the Qt tools along. :func:`prune_pyside6` removes the
  bindings in ``EXCLUDED_QT_MODULES``, every plugin folder the app does not use, and then
  every Qt library that no remaining binding or plugin links to (the multimedia plugins and
  their FFmpeg libraries stay).
- PySide6's macOS wheels are universal2; the app runs on Apple Silicon only (MLX), so its
  binaries are thinned to arm64 (:func:`thin_to_arm64`).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _pyproject_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as fp:
        return tomllib.load(fp)["project"]["version"]


def _bundle_id() -> str:
    """``app.application.BUNDLE_ID`` read from the source (importing it would start Qt)."""
    tree = ast.parse((ROOT / "app" / "application.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "BUNDLE_ID" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError("app/application.py defines no BUNDLE_ID")


NAME = "RVC Studio"
VERSION = _pyproject_version()
BUNDLE_ID = _bundle_id()
# mlx 0.30+ and torch 2.13 publish macOS wheels for macosx_14_0_arm64 only (mlx's last
# 13.x wheel is 0.29.3), and PySide6 6.12 is macosx_14_0_universal2: macOS 14 is the floor.
MIN_MACOS = "14.0"

APP = ["resources/launcher.py"]
ICON = "resources/RVCStudio.icns"
# The 1024 px PNG for Qt's window icon: Contents/Resources/resources/RVCStudio.png
# (py2app sets $RESOURCEPATH to Contents/Resources at launch).
DATA_FILES = [("resources", ["resources/RVCStudio.png"])]

# (document type name, file extensions, UTIs). Opened from Finder or dropped on the Dock
# icon, they reach the app as QFileOpenEvent (app.application.StudioApplication).
AUDIO_DOCUMENTS = (
    ("WAVE audio", ("wav", "wave"), ("com.microsoft.waveform-audio",)),
    ("FLAC audio", ("flac",), ("org.xiph.flac",)),
    ("MP3 audio", ("mp3",), ("public.mp3",)),
    ("MPEG-4 audio", ("m4a",), ("public.mpeg-4-audio", "com.apple.m4a-audio")),
    ("AIFF audio", ("aiff", "aif", "aifc"), ("public.aiff-audio", "public.aifc-audio")),
    ("Ogg audio", ("ogg", "oga"), ("org.xiph.ogg-audio",)),
    ("Audio", (), ("public.audio",)),  # anything else FFmpeg decodes
)
# UTIs that not every macOS declares itself; an imported declaration yields to the system's.
IMPORTED_AUDIO_TYPES = (
    ("org.xiph.flac", "FLAC audio", ("flac",), ("audio/flac", "audio/x-flac")),
    ("org.xiph.ogg-audio", "Ogg audio", ("ogg", "oga"), ("audio/ogg",)),
)

PLIST = {
    "CFBundleName": NAME,
    "CFBundleDisplayName": NAME,
    "CFBundleIdentifier": BUNDLE_ID,
    "CFBundleShortVersionString": VERSION,
    "CFBundleVersion": VERSION,
    "CFBundleDevelopmentRegion": "en",
    "CFBundleDocumentTypes": [
        {
            "CFBundleTypeName": name,
            **({"CFBundleTypeExtensions": list(extensions)} if extensions else {}),
            "LSItemContentTypes": list(utis),
            "CFBundleTypeRole": "Viewer",  # we read these files, never write them back
            "LSHandlerRank": "Alternate",  # offered in "Open With", never the default player
        }
        for name, extensions, utis in AUDIO_DOCUMENTS
    ],
    "UTImportedTypeDeclarations": [
        {
            "UTTypeIdentifier": uti,
            "UTTypeDescription": description,
            "UTTypeConformsTo": ["public.audio"],
            "UTTypeTagSpecification": {"public.filename-extension": list(extensions), "public.mime-type": list(mimes)},
        }
        for uti, description, extensions, mimes in IMPORTED_AUDIO_TYPES
    ],
    # Read by Launch Services when the app is opened from Finder or the Dock. A second line of
    # defence: app.main calls inference.core.runtime.prepare_process() first thing anyway.
    "LSEnvironment": {"OMP_NUM_THREADS": "1", "KMP_DUPLICATE_LIB_OK": "TRUE"},
    "LSMinimumSystemVersion": MIN_MACOS,
    "LSArchitecturePriority": ["arm64"],
    "LSApplicationCategoryType": "public.app-category.music",
    "NSPrincipalClass": "NSApplication",
    "NSHighResolutionCapable": True,
    "NSRequiresAquaSystemAppearance": False,  # follow the system's dark mode
    "NSSupportsAutomaticGraphicsSwitching": True,
    "NSHumanReadableCopyright": "RVC Studio contributors, MIT licence",
}

# PySide6 bindings the app never imports (tests check our code does not). Their Qt libraries
# go too unless a kept binding or plugin links them (the FFmpeg multimedia plugin links
# QtQuick/QtQml on Linux, for instance, so those libraries stay there).
EXCLUDED_QT_MODULES = (
    "Qt3DAnimation",
    "Qt3DCore",
    "Qt3DExtras",
    "Qt3DInput",
    "Qt3DLogic",
    "Qt3DRender",
    "QtAxContainer",
    "QtBluetooth",
    "QtCanvasPainter",
    "QtCharts",
    "QtDataVisualization",
    "QtDesigner",
    "QtGraphs",
    "QtGraphsWidgets",
    "QtHelp",
    "QtHttpServer",
    "QtLabsStyleKit",
    "QtLocation",
    "QtNetworkAuth",
    "QtNfc",
    "QtPdf",
    "QtPdfWidgets",
    "QtPositioning",
    "QtQml",
    "QtQmlFeatures",
    "QtQuick",
    "QtQuick3D",
    "QtQuickControls2",
    "QtQuickTest",
    "QtQuickWidgets",
    "QtRemoteObjects",
    "QtScxml",
    "QtSensors",
    "QtSerialBus",
    "QtSerialPort",
    "QtSpatialAudio",
    "QtSql",
    "QtStateMachine",
    "QtTextToSpeech",
    "QtUiTools",
    "QtWebChannel",
    "QtWebEngineCore",
    "QtWebEngineQuick",
    "QtWebEngineWidgets",
    "QtWebSockets",
    "QtWebView",
)
# Plugin folders under PySide6/Qt/plugins that stay: the multimedia back ends (FFmpeg and
# AVFoundation) among them. Linux-only folders are listed so the same rule holds there.
QT_PLUGIN_DIRS_KEPT = (
    "platforms",
    "styles",
    "imageformats",
    "iconengines",
    "multimedia",
    "tls",
    "networkinformation",
    "generic",
    "platforminputcontexts",
    "platformthemes",
    "xcbglintegrations",
    "egldeviceintegrations",
    "wayland-decoration-client",
    "wayland-graphics-integration-client",
    "wayland-shell-integration",
)
# libqpdf links QtPdf (the app opens no PDF); the virtual keyboard links QtQuick and QtQml.
QT_PLUGINS_DROPPED = ("imageformats/libqpdf", "platforminputcontexts/libqtvirtualkeyboardplugin")
# Everything else PySide6 ships that a running app never reads.
PYSIDE6_EXTRAS_DROPPED = (
    "Qt/qml",
    "Qt/libexec",
    "Qt/metatypes",
    "Qt/resources",
    "include",
    "typesystems",
    "glue",
    "doc",
    "examples",
    "scripts",
    "lib/cmake",
    "Assistant.app",
    "Designer.app",
    "Linguist.app",
    "assistant",
    "designer",
    "linguist",
    "lrelease",
    "lupdate",
    "qmlformat",
    "qmllint",
    "qmlls",
    "svgtoqml",
    "balsam",
    "balsamui",
    "qsb",
    "uic",
    "rcc",
)
# Build-time-only parts of other packages copied whole.
OTHER_EXTRAS_DROPPED = ("torch/include", "torch/share", "mlx/include", "mlx/share")

# Copied whole (outside the zip): they load native libraries, Metal shaders, model assets
# or data files by path, or import their submodules dynamically.
PACKAGES = [
    "app",
    "inference",
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "faiss",
    "PySide6",
    "shiboken6",
    "pyqtgraph",
    "numpy",
    "scipy",
    "librosa",
    "numba",
    "llvmlite",
    "soxr",
    "_soundfile_data",
    "av",
    "pyworld",
    "torchfcpe",
    "stftpitchshift",
    "onnxruntime",  # covers: UVR's MDX-Net .onnx (native library, CoreML provider)
    "pymss",  # covers: VR / RoFormer / MDX23C separation (imports its modules by model type)
    "pymss_core",  # its networks and the VR band parameter files (read by path)
    "yaml",
]
# Namespace packages (no __init__.py; mlx and mlx-metal share the folder): py2app's
# ``packages`` cannot look them up, so the build command copies them whole itself.
NAMESPACE_PACKAGES = ["mlx"]
# Imported only inside functions or by name at run time.
INCLUDES = ["app.selftest", "_soundfile", "_cffi_backend", "pkg_resources", "platformdirs"]
EXCLUDES = [
    "tkinter",
    "_tkinter",
    "turtle",
    "idlelib",
    "torchaudio",  # never used: torchfcpe's mel extractor imports it, we do not load that file
    "sklearn",
    "matplotlib",
    "IPython",
    "pytest",
    "tensorboard",  # optional extras of librosa/torch
    *NAMESPACE_PACKAGES,  # copied by the build command instead
    *(f"PySide6.{module}" for module in EXCLUDED_QT_MODULES),
]

OPTIONS = {
    "argv_emulation": False,  # Qt turns Finder's open-document events into QFileOpenEvent
    "iconfile": ICON,
    "plist": PLIST,
    "arch": "arm64",
    "packages": PACKAGES,
    "includes": INCLUDES,
    "excludes": EXCLUDES,
    "optimize": 0,  # keep docstrings and asserts: torch and numba read them
    "strip": True,
}


# --- pruning the copied PySide6 -------------------------------------------------------------


def library_key(install_name: str) -> str:
    """The name a library is found under in ``Qt/lib``: ``X.framework`` or the file name.

    ``@rpath/QtCore.framework/Versions/A/QtCore`` -> ``QtCore.framework``;
    ``@rpath/libavcodec.61.dylib`` -> ``libavcodec.61.dylib``; ``libQt6Core.so.6`` as is.
    """
    for part in install_name.split("/"):
        if part.endswith(".framework"):
            return part
    return install_name.rsplit("/", 1)[-1]


def _framework_binary(framework: Path) -> Path | None:
    name = framework.name[: -len(".framework")]
    for candidate in (framework / name, *sorted(framework.glob(f"Versions/*/{name}"))):
        if candidate.is_file():
            return candidate
    return None


def _binding_name(path: Path) -> str | None:
    """``QtCore`` for ``QtCore.abi3.so`` / ``QtCore.cpython-311-darwin.so`` / ``QtCore.pyi``."""
    if path.suffix in (".so", ".pyd", ".pyi") and path.name.startswith("Qt"):
        return path.name.split(".", 1)[0]
    return None


def prune_pyside6(pyside: Path, dependencies: Callable[[Path], Iterable[str]], dry_run: bool = False) -> list[Path]:
    """Remove what the app does not use from a copy of the PySide6 package; return the paths.

    ``dependencies(binary)`` lists the install names a binary links (Mach-O or ELF). Qt
    libraries are kept exactly when a kept binding, libpyside or a kept plugin needs them,
    directly or through other Qt libraries. With ``dry_run`` nothing is deleted.
    """
    removed: list[Path] = []
    excluded = set(EXCLUDED_QT_MODULES)
    for path in sorted(pyside.iterdir()):
        # libpyside6qml serves only the QtQml/QtQuick bindings.
        if _binding_name(path) in excluded or ("QtQml" in excluded and path.name.startswith("libpyside6qml")):
            removed.append(path)
    removed.extend(pyside / rel for rel in PYSIDE6_EXTRAS_DROPPED if (pyside / rel).exists())
    plugins = pyside / "Qt" / "plugins"
    kept_plugins: list[Path] = []
    if plugins.is_dir():
        for folder in sorted(plugins.iterdir()):
            if folder.name not in QT_PLUGIN_DIRS_KEPT:
                removed.append(folder)
                continue
            for plugin in sorted(folder.iterdir()):
                if any(f"{folder.name}/{plugin.name}".startswith(d) for d in QT_PLUGINS_DROPPED):
                    removed.append(plugin)
                elif plugin.is_file():
                    kept_plugins.append(plugin)

    libdir = pyside / "Qt" / "lib"
    libraries = {entry.name: entry for entry in libdir.iterdir()} if libdir.is_dir() else {}
    roots = [p for p in pyside.iterdir() if p not in removed and (_binding_name(p) or p.name.startswith("libpyside6"))]
    roots = [p for p in roots if p.suffix != ".pyi" and p.is_file()] + kept_plugins
    needed: set[str] = set()
    pending = list(roots)
    while pending:
        binary = pending.pop()
        for name in dependencies(binary):
            key = library_key(name)
            if key in libraries and key not in needed:
                needed.add(key)
                entry = libraries[key]
                target = _framework_binary(entry) if entry.is_dir() else entry
                if target is not None:
                    pending.append(target)
    removed.extend(entry for key, entry in sorted(libraries.items()) if key not in needed)
    if not dry_run:
        for path in removed:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    return removed


def macho_dependencies(binary: Path) -> set[str]:
    """Install names a Mach-O file links (macholib comes with py2app)."""
    from macholib.MachO import MachO

    names: set[str] = set()
    for header in MachO(str(binary)).headers:
        for _index, _command, name in header.walkRelocatables():
            names.add(name)
    return names


def is_universal_macho(path: Path) -> bool:
    """True for a fat (multi-architecture) Mach-O file."""
    try:
        with open(path, "rb") as fp:
            head = fp.read(8)
    except OSError:
        return False
    # FAT_MAGIC / FAT_MAGIC_64, big-endian, then a small architecture count (Java class files
    # share the magic but follow it with a version number in the thousands).
    return (
        len(head) == 8
        and head[:4] in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")
        and 0 < int.from_bytes(head[4:], "big") < 16
    )


def thin_to_arm64(root: Path) -> int:
    """Keep only the arm64 slice of every universal binary under ``root`` (macOS ``lipo``)."""
    count = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and is_universal_macho(path):
            thin = path.with_name(path.name + ".arm64")
            subprocess.run(["lipo", str(path), "-thin", "arm64", "-output", str(thin)], check=True)
            thin.replace(path)
            count += 1
    return count


def copy_namespace_packages(lib: Path) -> list[Path]:
    """Copy every portion of each package in ``NAMESPACE_PACKAGES`` into ``lib/<name>``."""
    import importlib.util

    copied = []
    for name in NAMESPACE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(f"{name} is not installed in this environment; the app needs it")
        for location in spec.submodule_search_locations:
            shutil.copytree(location, lib / name, dirs_exist_ok=True)
            copied.append(Path(location))
    return copied


def _py2app_command():
    """py2app's command with the pruning step; imported only when building (py2app is macOS-only)."""
    from py2app.build_app import py2app as Py2app

    class RVCStudioPy2app(Py2app):
        def finalize_options(self) -> None:
            # setuptools reads pyproject.toml's dependencies into install_requires, which py2app
            # 0.28 rejects; the build environment already has them installed.
            self.distribution.install_requires = []
            super().finalize_options()

        def build_executable(self, *args, **kwargs):
            appdir = super().build_executable(*args, **kwargs)
            lib = Path(appdir, "Contents", "Resources", "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}")
            copy_namespace_packages(lib)
            removed = prune_pyside6(lib / "PySide6", macho_dependencies)
            for extra in OTHER_EXTRAS_DROPPED:
                if (lib / extra).exists():
                    shutil.rmtree(lib / extra)
            thinned = thin_to_arm64(lib / "PySide6") + thin_to_arm64(lib / "shiboken6")
            print(f"*** RVC Studio: pruned {len(removed)} PySide6 entries, thinned {thinned} binaries to arm64 ***")
            return appdir

    return RVCStudioPy2app


if __name__ == "__main__":
    from setuptools import setup

    # modulegraph follows torch's and transformers' import chains recursively and overflows
    # Python's default limit of 1000 frames.
    sys.setrecursionlimit(20_000)
    setup(
        name=NAME,
        version=VERSION,
        app=APP,
        data_files=DATA_FILES,
        options={"py2app": OPTIONS},
        cmdclass={"py2app": _py2app_command()},
    )
