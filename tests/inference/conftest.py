"""Fixtures shared by the engine's tests."""

from __future__ import annotations

import pytest

from tests.support.library import Files, make_library_files


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> Files:
    """Voice-model and index files of every kind, made once per session (copy them into trees)."""
    return make_library_files(tmp_path_factory.mktemp("library-files"))
