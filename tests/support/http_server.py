"""A file server on 127.0.0.1 for the download tests: Range requests, dropped connections,
errors on demand, and a record of the requests (tests never reach the network)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAYLOAD = bytes(range(256)) * 3000 + b"tail"  # 768 KB: several blocks


class Server:
    """Serves ``PAYLOAD`` at ``/model.onnx`` (or ``files``: path -> bytes, 404 for others);
    ``cut_after`` bytes then drops the connection (once per entry in ``cuts``); ``status``
    answers every request with that error; records requests."""

    def __init__(self, payload: bytes = PAYLOAD, files: dict[str, bytes] | None = None) -> None:
        self.cuts: list[int] = []
        self.status: int | None = None
        self.ranges: list[str | None] = []
        self.ignore_range = False
        server = self
        default = payload

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.ranges.append(self.headers.get("Range"))
                if server.status is not None:
                    self.send_error(server.status, "Broken on purpose")
                    return
                payload = default if files is None else files.get(self.path.split("?")[0])
                if payload is None:
                    self.send_error(404, "Not here")
                    return
                start = 0
                if self.headers.get("Range") and not server.ignore_range:
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
                else:
                    self.send_response(200)
                body = payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cuts:
                    self.wfile.write(body[: server.cuts.pop(0)])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"{self.base}/model.onnx"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
