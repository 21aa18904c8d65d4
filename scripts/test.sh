#!/usr/bin/env bash
# Run the whole test suite headless, one pytest worker per core. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
export PYTHONDONTWRITEBYTECODE=1
# Each worker keeps torch on one thread: the cores are shared out between workers instead
# (the whole suite took 3m50s on the 2-core CI machine).
export RVC_STUDIO_TORCH_THREADS="${RVC_STUDIO_TORCH_THREADS:-1}"
exec .venv/bin/python -m pytest -n auto "$@"
