"""Waveforms and pitch curves (pyqtgraph): original and converted audio time-aligned, the input
F0 with the shifted target over it (note names or Hz), a draggable preview region, a playhead.

The widget only draws arrays it is given (workers compute envelopes and curves)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.ui import theme
from app.workers.waveform import PitchCurves, Waveform, hz_to_midi, midi_to_hz, note_name

HZ_TICKS = (50, 100, 200, 400, 800)
HZ_MINOR = (75, 150, 300, 600, 1000)
DEFAULT_REGION_S = 10.0


def format_time(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}" if rest % 1 else f"{int(minutes)}:{int(rest):02d}"


class TimeAxis(pg.AxisItem):
    """Seconds shown as m:ss."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        return [format_time(v) for v in values]


class PitchAxis(pg.AxisItem):
    """The pitch plot's y values are MIDI note numbers; labels are note names or Hz."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.note_names = True

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's override and names
        if self.note_names:
            span = maxVal - minVal
            major = 12 if span > 18 else (4 if span > 8 else 1)
            first = int(np.ceil(minVal / major) * major)
            majors = list(range(first, int(maxVal) + 1, major))
            minor = [m for m in range(int(np.ceil(minVal)), int(maxVal) + 1) if m % 12 in (4, 7)] if major == 12 else []
            return [(major, majors), (1, [m for m in minor if m not in majors])]
        majors = [float(hz_to_midi(np.array([h]))[0]) for h in HZ_TICKS]
        minors = [float(hz_to_midi(np.array([h]))[0]) for h in HZ_MINOR]
        return [(12, [m for m in majors if minVal <= m <= maxVal]), (6, [m for m in minors if minVal <= m <= maxVal])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        if self.note_names:
            return [note_name(v) for v in values]
        return [f"{midi_to_hz(v):.0f}" for v in values]


class PlotsPanel(QWidget):
    region_changed = Signal(float, float)  # seconds on the input's time axis
    seek_requested = Signal(float)
    note_names_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.duration = 0.0
        self._syncing = False
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setSpacing(2)
        self.input_plot = self.graphics.addPlot(row=0, col=0, axisItems={"bottom": TimeAxis("bottom")})
        self.output_plot = self.graphics.addPlot(row=1, col=0, axisItems={"bottom": TimeAxis("bottom")})
        self.pitch_axis = PitchAxis("left")
        self.pitch_plot = self.graphics.addPlot(
            row=2, col=0, axisItems={"bottom": TimeAxis("bottom"), "left": self.pitch_axis}
        )
        self.graphics.ci.layout.setRowStretchFactor(0, 2)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.graphics.ci.layout.setRowStretchFactor(2, 3)
        self.plots = (self.input_plot, self.output_plot, self.pitch_plot)
        for plot in self.plots:
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(44)
            plot.setLimits(xMin=0)
        for plot in (self.input_plot, self.output_plot):
            plot.setMouseEnabled(x=True, y=False)
            plot.setYRange(-1, 1, padding=0.05)
            plot.getAxis("left").setTicks([[(-1, ""), (0, ""), (1, "")]])
            plot.getAxis("bottom").setStyle(showValues=False)
        self.output_plot.setXLink(self.input_plot)
        self.pitch_plot.setXLink(self.input_plot)
        self.pitch_plot.setMouseEnabled(x=True, y=True)
        self.pitch_plot.setYRange(40, 84)
        self.input_plot.setLabel("left", "Original")
        self.output_plot.setLabel("left", "Converted")
        self.pitch_plot.setLabel("left", "Pitch")

        self.input_curve = self._wave_curve(self.input_plot)
        self.vocal_curve = self._wave_curve(self.input_plot)  # a cover: the separated vocal, over the song
        self.output_curve = self._wave_curve(self.output_plot)
        self.f0_in_curve = _cached(self.pitch_plot.plot([], [], connect="finite"))
        self.f0_target_curve = _cached(self.pitch_plot.plot([], [], connect="finite"))
        self.progress_region = pg.LinearRegionItem((0, 0), movable=False)
        self.progress_region.setZValue(-5)
        for line in self.progress_region.lines:
            line.setPen(pg.mkPen(None))
        self.output_plot.addItem(self.progress_region)
        self.output_hint = pg.TextItem("", anchor=(0.5, 0.5))
        self.output_plot.addItem(self.output_hint, ignoreBounds=True)

        self.regions = []
        self.playheads = []
        for plot in self.plots:
            region = pg.LinearRegionItem((0, DEFAULT_REGION_S))
            region.setZValue(-10)
            region.sigRegionChanged.connect(self._region_moved)
            region.sigRegionChangeFinished.connect(self._region_finished)
            plot.addItem(region)
            self.regions.append(region)
            line = pg.InfiniteLine(pos=0, angle=90, movable=False)
            line.setZValue(20)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.playheads.append(line)
            plot.scene().sigMouseClicked.connect(self._clicked)

        self.legend = QLabel("", objectName="hint")
        self.units_button = QToolButton(text="Hz", checkable=True)
        self.units_button.setToolTip("Show pitch in Hz instead of note names")
        self.units_button.toggled.connect(lambda hz: self.set_note_names(not hz, emit=True))
        self.fit_button = QToolButton(text="Fit")
        self.fit_button.setToolTip("Show the whole file (scroll to zoom, drag to move)")
        self.fit_button.clicked.connect(self.fit)
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.legend, 1)
        header.addWidget(self.units_button)
        header.addWidget(self.fit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.graphics, 1)
        self.apply_theme()
        self.clear()

    def _wave_curve(self, plot) -> pg.PlotDataItem:
        curve = plot.plot([], [])
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        return _cached(curve)

    # -- appearance -------------------------------------------------------------------------
    def apply_theme(self) -> None:
        c = theme.colors(self.palette())
        self.colors = c
        self.graphics.setBackground(c.background)
        for plot in self.plots:
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(c.grid))
                axis.setTextPen(pg.mkPen(c.muted))
            plot.showGrid(x=True, y=plot is self.pitch_plot, alpha=0.15)
        self.input_curve.setPen(pg.mkPen(c.input_wave, width=1))
        self.vocal_curve.setPen(pg.mkPen(c.accent, width=1))
        self.output_curve.setPen(pg.mkPen(c.output_wave, width=1))
        self.f0_in_curve.setPen(pg.mkPen(c.f0_input, width=1.5))
        self.f0_target_curve.setPen(pg.mkPen(c.f0_target, width=2.2))
        progress = QColor(c.output_wave)
        progress.setAlpha(45)
        self.progress_region.setBrush(pg.mkBrush(progress))
        self.output_hint.setColor(c.muted)
        for region in self.regions:
            region.setBrush(pg.mkBrush(c.region))
            edge = QColor(c.accent)
            edge.setAlpha(160)
            for line in region.lines:
                line.setPen(pg.mkPen(edge, width=1.5))
                line.setHoverPen(pg.mkPen(c.accent, width=3))
        for line in self.playheads:
            line.setPen(pg.mkPen(c.playhead, width=1.5))
        self.legend.setText(
            f"<span style='color:{c.f0_input.name()}'>━ original pitch</span> &nbsp; "
            f"<span style='color:{c.f0_target.name()}'>━ target pitch</span> &nbsp; "
            f"<span style='color:{c.accent.name()}'>▮ preview region</span>"
        )

    def changeEvent(self, event) -> None:  # noqa: N802 - follow light/dark switches
        from PySide6.QtCore import QEvent

        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.apply_theme()
        super().changeEvent(event)

    def set_note_names(self, on: bool, emit: bool = False) -> None:
        self.pitch_axis.note_names = bool(on)
        self.units_button.blockSignals(True)
        self.units_button.setChecked(not on)
        self.units_button.blockSignals(False)
        self.pitch_axis.picture = None
        self.pitch_axis.update()
        if emit:
            self.note_names_changed.emit(bool(on))

    # -- data -------------------------------------------------------------------------------
    def clear(self) -> None:
        self.duration = 0.0
        for curve in (self.input_curve, self.output_curve, self.f0_in_curve, self.f0_target_curve):
            curve.setData([], [])
        self.set_vocal(None)
        self.set_progress(None)
        self.set_output_hint("Drop a song to see it here")
        self.set_playhead(None)

    def set_input(self, wave: Waveform) -> None:
        """Show the original audio; resets the converted part and the view."""
        self.duration = max(wave.duration, 0.01)
        self.input_curve.setData(wave.t, wave.y)
        self.set_vocal(None)
        self.output_curve.setData([], [])
        self.f0_in_curve.setData([], [])
        self.f0_target_curve.setData([], [])
        for plot in self.plots:
            plot.setLimits(xMin=0, xMax=self.duration)
        self.set_region(0.0, min(DEFAULT_REGION_S, self.duration))
        self.set_output_hint("Press Preview, or convert the whole song")
        self.fit()

    def set_vocal(self, wave: Waveform | None) -> None:
        """A cover's separated vocal (what is converted, and whose pitch is drawn), over the song
        it came from, which is dimmed; ``None``: the song alone."""
        if wave is None:
            self.vocal_curve.setData([], [])
            self.input_curve.setOpacity(1.0)
            self.input_plot.setLabel("left", "Original")
            return
        self.vocal_curve.setData(wave.t, wave.y)
        self.input_curve.setOpacity(0.3)
        self.input_plot.setLabel("left", "Vocal")

    def set_output(self, wave: Waveform) -> None:
        """Show converted audio: a preview of the region (``wave.offset`` > 0) or a whole file."""
        self.output_curve.setData(wave.t, wave.y)
        self.set_progress(None)
        self.set_output_hint("")

    def clear_output(self, hint: str = "") -> None:
        self.output_curve.setData([], [])
        self.set_output_hint(hint)

    def set_pitch(self, curves: PitchCurves) -> None:
        f0_in = hz_to_midi(curves.f0_in)
        f0_target = hz_to_midi(curves.f0_target)
        self.f0_in_curve.setData(curves.t, f0_in)
        self.f0_target_curve.setData(curves.t, f0_target)
        voiced = np.concatenate([f0_in[np.isfinite(f0_in)], f0_target[np.isfinite(f0_target)]])
        if voiced.size:
            low, high = np.percentile(voiced, [1, 99])
            self.pitch_plot.setYRange(np.floor(low) - 3, np.ceil(high) + 3)

    def set_progress(self, fraction: float | None) -> None:
        """Shade the converted part of the output plot while a whole-file conversion runs."""
        if fraction is None or self.duration <= 0:
            self.progress_region.hide()
            return
        self.progress_region.setRegion((0, self.duration * max(0.0, min(1.0, fraction))))
        self.progress_region.show()
        self.set_output_hint(f"Converting… {int(round(fraction * 100))}%")

    def set_output_hint(self, text: str) -> None:
        self.output_hint.setText(text)
        x = self.duration / 2 if self.duration else 0.5
        self.output_hint.setPos(x, 0)
        self.output_hint.setVisible(bool(text))

    # -- region, playhead, view --------------------------------------------------------------
    def region(self) -> tuple[float, float]:
        start, end = self.regions[0].getRegion()
        return float(start), float(end)

    def set_region(self, start: float, end: float) -> None:
        self._syncing = True
        try:
            for region in self.regions:
                region.setRegion((start, end))
        finally:
            self._syncing = False
        self.region_changed.emit(*self.region())

    def _region_moved(self, moved) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            bounds = moved.getRegion()
            for region in self.regions:
                if region is not moved:
                    region.setRegion(bounds)
        finally:
            self._syncing = False

    def _region_finished(self, moved) -> None:
        if not self._syncing:
            start, end = moved.getRegion()
            start = max(0.0, start)
            end = min(self.duration, end) if self.duration else end
            if end - start < 0.5:  # a preview needs some audio
                end = start + 0.5
            self.set_region(start, end)

    def set_playhead(self, seconds: float | None) -> None:
        for line in self.playheads:
            if seconds is None:
                line.hide()
            else:
                line.setValue(seconds)
                line.show()

    def playhead(self) -> float | None:
        line = self.playheads[0]
        return float(line.value()) if line.isVisible() else None

    def fit(self) -> None:
        if self.duration:
            self.input_plot.setXRange(0, self.duration, padding=0.01)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        for plot in self.plots:
            if plot.vb.sceneBoundingRect().contains(event.scenePos()):
                x = plot.vb.mapSceneToView(event.scenePos()).x()
                if 0 <= x <= self.duration:
                    self.seek_requested.emit(float(x))
                return


def _cached(curve: pg.PlotDataItem) -> pg.PlotDataItem:
    """Draw ``curve`` once into a pixmap the size of the view and reuse it until its data or the
    view changes. The playhead moves every 30 ms while a preview plays, and each move repainted
    every curve under it: antialiased paths of thousands of points, the GUI thread's largest
    cost while playing."""
    from PySide6.QtWidgets import QGraphicsItem

    curve.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return curve
