"""Entry script of the macOS bundle (py2app's ``APP``): the same ``main()`` as ``rvc-studio``.

py2app runs this file as ``__main__`` from ``RVC Studio.app/Contents/Resources``, so
``RVC Studio.app/Contents/MacOS/RVC Studio --self-test`` behaves like ``rvc-studio --self-test``.
"""

from __future__ import annotations

import os
import sys


def run() -> int:
    """Start RVC Studio with this process's arguments."""
    if getattr(sys, "frozen", None) == "macosx_app":
        # librosa's numba functions cache their compiled code beside their source by default,
        # which inside a bundle means writing into the signed app; send it to our cache folder.
        from inference.core.paths import cache_dir

        os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
    from app.main import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
