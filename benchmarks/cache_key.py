"""What the analysis cache's input key costs on a 10-minute file.

Run from the repository root::

    .venv/bin/python -m benchmarks.cache_key

The key of an input is the sha256 of its content, remembered by path and file identity (size,
mtime, inode, ctime: ``inference.core.filecache.remembered_sha256``). A re-run costs one ``stat``
and one small JSON read; the hash itself is paid once per content change. Printed side by side:
the remembered key, the first hash (sha256), and a fast non-cryptographic content hash (xxhash,
when installed) for comparison, on a 10-minute 44.1 kHz stereo 16-bit WAV (about 106 MB).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    import soundfile as sf

    from inference.core.filecache import remembered_sha256, sha256_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        song = Path(tmp) / "song.wav"
        rng = np.random.default_rng(0)
        n = int(args.minutes * 60 * 44100)
        sf.write(song, (0.1 * rng.standard_normal((n, 2))).astype(np.float32), 44100, subtype="PCM_16")
        size = song.stat().st_size
        memo = Path(tmp) / "memo"
        first = _best(lambda: sha256_file(song), args.repeats)
        remembered_sha256(song, memo)
        key = _best(lambda: remembered_sha256(song, memo), max(args.repeats, 20))
        print(f"{args.minutes:g}-minute 44.1 kHz stereo WAV, {size / 1e6:.0f} MB (page cache warm)")
        print(f"  remembered key (stat + memo read): {key * 1e3:8.3f} ms")
        print(f"  first hash, sha256:                {first * 1e3:8.1f} ms ({size / first / 1e9:.2f} GB/s)")
        try:
            import xxhash

            def xx() -> None:
                digest = xxhash.xxh3_128()
                with open(song, "rb") as handle:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)

            fast = _best(xx, args.repeats)
            print(f"  xxh3-128 for comparison:           {fast * 1e3:8.1f} ms ({size / fast / 1e9:.2f} GB/s)")
        except ImportError:
            print("  (xxhash not installed: no fast-hash comparison)")
        print(f"  remembered key / first sha256: {key / first:.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
