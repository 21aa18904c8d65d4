"""Colours and the style sheet, following the system's light or dark appearance.

The native style already follows macOS' appearance; the few things we draw ourselves (badges,
the drop zone, plot curves) take their colours from here, recomputed from the palette whenever
the appearance changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette


@dataclass(frozen=True)
class Colors:
    dark: bool
    background: QColor
    panel: QColor
    text: QColor
    muted: QColor
    accent: QColor
    input_wave: QColor
    output_wave: QColor
    f0_input: QColor
    f0_target: QColor
    region: QColor
    playhead: QColor
    grid: QColor
    badge_bg: QColor
    badge_text: QColor
    ok: QColor
    warn: QColor
    error: QColor


def is_dark(palette: QPalette | None = None) -> bool:
    app = QGuiApplication.instance()
    if palette is None and app is not None:
        hints = app.styleHints()
        scheme = getattr(hints, "colorScheme", None)
        if scheme is not None:
            value = scheme()
            if value == Qt.ColorScheme.Dark:
                return True
            if value == Qt.ColorScheme.Light:
                return False
    palette = palette or (QGuiApplication.palette() if app is not None else QPalette())
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def colors(palette: QPalette | None = None) -> Colors:
    dark = is_dark(palette)
    palette = palette or QGuiApplication.palette()
    accent = palette.color(QPalette.ColorRole.Highlight)
    if accent.saturation() < 60:  # a grey highlight (some Linux themes): use our own
        accent = QColor("#0a84ff") if dark else QColor("#007aff")
    if dark:
        return Colors(
            dark=True,
            background=QColor("#1e1e1e"),
            panel=QColor("#262626"),
            text=QColor("#ececec"),
            muted=QColor("#9a9a9a"),
            accent=accent,
            input_wave=QColor("#8e9bb0"),
            output_wave=QColor("#ff9f0a"),
            f0_input=QColor("#8e9bb0"),
            f0_target=QColor("#ff9f0a"),
            region=QColor(10, 132, 255, 40),
            playhead=QColor("#ff453a"),
            grid=QColor(255, 255, 255, 30),
            badge_bg=QColor(255, 255, 255, 28),
            badge_text=QColor("#d0d0d0"),
            ok=QColor("#32d74b"),
            warn=QColor("#ffd60a"),
            error=QColor("#ff453a"),
        )
    return Colors(
        dark=False,
        background=QColor("#ffffff"),
        panel=QColor("#f5f5f7"),
        text=QColor("#1d1d1f"),
        muted=QColor("#6e6e73"),
        accent=accent,
        input_wave=QColor("#5b6b82"),
        output_wave=QColor("#e07800"),
        f0_input=QColor("#7d8799"),
        f0_target=QColor("#e07800"),
        region=QColor(0, 122, 255, 32),
        playhead=QColor("#ff3b30"),
        grid=QColor(0, 0, 0, 30),
        badge_bg=QColor(0, 0, 0, 16),
        badge_text=QColor("#3a3a3c"),
        ok=QColor("#248a3d"),
        warn=QColor("#b25000"),
        error=QColor("#d70015"),
    )


def style_sheet(c: Colors) -> str:
    """A small style sheet on top of the native style: only what the native look lacks."""
    border = "rgba(255,255,255,0.14)" if c.dark else "rgba(0,0,0,0.12)"
    shade = "rgba(255,255,255,0.10)" if c.dark else "rgba(0,0,0,0.07)"  # a checked switch with nothing to play
    return f"""
    QLabel#sectionTitle {{ font-weight: 600; color: {c.muted.name()}; }}
    QLabel#fileTitle {{ font-size: 15px; font-weight: 600; }}
    QLabel#hint, QLabel#previewTime, QLabel#countLabel {{ color: {c.muted.name()}; }}
    QLabel#emptyBody {{ color: {c.muted.name()}; }}
    QLabel#dropMessage {{ color: {c.warn.name()}; }}
    QLabel#notice {{ color: {c.error.name()}; padding: 4px 2px; }}
    QFrame#panel {{ border: 1px solid {border}; border-radius: 8px; }}
    QPushButton#primary {{ font-weight: 600; }}
    QTreeView#modelList {{ border: none; }}
    QPushButton#abButton {{ padding: 3px 10px; border: 1px solid {border}; border-radius: 5px; }}
    QPushButton#abButton:checked {{ background: {c.accent.name()}; color: white; border-color: {c.accent.name()}; }}
    QPushButton#abButton:disabled {{ color: {c.muted.name()}; }}
    QPushButton#abButton:checked:disabled {{ background: {shade}; border-color: {border}; }}
    """
