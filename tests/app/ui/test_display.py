from pathlib import Path

from app.ui.display import home_as_tilde, short_path


def test_home_reads_as_tilde(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert short_path(tmp_path / "Music" / "Takes") == "~/Music/Takes"
    assert short_path(Path("/opt/models")) == "/opt/models"


def test_messages_write_paths_under_home_from_tilde(monkeypatch, tmp_path):
    home = tmp_path / "alice"
    monkeypatch.setenv("HOME", str(home))
    message = f"Searched: {home}/Library/Replay/weights, /opt/weights and {tmp_path}/alice2/weights"
    assert home_as_tilde(message) == f"Searched: ~/Library/Replay/weights, /opt/weights and {tmp_path}/alice2/weights"
    monkeypatch.setenv("HOME", "/")
    assert home_as_tilde("/Users/x/a.wav") == "/Users/x/a.wav"
