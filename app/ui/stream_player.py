"""Playing a preview while it is still being made.

:class:`AudioStream` holds the converted audio as it arrives (float32 chunks) and plays it from
any position through a ``QAudioSink`` in push mode: a timer tops the device's buffer up from the
samples already made. Without an audio device (a headless test machine) it follows a clock
instead, so the window behaves the same and timings can be measured.

:func:`should_start` is when playback may begin: once the audio still to be made will be made
before the audio already made has played (measured speed, with a safety margin), so the
playback never stalls. A fast machine starts after the first window.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

log = logging.getLogger(__name__)

PUSH_INTERVAL_MS = 20
DEVICE_BUFFER_S = 0.25  # what is kept in the device's buffer ahead of the playhead
SAFETY = 1.25  # playback starts only when the rest is predicted to be ready this much early
PEAK = 0.99


def should_start(made_s: float, to_make_s: float, seconds_per_second: float) -> bool:
    """True when playing ``made_s`` seconds of audio while the remaining ``to_make_s`` are made
    (at ``seconds_per_second`` of audio made per second of work) never runs dry."""
    if to_make_s <= 0:
        return made_s > 0
    if made_s <= 0 or seconds_per_second <= 0:
        return False
    return SAFETY * to_make_s / seconds_per_second <= made_s + to_make_s


class AudioStream(QObject):
    """A growing buffer of audio that plays from any position (seconds from its own start)."""

    ended = Signal()  # the playhead reached the end of everything made, and the stream is complete
    stalled = Signal()  # the playhead reached the end of what is made so far (the stream is not complete)

    def __init__(self, sample_rate: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sample_rate = int(sample_rate)
        self._parts: list[np.ndarray] = []
        self._pcm = bytearray()  # 16-bit little-endian, what has been made so far (level-limited)
        self._peak = 0.0
        self.complete = False
        self._playing = False
        self._origin = 0.0  # seconds: where the current playback started
        self._fed = 0  # bytes handed to the device since _origin
        self._clock = QElapsedTimer()
        self._sink = None
        self._device = None
        self._timer = QTimer(self, interval=PUSH_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    # -- what has been made ---------------------------------------------------------------------
    def append(self, audio: np.ndarray, last: bool = False) -> None:
        """Add the next chunk. The level is limited by the running peak (a preview is normalised
        only once complete; a stream cannot wait for that)."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if audio.size:
            self._peak = max(self._peak, float(np.abs(audio).max()))
            gain = min(1.0, PEAK / self._peak) if self._peak > 0 else 1.0
            self._parts.append(audio)
            pcm = np.clip(audio * gain, -1.0, 1.0)
            self._pcm += (pcm * 32767.0).astype("<i2").tobytes()
        self.complete = self.complete or last

    @property
    def made_s(self) -> float:
        return len(self._pcm) / 2 / self.sample_rate

    def audio(self) -> np.ndarray:
        return np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)

    # -- playback ---------------------------------------------------------------------------------
    def is_playing(self) -> bool:
        return self._playing

    def position(self) -> float:
        """Seconds from the stream's start where the playhead is."""
        if not self._playing:
            return self._origin
        if self._sink is not None:
            played = self._sink.processedUSecs() / 1e6
        else:
            played = self._clock.elapsed() / 1000.0
        return min(self._origin + played, self.made_s)

    def play(self, position: float = 0.0) -> None:
        self.stop()
        self._origin = max(0.0, min(float(position), self.made_s))
        self._fed = 0
        self._sink, self._device = self._open_sink()
        self._clock.start()
        self._playing = True
        self._tick()
        self._timer.start()

    def cue(self, position: float) -> None:
        """Where :meth:`play` will start when no position is given (paused)."""
        self.pause()
        self._origin = max(0.0, min(float(position), self.made_s))

    def resume(self) -> None:
        self.play(self._origin)

    def pause(self) -> None:
        position = self.position()
        self.stop()
        self._origin = position

    def stop(self) -> None:
        self._timer.stop()
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
        self._sink = self._device = None
        self._playing = False

    def _open_sink(self):
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            return None, None  # no audio output here: follow the clock
        fmt = QAudioFormat()
        fmt.setSampleRate(self.sample_rate)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            log.warning("The audio output does not take %d Hz mono 16-bit; preview follows a clock", self.sample_rate)
            return None, None
        sink = QAudioSink(device, fmt, self)
        sink.setBufferSize(int(DEVICE_BUFFER_S * self.sample_rate * 2 * 2))
        io = sink.start()
        if io is None:
            sink.deleteLater()
            return None, None
        return sink, io

    def _tick(self) -> None:
        start = int(self._origin * self.sample_rate) * 2
        if self._sink is not None:
            free = self._sink.bytesFree()
            chunk = bytes(self._pcm[start + self._fed : start + self._fed + free])
            if chunk:
                written = self._device.write(chunk)
                self._fed += max(0, int(written))
        if self.position() >= self.made_s - 1e-3:
            if self.complete:
                self.stop()
                self._origin = self.made_s
                self.ended.emit()
            elif self._sink is None:
                self.stalled.emit()
