"""Draw RVC Studio's icon and write ``RVCStudio.png`` (1024 px) and ``RVCStudio.icns``.

    python resources/make_icon.py [--out resources] [--iconset build/RVCStudio.iconset]

The design: on a dark rounded square, one voice's slow, wide waveform (cyan, left) turns into
another voice's quicker, tighter one (coral, right), over faint level bars that morph the same
way. Drawn with QPainter on an offscreen QImage, so it runs on Linux without a display.

``iconutil`` exists only on macOS, so the ``.icns`` container is written here: the 8-byte
``icns`` header (magic + total length, big-endian), a ``TOC `` chunk listing the entries, then
one chunk per size, each a 4-character type + length (header included) + a PNG. PNG payloads
are valid for every type used (macOS 10.7+).
"""

from __future__ import annotations

import argparse
import math
import os
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MASTER = 1024

# (.iconset file name, pixel size, icns chunk type). The PNG set is what iconutil would read.
ICONSET = (
    ("icon_16x16.png", 16, b"icp4"),
    ("icon_16x16@2x.png", 32, b"ic11"),
    ("icon_32x32.png", 32, b"icp5"),
    ("icon_32x32@2x.png", 64, b"ic12"),
    ("icon_128x128.png", 128, b"ic07"),
    ("icon_128x128@2x.png", 256, b"ic13"),
    ("icon_256x256.png", 256, b"ic08"),
    ("icon_256x256@2x.png", 512, b"ic14"),
    ("icon_512x512.png", 512, b"ic09"),
    ("icon_512x512@2x.png", 1024, b"ic10"),
)


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _morph(u: float) -> float:
    """0 on the left (voice A) to 1 on the right (voice B), changing across the middle."""
    return _smoothstep((u - 0.3) / 0.4)


def _envelope(u: float) -> float:
    """Loudness along the icon: voice A's two slow syllables, voice B's four quick ones."""
    a = abs(math.sin(math.pi * 2.0 * u)) ** 0.8
    b = 0.35 + 0.65 * abs(math.sin(math.pi * 4.0 * u + 0.6))
    fade = math.sin(math.pi * u) ** 0.35  # both ends taper to silence
    m = _morph(u)
    return fade * ((1 - m) * a + m * b)


def render_icon(size: int = MASTER):
    """Return the icon as a ``QImage`` (ARGB32 premultiplied, transparent outside the tile)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QLinearGradient, QPainter, QPainterPath, QPen

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    s = size / MASTER  # everything below is laid out on the 1024 grid
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)

    # macOS tile: 824 px rounded square centred on the 1024 canvas.
    tile = QRectF(100 * s, 100 * s, 824 * s, 824 * s)
    background = QLinearGradient(tile.topLeft(), tile.bottomRight())
    background.setColorAt(0.0, QColor("#1d2147"))
    background.setColorAt(1.0, QColor("#3b1650"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(background))
    painter.drawRoundedRect(tile, 185 * s, 185 * s)
    rim = QPen(QColor(255, 255, 255, 40), 4 * s)
    painter.setPen(rim)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(tile.adjusted(2 * s, 2 * s, -2 * s, -2 * s), 183 * s, 183 * s)

    left, right, mid_y, half_height = 190.0, 834.0, 512.0, 250.0
    cyan, coral = QColor("#3fe0ff"), QColor("#ff6f91")

    def colour_at(u: float, alpha: int) -> QColor:
        m = _morph(u)
        return QColor(
            round(cyan.red() + (coral.red() - cyan.red()) * m),
            round(cyan.green() + (coral.green() - cyan.green()) * m),
            round(cyan.blue() + (coral.blue() - cyan.blue()) * m),
            alpha,
        )

    # Faint level bars behind the line.
    bars = 29
    for i in range(bars):
        u = (i + 0.5) / bars
        x = left + u * (right - left)
        h = max(10.0, half_height * 0.9 * _envelope(u))
        painter.setPen(QPen(colour_at(u, 70), 12 * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(QPointF(x * s, (mid_y - h) * s), QPointF(x * s, (mid_y + h) * s))

    # The waveform: a slow wave whose frequency rises as it becomes the second voice.
    path = QPainterPath()
    steps = 900
    phase = 0.0
    for i in range(steps + 1):
        u = i / steps
        frequency = 3.0 + 9.0 * _morph(u)  # cycles across the full width
        if i:
            phase += 2 * math.pi * frequency / steps
        y = mid_y - half_height * _envelope(u) * math.sin(phase)
        point = QPointF((left + u * (right - left)) * s, y * s)
        if i:
            path.lineTo(point)
        else:
            path.moveTo(point)
    stroke = QLinearGradient(QPointF(left * s, 0), QPointF(right * s, 0))
    for u in (0.0, 0.3, 0.5, 0.7, 1.0):
        stroke.setColorAt(u, colour_at(u, 255))
    glow = QPen(QBrush(stroke), 34 * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setOpacity(0.25)
    painter.setPen(glow)
    painter.drawPath(path)
    painter.setOpacity(1.0)
    painter.setPen(
        QPen(QBrush(stroke), 14 * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    )
    painter.drawPath(path)
    painter.end()
    return image


def png_bytes(image) -> bytes:
    """Encode a QImage as PNG."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode the icon as PNG")
    buffer.close()
    return bytes(data.data())


def scaled_set(master) -> dict[int, bytes]:
    """PNG bytes for every pixel size of the icon set, halving step by step for clean edges."""
    from PySide6.QtCore import Qt

    sizes = sorted({size for _name, size, _type in ICONSET}, reverse=True)
    result: dict[int, bytes] = {}
    current = master
    for size in sizes:
        while current.width() // 2 >= size:
            current = current.scaled(
                current.width() // 2,
                current.height() // 2,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        image = (
            current
            if current.width() == size
            else current.scaled(
                size, size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )
        result[size] = png_bytes(image)
    return result


def icns_bytes(entries: list[tuple[bytes, bytes]]) -> bytes:
    """An ``.icns`` file from ``(4-byte type, payload)`` entries, with a table of contents."""
    for kind, _payload in entries:
        if len(kind) != 4:
            raise ValueError(f"icns chunk type must be 4 bytes: {kind!r}")
    toc = b"".join(kind + struct.pack(">I", 8 + len(payload)) for kind, payload in entries)
    chunks = [(b"TOC ", toc), *entries]
    body = b"".join(kind + struct.pack(">I", 8 + len(payload)) + payload for kind, payload in chunks)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def _ensure_gui():
    """QPainter needs a QGuiApplication for its font and colour machinery; keep it offscreen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication([sys.argv[0]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for RVCStudio.png and .icns")
    parser.add_argument("--iconset", type=Path, default=None, help="also write the PNG set here")
    args = parser.parse_args(argv)
    _app = _ensure_gui()
    pngs = scaled_set(render_icon(MASTER))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "RVCStudio.png").write_bytes(pngs[MASTER])
    (args.out / "RVCStudio.icns").write_bytes(icns_bytes([(kind, pngs[size]) for _n, size, kind in ICONSET]))
    if args.iconset is not None:
        args.iconset.mkdir(parents=True, exist_ok=True)
        for name, size, _kind in ICONSET:
            (args.iconset / name).write_bytes(pngs[size])
    print(f"wrote {args.out / 'RVCStudio.png'} and {args.out / 'RVCStudio.icns'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
