"""scripts/setup.sh: a second run with nothing changed installs nothing, whichever command ran first.

The script runs on a copy of the repository's ``pyproject.toml`` and ``scripts/setup.sh`` with a
stand-in ``.venv/bin/python`` that records its arguments and succeeds, so what the script would
install shows up as recorded calls and nothing is installed for real. The system packages are
checked for real (``make test`` has installed them on this machine).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path}/calls.log"\nexit 0\n')
    python.chmod(0o755)
    return tmp_path


def setup(checkout: Path, *args: str) -> list[str]:
    """Run setup.sh; the stand-in python's recorded calls."""
    log = checkout / "calls.log"
    log.unlink(missing_ok=True)
    done = subprocess.run(
        ["bash", "scripts/setup.sh", *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return log.read_text().splitlines() if log.exists() else []


def installs(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("-m pip install")]


def test_second_runs_install_nothing_after_make_test(checkout: Path) -> None:
    first = setup(checkout, "--dev")
    assert any(c.endswith("-e .[dev]") for c in installs(first)), first
    assert setup(checkout, "--dev") == []
    if sys.platform == "darwin":  # make run after make test adds py2app once (for make app)
        assert [c for c in installs(setup(checkout)) if c.endswith("-e .[app]")]
        assert setup(checkout) == []
    else:  # the dev install holds all the app needs
        assert setup(checkout) == []


def test_make_run_first_then_make_test_adds_the_test_tools(checkout: Path) -> None:
    assert any(c.endswith("-e .") for c in installs(setup(checkout))), "app install"
    assert setup(checkout) == []
    assert any(c.endswith("-e .[dev]") for c in installs(setup(checkout, "--dev")))
    assert setup(checkout, "--dev") == []


def test_a_changed_pyproject_reinstalls(checkout: Path) -> None:
    setup(checkout, "--dev")
    with open(checkout / "pyproject.toml", "a") as f:
        f.write("\n# changed\n")
    assert installs(setup(checkout, "--dev"))
