"""``rvc-studio models`` and ``rvc-studio info MODEL``: the model library on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inference.core.errors import RVCError


def register(subparsers) -> None:
    """Add the ``models`` and ``info`` commands to ``subparsers`` (from ``add_subparsers``)."""
    models = subparsers.add_parser(
        "models",
        help="list the voice models found",
        description="List the voice models in Replay's folder and in any folders given with --folder.",
    )
    _common(models)
    models.set_defaults(func=run_models)
    info = subparsers.add_parser(
        "info",
        help="show one model's details",
        description="Show one model's details. MODEL "
        "is a model's name (as `models` lists it), its id, or a path to a .pth file or model folder.",
    )
    info.add_argument("model", metavar="MODEL")
    _common(info)
    info.set_defaults(func=run_info)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--folder", metavar="DIR", action="append", type=Path, default=[], help="another folder of models (repeatable)"
    )
    parser.add_argument("--no-replay", action="store_true", help="leave out Replay's models folder")
    parser.add_argument(
        "--weights-dir",
        metavar="DIR",
        action="append",
        type=Path,
        default=[],
        help="a folder holding embedders (a model trained with another embedder than ContentVec "
        "needs its own; Replay's weights folder, ours and the Hugging Face cache are searched too)",
    )


def _library(args: argparse.Namespace):
    from inference.models.library import ModelLibrary

    return ModelLibrary(folders=args.folder, include_replay=not args.no_replay, weights_dirs=args.weights_dir)


def _fail(error: Exception) -> int:
    print(f"rvc-studio: {error}", file=sys.stderr)
    return 1


def run_models(args: argparse.Namespace) -> int:
    """Print the table (or JSON list) of models; exit code 0, or 1 on an error."""
    try:
        library = _library(args)
        models = sorted(library.scan(), key=lambda m: (m.name.casefold(), m.id))
    except (RVCError, OSError) as error:
        return _fail(error)
    if args.json:
        print(json.dumps([m.to_dict() for m in models], indent=2, ensure_ascii=False))
        return 0
    if not models:
        print(f"No models found ({library.searched_places()}).")
        return 0
    print(format_table(models))
    return 0


def format_table(models) -> str:
    """Name, version, rate, f0, vocoder, embedder, index and problems of each model, one line each."""
    rows = [("NAME", "VERSION", "RATE", "F0", "VOCODER", "EMBEDDER", "INDEX", "PROBLEMS")]
    for m in models:
        rate = f"{m.sample_rate // 1000}k" if m.sample_rate else "-"
        index = f"{m.index_width}" if m.index_path else "-"
        problems = "; ".join(_short(p) for p in m.problems)
        name = m.name if m.ok else f"{m.name} (unusable)"
        f0 = "-" if m.version is None else "yes" if m.f0 else "no"
        rows.append((name, m.version or "-", rate, f0, m.vocoder or "-", m.embedder or "-", index, problems))
    last = len(rows[0]) - 1
    widths = [max(len(r[i]) for r in rows) for i in range(last)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r[:last], widths)) + "  " + r[last] for r in rows
    ).rstrip()


def _short(text: str, limit: int = 90) -> str:
    """A problem cut to fit a table row (``info`` shows it whole)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def run_info(args: argparse.Namespace) -> int:
    """Print one model's details (or JSON); exit code 1 when no single model matches."""
    try:
        model = _library(args).find(args.model)
    except (RVCError, OSError) as error:
        return _fail(error)
    if args.json:
        print(json.dumps(model.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(format_info(model))
    return 0


def format_info(model) -> str:
    def size(n: int | None) -> str:
        return "-" if n is None else f"{n / 1e6:.1f} MB"

    lines = [
        ("Name", model.name),
        ("Id", model.id),
        ("Usable", "yes" if model.ok else "no"),
        ("Source", "Replay" if model.source == "replay" else "folder"),
        ("Folder", model.root),
        ("Model file", f"{model.model_path} ({size(model.model_size)})"),
        ("Version", model.version or "-"),
        ("Sample rate", f"{model.sample_rate} Hz" if model.sample_rate else "-"),
        # an unreadable file has no facts: dashes, as in the table, not the defaults
        ("Pitch (f0)", "-" if model.version is None else "yes" if model.f0 else "no"),
        ("Speakers", "-" if model.version is None else str(model.speakers)),
        ("Epochs", "-" if model.epochs is None else str(model.epochs)),
        ("Info", model.info or "-"),
        ("Author", model.author or "-"),
        ("Embedder", model.embedder or "-"),
        ("Vocoder", model.vocoder or "-"),
        (
            "Index",
            f"{model.index_path} ({model.index_width} wide, {size(model.index_size)})" if model.index_path else "none",
        ),
    ]
    lines += [("Problem", p) for p in model.problems]
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in lines)
