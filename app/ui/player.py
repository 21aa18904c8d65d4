"""The player: original (A) or converted (B) audio, an A/B switch that keeps the playhead
where it is, play/pause (space bar, wired by the window), and the position for the plots. For a
cover, B is the cover and a third choice plays the converted vocal alone (:data:`VOCAL`), shown
only while there is one.

B is a file (a finished conversion) or an :class:`~app.ui.stream_player.AudioStream` (a preview
that may still be being made, played as it grows).

Positions are in seconds on the *original's* time axis: a preview's audio starts at the
preview region's start, so its own position is offset by that much.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QToolButton, QWidget

from app.ui.plots import format_time

log = logging.getLogger(__name__)

INPUT, OUTPUT, VOCAL = "input", "output", "vocal"
SIDES = (INPUT, OUTPUT, VOCAL)


class Player(QWidget):
    position_changed = Signal(object)  # seconds on the original's axis, or None (nothing loaded)
    side_changed = Signal(str)
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.media = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.media.setAudioOutput(self.audio)
        self.media.positionChanged.connect(self._on_position)
        self.media.mediaStatusChanged.connect(self._on_status)
        self.media.playbackStateChanged.connect(self._on_state)
        self.media.errorOccurred.connect(self._on_error)
        self._paths: dict[str, str | None] = dict.fromkeys(SIDES)
        self._offsets: dict[str, float] = dict.fromkeys(SIDES, 0.0)
        self._side = INPUT
        self._loaded_path: str | None = None
        self._pending_seek: float | None = None
        self._resume = False
        self._position = 0.0  # absolute seconds, kept while switching sources
        self._stream = None  # an AudioStream playing the B side, when B is a preview
        self._poll = QTimer(self, interval=30)  # a stream's playhead, for the slider and plots
        self._poll.timeout.connect(self._on_stream_position)

        self.play_button = QToolButton()
        self.play_button.setToolTip("Play / pause (space bar)")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.clicked.connect(self.toggle_play)
        self.a_button = QPushButton("A  Original", checkable=True)
        self.b_button = QPushButton("B  Converted", checkable=True)
        self.a_button.setObjectName("abButton")
        self.b_button.setObjectName("abButton")
        self.a_button.setToolTip("Listen to the original (press B to compare at the same moment)")
        self.b_button.setToolTip("Listen to the converted voice at the same moment")
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.group.addButton(self.a_button)
        self.group.addButton(self.b_button)
        self.vocal_button = QPushButton("Vocal only", checkable=True)
        self.vocal_button.setObjectName("abButton")
        self.vocal_button.setToolTip("A cover's converted vocal alone, at the same moment")
        self.group.addButton(self.vocal_button)
        self.a_button.clicked.connect(lambda: self.set_side(INPUT))
        self.b_button.clicked.connect(lambda: self.set_side(OUTPUT))
        self.vocal_button.clicked.connect(lambda: self.set_side(VOCAL))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.sliderMoved.connect(lambda ms: self.seek(ms / 1000.0))
        self.time_label = QLabel("0:00 / 0:00", objectName="hint")
        self.time_label.setMinimumWidth(96)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.a_button)
        layout.addWidget(self.b_button)
        layout.addWidget(self.vocal_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time_label)
        self._duration = 0.0
        self._update_buttons()

    # -- sources ----------------------------------------------------------------------------
    @property
    def side(self) -> str:
        return self._side

    def set_input(self, path: str | None, duration: float = 0.0) -> None:
        """A new original: the converted side is cleared, playback starts at 0."""
        self._drop_stream()
        self.media.stop()
        self._paths = dict.fromkeys(SIDES) | {INPUT: path}
        self._offsets = dict.fromkeys(SIDES, 0.0)
        self._duration = duration
        self._position = 0.0
        self._side = INPUT
        self._load(INPUT, 0.0, play=False)
        self._update_buttons()
        self.position_changed.emit(0.0 if path else None)

    def set_duration(self, seconds: float) -> None:
        self._duration = max(0.0, float(seconds))
        self._update_buttons()

    def set_output(self, path: str | None, offset: float = 0.0) -> None:
        """The converted audio; ``offset`` is where it starts on the original's axis."""
        was_streaming = self._stream is not None and self._side == OUTPUT and self._stream.is_playing()
        self._drop_stream()
        if was_streaming:
            self.media.stop()
        self._paths[OUTPUT] = path
        self._offsets[OUTPUT] = offset
        if self._side == OUTPUT:
            self._load(OUTPUT, self._position, play=self.is_playing())
        self._update_buttons()

    def set_vocal(self, path: str | None, offset: float = 0.0) -> None:
        """A cover's converted vocal alone (``None``: not a cover); B is then "Cover"."""
        self._paths[VOCAL] = path
        self._offsets[VOCAL] = offset
        if self._side == VOCAL:
            if path:
                self._load(VOCAL, self._position, play=self.is_playing())
            else:
                self.set_side(OUTPUT if self._paths[OUTPUT] else INPUT)
        self._update_buttons()

    def set_output_stream(self, stream, offset: float = 0.0) -> None:
        """A preview being made, as B; ``offset`` is where it starts on the original's axis.
        Nothing plays until :meth:`play_from` (the window starts it once it will not stall)."""
        playing_b = self._side == OUTPUT and self.is_playing()
        self._drop_stream()
        self._stream = stream
        stream.ended.connect(self._on_stream_ended)
        self._paths[OUTPUT] = f"stream:{id(stream)}"
        self._offsets[OUTPUT] = offset
        if playing_b:
            self.media.pause()
        self._update_buttons()

    @property
    def stream(self):
        return self._stream

    def _drop_stream(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.ended.disconnect(self._on_stream_ended)
            self._stream = None
            self._poll.stop()

    def _stream_side(self, side: str) -> bool:
        return side == OUTPUT and self._stream is not None

    def set_side(self, side: str) -> None:
        """Switch A/B at the current position (playing on if it was playing)."""
        if side not in SIDES or not self._paths.get(side):
            self._update_buttons()
            return
        if side != self._side:
            self._side = side
            self._load(side, self._position, play=self.is_playing())
            self.side_changed.emit(side)
        self._update_buttons()

    def toggle_ab(self) -> None:
        self.set_side(OUTPUT if self._side != OUTPUT else INPUT)

    def _load(self, side: str, position: float, play: bool) -> None:
        path = self._paths.get(side)
        self._resume = play
        if self._stream is not None and side != OUTPUT:
            self._stream.pause()
            self._poll.stop()
        if self._stream_side(side):
            self.media.pause()
            self._play_stream(position, play)
            return
        if not path:
            self.media.setSource(QUrl())
            self._loaded_path = None
            return
        if path != self._loaded_path:
            self._loaded_path = path
            self._pending_seek = position
            self.media.setSource(QUrl.fromLocalFile(path))
            if play:
                self.media.play()
        else:
            self._seek_media(position)
            if play:
                self.media.play()

    # -- transport --------------------------------------------------------------------------
    def is_playing(self) -> bool:
        if self._stream_side(self._side):
            return self._stream.is_playing()
        return self.media.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def toggle_play(self) -> None:
        if self._stream_side(self._side):
            if self._stream.is_playing():
                self._stream.pause()
                self._poll.stop()
                self._after_stream_change()
            else:
                self._play_stream(self._position, True)
        elif self.is_playing():
            self.media.pause()
        elif self._loaded_path:
            self.media.play()

    def play_from(self, seconds: float, side: str | None = None) -> None:
        if side:
            self.set_side(side)
        self.seek(seconds)
        if self._stream_side(self._side):
            self._play_stream(self._position, True)
        elif self._loaded_path:
            self.media.play()

    def _play_stream(self, position: float, play: bool) -> None:
        self._position = max(0.0, float(position))
        local = max(0.0, self._position - self._offsets[OUTPUT])
        if play:
            self._stream.play(local)
            self._poll.start()
        else:
            self._stream.cue(local)
        self._after_stream_change()

    def _after_stream_change(self) -> None:
        self._update_play_icon()
        self.playing_changed.emit(self.is_playing())

    def _on_stream_position(self) -> None:
        if self._stream is None:
            return
        self._position = self._stream.position() + self._offsets[OUTPUT]
        self._show_position()

    def _on_stream_ended(self) -> None:
        self._poll.stop()
        self._on_stream_position()
        self._after_stream_change()

    def seek(self, seconds: float) -> None:
        """Move the playhead to ``seconds`` on the original's axis."""
        self._position = max(0.0, float(seconds))
        if self._stream_side(self._side):
            self._play_stream(self._position, self._stream.is_playing())
            self.position_changed.emit(self._position)
            return
        if self._pending_seek is not None:
            self._pending_seek = self._position
        else:
            self._seek_media(self._position)
        self.position_changed.emit(self._position)

    def position(self) -> float:
        return self._position

    def _seek_media(self, absolute: float) -> None:
        local = max(0.0, absolute - self._offsets[self._side])
        self.media.setPosition(int(local * 1000))

    # -- media events -----------------------------------------------------------------------
    def _on_status(self, status) -> None:
        loaded = (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia)
        if status in loaded and self._pending_seek is not None:
            seek, self._pending_seek = self._pending_seek, None
            self._seek_media(seek)
            if self._resume:
                self.media.play()
        if status == QMediaPlayer.MediaStatus.EndOfMedia:
            self._update_play_icon()

    def _on_position(self, ms: int) -> None:
        if self._pending_seek is not None:
            return  # a new source is loading: keep the old position
        if self._stream_side(self._side):
            return  # a paused file player's late report: the stream has the playhead
        self._position = ms / 1000.0 + self._offsets[self._side]
        self._show_position()

    def _show_position(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(int(self._position * 1000))
        self.slider.blockSignals(False)
        self.time_label.setText(f"{format_time(self._position)} / {format_time(self._duration)}")
        self.position_changed.emit(self._position)

    def _on_state(self, _state) -> None:
        self._update_play_icon()
        self.playing_changed.emit(self.is_playing())

    def _on_error(self, _error, message: str) -> None:
        log.warning("Player: %s (%s)", message, self._loaded_path)

    def _update_play_icon(self) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if self.is_playing() else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def _update_buttons(self) -> None:
        has_in, has_out, has_vocal = bool(self._paths[INPUT]), bool(self._paths[OUTPUT]), bool(self._paths[VOCAL])
        self.play_button.setEnabled(has_in)
        self.a_button.setEnabled(has_in)
        self.b_button.setEnabled(has_out)
        self.a_button.setChecked(self._side == INPUT)
        self.b_button.setChecked(self._side == OUTPUT)
        self.vocal_button.setVisible(has_vocal)
        self.vocal_button.setChecked(self._side == VOCAL)
        self.b_button.setText("B  Cover" if has_vocal else "B  Converted")
        self.slider.setEnabled(has_in)
        self.slider.setRange(0, int(self._duration * 1000))
        self.time_label.setText(f"{format_time(self._position)} / {format_time(self._duration)}")
