"""``rvc-studio presets [--import FILE...] [--json]``: the saved presets, and Applio's imported.

The presets are the window's (one ``presets.json`` in the app's data folder); ``convert
--preset NAME`` uses them. ``--import`` adds Applio preset files (``assets/presets/*.json``,
``assets/formant_shift/*.json``) under their file names.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "presets",
        help="list the saved presets, or import Applio's",
        description="List the presets saved in the window (convert --preset NAME uses them), or import "
        "Applio preset files.",
    )
    p.add_argument("--import", dest="files", metavar="FILE", nargs="+", type=Path, default=[], help="Applio presets")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run_presets)


def run_presets(args: argparse.Namespace) -> int:
    """Import what was named (each failure is a line; exit 1 if any), then list the presets."""
    import sys

    from inference.pipeline.presets import PresetError, PresetStore

    store = PresetStore()
    failed = 0
    for path in args.files:
        try:
            name = store.import_applio(path)
        except PresetError as error:
            print(f"rvc-studio: {error}", file=sys.stderr)
            failed += 1
            continue
        print(f"imported {path} as “{name}”", file=sys.stderr)
    presets = store.load()
    if args.json:
        print(json.dumps(presets, indent=2, ensure_ascii=False))
    elif not presets:
        print(f"No presets saved yet ({store.path}).")
    for name, values in presets.items() if not args.json else ():
        print(f"{name}: " + ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()))
    return 1 if failed else 0
