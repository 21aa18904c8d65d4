#!/usr/bin/env bash
# Run the whole test suite headless, one pytest worker per core. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
export PYTHONDONTWRITEBYTECODE=1
# Each worker keeps torch on one thread: the cores are shared out between workers instead
# (the whole suite took 3m50s on the 2-core CI machine).
export RVC_STUDIO_TORCH_THREADS="${RVC_STUDIO_TORCH_THREADS:-1}"
# The lint first (seconds): pyflakes, pycodestyle, isort, bugbear, pyupgrade (pyproject.toml), and
# the formatting. Skipped when arguments name particular tests.
if [[ $# -eq 0 ]]; then
  .venv/bin/ruff check --quiet . || { echo "ruff check failed: fix the findings above (or .venv/bin/ruff check --fix .)"; exit 1; }
  .venv/bin/ruff format --check --quiet . || { echo "ruff format: run .venv/bin/ruff format . to format the files above"; exit 1; }
fi
exec .venv/bin/python -m pytest -n auto "$@"
