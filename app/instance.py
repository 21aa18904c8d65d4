"""One RVC Studio at a time owns the queue: a lock in the data folder and a local socket.

The first instance takes ``rvc-studio.lock`` in the app's data folder (a ``QLockFile``: it holds
the owner's process id, so a lock left by a ``kill -9`` is recognised as stale and taken over)
and listens on a local socket named after that folder. A second launch (from a terminal, or a
second copy of the app) cannot take the lock: it hands its file arguments to the first over the
socket, which queues them and comes to the front, and exits. On macOS a second launch from
Finder normally just reopens the running app; this covers everything else.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

LOCK_NAME = "rvc-studio.lock"
SEND_TIMEOUT_MS = 3000


def server_name(data_dir: Path) -> str:
    """A local socket name unique to the data folder (and short enough for every platform)."""
    digest = hashlib.sha1(str(Path(data_dir).resolve()).encode("utf-8")).hexdigest()[:16]
    return f"rvc-studio-{digest}"


class SingleInstance(QObject):
    """``acquire()`` in the first instance; ``send(files)`` from a second one."""

    files_received = Signal(list)  # paths another launch handed over
    activate = Signal()  # another launch asked for the window

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = QLockFile(str(self.data_dir / LOCK_NAME))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone, however old it is
        self._server: QLocalServer | None = None
        self.name = server_name(self.data_dir)

    def acquire(self) -> bool:
        """True if this process now owns the queue (and listens for other launches)."""
        if not self._lock.tryLock(0):
            return False
        server = QLocalServer(self)
        QLocalServer.removeServer(self.name)  # a socket file left by a crashed owner
        if not server.listen(self.name):
            log.warning("Cannot listen for other launches on %s: %s", self.name, server.errorString())
        server.newConnection.connect(self._accept)
        self._server = server
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()

    def owner_pid(self) -> int | None:
        info = self._lock.getLockInfo()  # PySide6: (pid, hostname, appname), empty when unknown
        pid = info[0] if isinstance(info, tuple) and info else 0
        return int(pid) if isinstance(pid, int) and pid > 0 else None

    def send(self, files: list[str]) -> bool:
        """Hand ``files`` (absolute paths) to the running instance; True if it took them."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(SEND_TIMEOUT_MS):
            return False
        payload = json.dumps({"files": [str(Path(f).expanduser().absolute()) for f in files]}).encode("utf-8")
        socket.write(QByteArray(payload + b"\n"))
        ok = socket.waitForBytesWritten(SEND_TIMEOUT_MS)
        # the owner answers once it has read the message, so nothing is lost if we exit now
        ok = ok and socket.waitForReadyRead(SEND_TIMEOUT_MS) and bytes(socket.readAll().data()).startswith(b"ok")
        socket.disconnectFromServer()
        return bool(ok)

    def _accept(self) -> None:
        while self._server is not None and self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            buffer = bytearray()

            def read(socket=socket, buffer=buffer) -> None:
                buffer.extend(bytes(socket.readAll().data()))
                if not buffer.endswith(b"\n"):
                    return
                files = _parse(bytes(buffer))
                socket.write(QByteArray(b"ok\n"))
                socket.flush()
                socket.disconnectFromServer()
                if files:
                    self.files_received.emit(files)
                self.activate.emit()

            socket.readyRead.connect(read)
            socket.disconnected.connect(socket.deleteLater)


def _parse(data: bytes) -> list[str]:
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        log.warning("Ignoring a malformed message from another launch")
        return []
    files = message.get("files") if isinstance(message, dict) else None
    return [f for f in files if isinstance(f, str) and f] if isinstance(files, list) else []
