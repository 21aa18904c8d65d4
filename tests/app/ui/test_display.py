from pathlib import Path

from app.ui.display import short_path


def test_home_reads_as_tilde(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert short_path(tmp_path / "Music" / "Takes") == "~/Music/Takes"
    assert short_path(Path("/opt/models")) == "/opt/models"
