"""Consented downloads against a local HTTP server on 127.0.0.1 (never the network): a whole
transfer, an interrupted one resumed with ``Range``, a wrong checksum refused leaving nothing,
a server error, no network, cancelling, and Replay's folder refused."""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path

import pytest

from inference.core.download import DownloadError, download
from inference.core.errors import Cancelled
from tests.support.http_server import PAYLOAD, Server

SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_whole_transfer_is_checked_and_moved_into_place(server, tmp_path, monkeypatch):
    monkeypatch.setattr("inference.core.download.BLOCK", 1 << 16)
    seen = []
    path = download(server.url, tmp_path / "m" / "model.onnx", SHA, len(PAYLOAD), lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == PAYLOAD
    assert leftovers(tmp_path / "m") == ["model.onnx"]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and len(seen) > 1
    server.ranges.clear()
    assert download(server.url, path, SHA, len(PAYLOAD)) == path  # already there: no transfer
    assert server.ranges == []


def test_an_interrupted_transfer_is_resumed_with_a_range_request(server, tmp_path):
    target = tmp_path / "model.onnx"
    server.cuts = [300_000]
    with pytest.raises(DownloadError, match="run the download again to resume"):
        download(server.url, target, SHA, len(PAYLOAD), retries=0)
    assert not target.exists()
    assert (tmp_path / "model.onnx.part").stat().st_size == 300_000
    download(server.url, target, SHA, len(PAYLOAD))
    assert server.ranges == [None, "bytes=300000-"]
    assert target.read_bytes() == PAYLOAD and leftovers(tmp_path) == ["model.onnx"]


def test_retries_resume_within_one_call(server, tmp_path):
    server.cuts = [100_000, 200_000]
    download(server.url, tmp_path / "model.onnx", SHA, len(PAYLOAD), retries=2)
    assert server.ranges == [None, "bytes=100000-", "bytes=300000-"]
    assert (tmp_path / "model.onnx").read_bytes() == PAYLOAD


def test_a_server_that_ignores_the_range_is_read_from_the_start(server, tmp_path):
    server.cuts = [100_000]
    server.ignore_range = True
    download(server.url, tmp_path / "model.onnx", SHA, len(PAYLOAD), retries=1)
    assert (tmp_path / "model.onnx").read_bytes() == PAYLOAD


def test_a_wrong_checksum_is_refused_and_nothing_is_left(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum mismatch.*nothing was kept") as error:
        download(server.url, tmp_path / "model.onnx", "0" * 64, len(PAYLOAD))
    assert "\n" not in str(error.value)
    assert leftovers(tmp_path) == []


def test_a_wrong_size_is_refused(server, tmp_path):
    with pytest.raises(DownloadError, match="expected 12"):
        download(server.url, tmp_path / "model.onnx", SHA, 12)
    assert not (tmp_path / "model.onnx").exists()


def test_a_partial_file_of_another_download_is_not_resumed(server, tmp_path):
    (tmp_path / "model.onnx.part").write_bytes(b"x" * 1000)
    (tmp_path / "model.onnx.part.json").write_text('{"url": "http://elsewhere/", "sha256": "00"}')
    download(server.url, tmp_path / "model.onnx", SHA, len(PAYLOAD))
    assert server.ranges == [None]
    assert (tmp_path / "model.onnx").read_bytes() == PAYLOAD


def test_a_server_error_is_one_line(server, tmp_path):
    server.status = 503
    with pytest.raises(DownloadError, match="the server answered 503") as error:
        download(server.url, tmp_path / "model.onnx", SHA, len(PAYLOAD))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "model.onnx").exists()


def test_offline_is_one_line(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot reach 127.0.0.1") as error:
        download(f"http://127.0.0.1:{port}/model.onnx", tmp_path / "model.onnx", SHA, len(PAYLOAD), timeout=5)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "model.onnx").exists()


def test_cancel_keeps_the_partial_file_for_a_resume(server, tmp_path, monkeypatch):
    monkeypatch.setattr("inference.core.download.BLOCK", 1 << 16)
    cancel = threading.Event()

    def stop(done: int, total: int | None) -> None:
        if done > 200_000:
            cancel.set()

    with pytest.raises(Cancelled):
        download(server.url, tmp_path / "model.onnx", SHA, len(PAYLOAD), stop, cancel)
    assert not (tmp_path / "model.onnx").exists()
    kept = (tmp_path / "model.onnx.part").stat().st_size
    assert 200_000 < kept < len(PAYLOAD)
    download(server.url, tmp_path / "model.onnx", SHA, len(PAYLOAD))
    assert server.ranges[-1] == f"bytes={kept}-"


def test_never_inside_replays_folder(server, fake_home):
    replay = fake_home / "Replay" / "com.replay.Replay" / "weights"
    with pytest.raises(DownloadError, match="inside Replay's folder"):
        download(server.url, replay / "model.onnx", SHA, len(PAYLOAD))
    assert server.ranges == [] and not (replay / "model.onnx.part").exists()
