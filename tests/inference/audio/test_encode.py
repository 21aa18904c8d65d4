"""mp3, m4a and ogg outputs through PyAV: lengths, timing, tags, rates, and the never-overwrite rule.

Each file is decoded back twice, by PyAV frame by frame and by our own ``load_audio`` (what a
later conversion of the file would read). Tolerances:

- length: the input's samples at the file's rate, within one codec frame (MP3 1152, AAC 1024,
  Opus 960 samples); MP3 and Opus signal their priming and padding exactly, so within 1 sample
  there (the resampled length rounds);
- timing: the decoded signal lines up with the input (cross-correlation peak at lag 0, searched
  over +-2000 samples) and matches it to 30 dB SNR at 192 kbit/s (lossy codecs, a 440 Hz tone
  with vibrato and harmonics).
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from inference.audio import AudioError, load_audio, open_writer, resample
from inference.audio.encode import ENCODED_FORMATS, EncodedWriter, encoder_rate, make_tags
from inference.audio.outputs import TEMP_PREFIX

EXACT = {"mp3": 1, "ogg": 1, "m4a": ENCODED_FORMATS["m4a"].frame}


def tone(n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    phase = 2 * np.pi * 440 * t + 3 * np.sin(2 * np.pi * 5 * t)
    return (0.3 * np.sin(phase) + 0.1 * np.sin(2 * phase)).astype(np.float32)


def write(path, audio, sr, fmt, **kwargs):
    with open_writer(path, sr, fmt, unique=kwargs.pop("unique", False), **kwargs) as writer:
        for start in range(0, audio.shape[0], 7000):  # blocks that fit no codec frame
            writer.write(audio[start : start + 7000])
    return writer


def pyav_decode(path) -> tuple[np.ndarray, int, dict]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
        tags = dict(container.metadata) | dict(stream.metadata)  # Ogg keeps its comments on the stream
        return np.concatenate(frames), int(stream.codec_context.sample_rate), {k.lower(): v for k, v in tags.items()}


@pytest.mark.parametrize("fmt", list(ENCODED_FORMATS))
@pytest.mark.parametrize("sr", [40000, 48000, 32000])
def test_decodes_to_the_input_length_in_time_with_the_tags(tmp_path, fmt, sr) -> None:
    n = int(sr * 1.7) + 17
    audio = tone(n, sr)
    tags = make_tags("My Song", "Alice v2", "+3")
    writer = write(tmp_path / f"out.{fmt}", audio, sr, fmt, tags=tags)
    assert writer.path == tmp_path / f"out.{fmt}" and writer.frames == n
    rate = encoder_rate(fmt, sr)
    assert writer.sample_rate == rate and (rate == sr) == (sr in ENCODED_FORMATS[fmt].rates)
    decoded, decoded_rate, read_tags = pyav_decode(writer.path)
    ours = load_audio(writer.path, sr=None)
    assert decoded_rate == rate and ours.shape == decoded.shape
    expected = n * rate / sr
    assert 0 <= decoded.shape[0] - expected + 1 <= EXACT[fmt] + 1, (decoded.shape[0], expected)
    reference = resample(audio, sr, rate)
    m = min(reference.shape[0], decoded.shape[0])
    corr = np.correlate(decoded[:m], reference[2000 : m - 2000], mode="valid")  # c[k]: decoded shifted by k - 2000
    assert int(np.argmax(corr)) == 2000, "the decoded signal is shifted in time"
    error = decoded[:m] - reference[:m]
    snr = 10 * np.log10(np.sum(reference[:m] ** 2) / np.sum(error**2))
    assert snr > 30, snr
    assert read_tags["title"] == "My Song" and read_tags["artist"] == "Alice v2"
    assert "model Alice v2, pitch +3" in read_tags["comment"]
    if fmt != "m4a":  # MP4 keeps only its own atoms unless custom (mdta) keys are asked for
        assert read_tags["rvc_model"] == "Alice v2" and read_tags["rvc_pitch"] == "+3"


def test_the_codec_table_matches_the_installed_encoders() -> None:
    for fmt, codec in ENCODED_FORMATS.items():
        encoder = av.codec.Codec(codec.codec, "w")
        assert set(codec.rates) <= set(encoder.audio_rates), fmt
        assert codec.sample_format in {f.name for f in encoder.audio_formats}, fmt
        av.format.ContainerFormat(codec.container, "w")
    assert encoder_rate("mp3", 40000) == 44100 and encoder_rate("m4a", 40000) == 44100
    assert encoder_rate("ogg", 40000) == 48000 and encoder_rate("ogg", 96000) == 48000
    assert encoder_rate("mp3", 48000) == 48000


def test_the_bitrate_is_the_users(tmp_path) -> None:
    audio = tone(48000 * 4, 48000)
    sizes = {}
    for fmt in ENCODED_FORMATS:
        for kbps in (64, 256):
            path = write(tmp_path / f"{kbps}.{fmt}", audio, 48000, fmt, bitrate=kbps).path
            sizes[fmt, kbps] = path.stat().st_size
    for fmt in ENCODED_FORMATS:
        assert sizes[fmt, 256] > 2 * sizes[fmt, 64], fmt
    assert sizes["mp3", 256] == pytest.approx(256_000 / 8 * 4, rel=0.1)  # constant bit rate


def test_never_over_a_file_and_nothing_left_behind(tmp_path, fake_home) -> None:
    from inference.core import paths

    audio = tone(44100, 44100)
    target = tmp_path / "song.mp3"
    target.write_bytes(b"the user's file")
    with pytest.raises(AudioError, match="already exists"):
        EncodedWriter(target, 44100, "mp3")
    second = write(target, audio, 44100, "mp3", unique=True).path
    assert second.name == "song (2).mp3" and target.read_bytes() == b"the user's file"
    with pytest.raises(RuntimeError, match="boom"):
        with open_writer(tmp_path / "x.ogg", 44100, "ogg") as writer:
            writer.write(audio)
            raise RuntimeError("boom")
    assert not (tmp_path / "x.ogg").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]
    with pytest.raises(AudioError, match="Replay"):
        EncodedWriter(paths.replay_root() / "outputs" / "a.m4a", 44100, "m4a")
    with pytest.raises(AudioError, match="unsupported output format"):
        EncodedWriter(tmp_path / "a.wma", 44100, "wma")


def test_stereo_blocks_and_wav_flac_tags(tmp_path) -> None:
    import soundfile as sf

    stereo = np.stack([tone(22050, 44100), 0.5 * tone(22050, 44100)], axis=1)
    path = write(tmp_path / "st.m4a", stereo, 44100, "m4a", channels=2).path
    decoded = load_audio(path, sr=None, mono=False)
    assert decoded.shape[1] == 2 and abs(decoded.shape[0] - 22050) <= 1024
    tags = make_tags("Take 1", "Bob", "-5")
    for fmt in ("wav", "flac"):
        path = write(tmp_path / f"t.{fmt}", tone(4410, 44100), 44100, fmt, tags=tags).path
        with sf.SoundFile(str(path)) as f:
            assert (f.title, f.artist) == ("Take 1", "Bob") and "pitch -5" in f.comment
