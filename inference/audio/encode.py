"""Compressed outputs (mp3, m4a, ogg) encoded with PyAV, written the way wav and flac are: to a
temporary file beside the target, published only when complete, never over a file.

:class:`EncodedWriter` has :class:`~inference.audio.write.AudioWriter`'s interface (``open``,
``write``, ``close``, ``abort``, a context manager, ``path``, ``frames``, ``sample_rate``).

- **mp3**: LAME (``libmp3lame``); **m4a**: FFmpeg's native AAC in an MP4 ("M4A " brand);
  **ogg**: Opus in Ogg (the PyAV wheel has no libvorbis, and FFmpeg's own Vorbis encoder is
  experimental and stereo only).
- Neither MP3 nor AAC takes 40 kHz, and Opus takes 48 kHz: the samples are resampled (soxr,
  streaming) to the nearest rate the codec takes at or above the output's own.
- The encoder's priming and padding are signalled in the file (MP3: the LAME/Xing tag;
  M4A: an edit list; Opus: pre-skip and the end granule), so a decoder trims them: the file
  decodes to the input's length, AAC within one codec frame (its last frame is padded).
- The file must be seekable (the LAME tag and the MP4 index are written at the end): the
  temporary file is.
- Tags: title, artist (the voice model) and a comment naming the model and the pitch, in every
  format; MP3 (ID3 TXXX) and Ogg (Vorbis comments) also keep ``rvc_model`` and ``rvc_pitch``.

Only numpy is imported at module level; av and soxr load on first use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from inference.audio.decode import AudioError, StreamResampler
from inference.audio.outputs import PublishingWriter, check_new_target, make_temp, write_error


@dataclass(frozen=True)
class Codec:
    """How one output format is encoded: PyAV's container and codec names, the sample rates the
    encoder takes, the samples per codec frame (the bound on a decoded length's error), and the
    sample format its frames are handed in."""

    container: str
    codec: str
    rates: tuple[int, ...]
    frame: int
    sample_format: str
    options: tuple[tuple[str, str], ...] = ()


ENCODED_FORMATS: dict[str, Codec] = {
    "mp3": Codec(
        "mp3",
        "libmp3lame",
        (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
        1152,
        "fltp",
        (("id3v2_version", "3"),),  # ID3v2.3: what Finder, Music and Windows read best
    ),
    "m4a": Codec(
        "ipod", "aac", (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000), 1024, "fltp"
    ),
    "ogg": Codec("ogg", "libopus", (48000,), 960, "flt"),
}
STANDARD_TAGS = ("title", "artist", "album", "comment")  # what every container (and libsndfile) keeps
_BLOCK = 4096  # samples per frame handed to the encoder (PyAV re-frames them to the codec's size)


def encoder_rate(fmt: str, sr: int) -> int:
    """The rate ``fmt`` is encoded at for output at ``sr``: ``sr`` itself if the codec takes it,
    else the nearest rate it takes above (or its highest)."""
    rates = sorted(ENCODED_FORMATS[fmt].rates)
    if sr in rates:
        return int(sr)
    above = [r for r in rates if r > sr]
    return above[0] if above else rates[-1]


def make_tags(title: str, model: str, pitch: str) -> dict[str, str]:
    """The tags of an output: its title, the voice model (as artist and in the comment) and the pitch."""
    return {
        "title": title,
        "artist": model,
        "comment": f"Converted with RVC Studio: model {model}, pitch {pitch}",
        "rvc_model": model,
        "rvc_pitch": pitch,
    }


class EncodedWriter(PublishingWriter):
    """Stream float blocks into a new mp3, m4a or ogg file (see the module docstring).

    ``sr`` is the rate of the blocks written; :attr:`sample_rate` is the file's (see
    :func:`encoder_rate`). ``bitrate`` is in kbit/s. ``unique``: publish as ``name (2)``... when
    ``path`` was taken meanwhile, instead of failing.
    """

    def __init__(
        self,
        path: os.PathLike | str,
        sr: int,
        format: str,
        channels: int = 1,
        *,
        bitrate: int = 192,
        tags: Mapping[str, str] | None = None,
        unique: bool = False,
    ) -> None:
        self.path = Path(path).expanduser()
        self.format = str(format).lower()
        if self.format not in ENCODED_FORMATS:
            raise AudioError(f"{self.path}: unsupported output format {self.format!r}")
        if channels not in (1, 2):
            raise AudioError(f"{self.path}: {channels} channels cannot be encoded (mono or stereo only)")
        check_new_target(self.path, unique)
        self.codec = ENCODED_FORMATS[self.format]
        self.input_rate = int(sr)
        self.sample_rate = encoder_rate(self.format, self.input_rate)
        self.channels = int(channels)
        self.bitrate = int(bitrate)
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.unique = unique
        self.frames = 0  # samples written, at the input's rate
        self._encoded = 0  # samples handed to the encoder, at the file's rate
        self._tmp: Path | None = None
        self._container = None
        self._stream = None
        self._resampler = StreamResampler(self.input_rate, self.sample_rate, self.channels)

    def open(self) -> None:
        import av

        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._tmp = make_temp(folder)
            self._container = av.open(
                str(self._tmp), "w", format=self.codec.container, options=dict(self.codec.options)
            )
            self._container.metadata.update(self.tags)  # before the first packet: the header holds them
            layout = "mono" if self.channels == 1 else "stereo"
            self._stream = self._container.add_stream(self.codec.codec, rate=self.sample_rate, layout=layout)
            self._stream.bit_rate = self.bitrate * 1000
        except (OSError, av.error.FFmpegError, ValueError) as error:
            self.abort()
            raise write_error(folder, error) from None

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` ([n] for mono, or [n, channels])."""
        if self._container is None:
            raise RuntimeError("EncodedWriter is not open")
        data = np.clip(np.asarray(block, dtype=np.float32), -1.0, 1.0)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[1] != self.channels:
            raise ValueError(f"expected [n] or [n, {self.channels}] blocks, got shape {np.shape(block)}")
        self._encode(self._resampler.push(data if self.channels > 1 else data[:, 0]))
        self.frames += data.shape[0]

    def _encode(self, samples: np.ndarray | None) -> None:
        """Hand ``samples`` (the file's rate) to the encoder; None flushes it."""
        import av

        try:
            if samples is None:
                packets = self._stream.encode(None)
            else:
                packets = []
                samples = samples.reshape(samples.shape[0], -1)
                for start in range(0, samples.shape[0], _BLOCK):
                    packets += self._stream.encode(self._frame(samples[start : start + _BLOCK]))
            self._container.mux(packets)
        except (OSError, av.error.FFmpegError) as error:
            self.abort()
            raise write_error(self.path.parent, error) from None

    def _frame(self, samples: np.ndarray):
        import av

        planar = self.codec.sample_format.endswith("p")
        array = np.ascontiguousarray(samples.T if planar else samples.reshape(1, -1), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(
            array, format=self.codec.sample_format, layout="mono" if self.channels == 1 else "stereo"
        )
        frame.sample_rate = self.sample_rate
        frame.pts = self._encoded
        frame.time_base = Fraction(1, self.sample_rate)
        self._encoded += samples.shape[0]
        return frame

    def close(self) -> Path:
        """Flush the encoder, finish the file and publish it (never replacing one created meanwhile)."""
        if self._container is None:
            raise RuntimeError("EncodedWriter is not open")
        tail = self._resampler.push(np.zeros((0, self.channels) if self.channels > 1 else 0, np.float32), last=True)
        if tail.shape[0]:
            self._encode(tail)
        self._encode(None)
        return self._publish()

    def _close_output(self) -> None:
        self._container.close()
        self._container = None

    def _drop_output(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away anyway
                pass
            self._container = None
