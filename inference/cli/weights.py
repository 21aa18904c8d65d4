"""``rvc-studio weights``: the weights a conversion and a cover use, what was found, and where.

The embedder (hubert) and the pitch model (rmvpe), then every separation model found in
Replay's folder, Ultimate Vocal Remover's, the RVC WebUI's, audio-separator's, pymss's, our own
downloads and the folders given; then the defaults that are missing and how to download them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inference.core.errors import RVCError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "weights",
        help="list the embedder, pitch and separation weights found, and where",
        description="List the weights found (the embedder, the pitch model, separation models) and where they are.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--weights-dir", action="append", type=Path, default=[], metavar="DIR", help="a folder of hubert/rmvpe weights"
    )
    p.add_argument(
        "--separator-dir", action="append", type=Path, default=[], metavar="DIR", help="a folder of separation models"
    )
    p.set_defaults(func=run_weights)


def gather(weights_dirs, separator_dirs) -> dict:
    """What was found: ``{"weights": [...], "separation": [...], "missing": [...], "searched": [...]}``."""
    from inference.covers import catalog
    from inference.covers.find import scan, search_places
    from inference.models.weights import find_weight

    weights = []
    for kind in ("hubert", "rmvpe"):
        try:
            weights.append({"kind": kind, "path": str(find_weight(kind, weights_dirs))})
        except RVCError as error:
            weights.append({"kind": kind, "path": None, "problem": str(error)})
    models = scan(separator_dirs)
    names = {m.name.lower() for m in models}
    missing = [
        {
            "name": d.name,
            "file": d.file_name,
            "size": d.size,
            "purpose": d.purpose,
            "command": f"rvc-studio download {d.name}",
        }
        for d in catalog.DOWNLOADS.values()
        if d.file_name.rsplit(".", 1)[0].lower() not in names
    ]
    return {
        "weights": weights,
        "separation": [m.to_dict() for m in models],
        "missing": missing,
        "searched": [{"place": p.label, "folder": str(p.folder)} for p in search_places(separator_dirs)],
    }


def run_weights(args: argparse.Namespace) -> int:
    found = gather(args.weights_dir, args.separator_dir)
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    for item in found["weights"]:
        print(f"{item['kind']:8} {item['path'] or 'not found'}")
    print()
    rows = [("SEPARATION MODEL", "KIND", "FOR", "WHERE", "PATH")]
    rows += [(m["name"], m["family"], m["purpose"], m["place"], m["path"]) for m in found["separation"]]
    if len(rows) == 1:
        print("No separation models found.")
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    if found["missing"]:
        print()
    for item in found["missing"]:
        print(
            f"Not found: {item['file']} ({item['size'] / 1e6:.0f} MB, {item['purpose']}); "
            f"get it with: {item['command']}"
        )
    print("\nSearched: " + "; ".join(f"{p['folder']} ({p['place']})" for p in found["searched"]))
    return 0
