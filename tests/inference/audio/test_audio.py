"""inference.audio: decoding every common format to float32, resampling, and safe writing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference import audio
from inference.audio import (
    AudioError,
    AudioWriter,
    audio_info,
    load_audio,
    load_audio_segment,
    unique_path,
    write_audio,
)

SR = 44100


def sine(freq: float = 1000.0, seconds: float = 1.0, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode_with_pyav(path: Path, data: np.ndarray, sr: int, codec: str, video: bool = False) -> Path:
    """Encode ``data`` ([N, C] float) with PyAV into ``path``; optionally add a video stream."""
    import av

    layout = "mono" if data.shape[1] == 1 else "stereo"
    with av.open(str(path), "w") as container:
        # All streams are added before the first packet: the header is written then.
        vstream = container.add_stream("mpeg4", rate=10) if video else None
        stream = container.add_stream(codec, rate=sr)
        stream.layout = layout
        stream.format = "fltp"  # both aac and libmp3lame take planar float
        block = stream.codec_context.frame_size or 1024
        if vstream is not None:
            vstream.width, vstream.height, vstream.pix_fmt = 32, 32, "yuv420p"
            for i in range(5):
                frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8), format="rgb24")
                for packet in vstream.encode(frame):
                    container.mux(packet)
            for packet in vstream.encode(None):
                container.mux(packet)
        for start in range(0, data.shape[0], block):
            chunk = np.ascontiguousarray(data[start : start + block].T, dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sr
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def video_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as container:
        vstream = container.add_stream("mpeg4", rate=10)
        vstream.width, vstream.height, vstream.pix_fmt = 32, 32, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8), format="rgb24")
            for packet in vstream.encode(frame):
                container.mux(packet)
        for packet in vstream.encode(None):
            container.mux(packet)
    return path


def peak_frequency(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spectrum)])


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# --------------------------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("subtype", "atol"), [("PCM_16", 1 / 32768 + 1e-7), ("PCM_24", 1 / 2**23 + 1e-7), ("FLOAT", 0.0)]
)
def test_wav_sample_formats_read_back_at_native_rate(tmp_path, subtype, atol):
    x = sine(seconds=0.2)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, x, SR, subtype=subtype)
    y = load_audio(path, sr=None)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=atol)


def test_int32_wav_and_8_bit_unsigned(tmp_path):
    x = sine(seconds=0.1)
    sf.write(tmp_path / "a.wav", x, SR, subtype="PCM_32")
    sf.write(tmp_path / "b.wav", x, SR, subtype="PCM_U8")
    np.testing.assert_allclose(load_audio(tmp_path / "a.wav", sr=None), x, atol=1e-6)
    np.testing.assert_allclose(load_audio(tmp_path / "b.wav", sr=None), x, atol=1 / 128 + 1e-6)


def test_stereo_is_averaged_to_mono_or_kept(tmp_path):
    left, right = sine(440, 0.2), sine(660, 0.2, amp=0.25)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="PCM_24")
    mono = load_audio(path, sr=None)
    both = load_audio(path, sr=None, mono=False)
    assert mono.shape == left.shape and both.shape == (len(left), 2)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=2e-6)
    np.testing.assert_allclose(both[:, 1], right, atol=2e-6)


def test_six_channel_file(tmp_path):
    x = np.stack([sine(200 * (c + 1), 0.1, amp=0.1) for c in range(6)], axis=1)
    sf.write(tmp_path / "51.wav", x, SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(tmp_path / "51.wav", sr=None), x.mean(axis=1), atol=1e-6)
    assert audio_info(tmp_path / "51.wav") == (pytest.approx(0.1, abs=1e-4), SR, 6)


def test_resampling_keeps_frequency_and_level(tmp_path):
    """A 1 kHz sine at 44.1 kHz read at 16 kHz: same peak frequency (±2 Hz) and level (±0.05 dB)."""
    x = sine(1000.0, 1.0, amp=0.5)
    sf.write(tmp_path / "tone.wav", x, SR, subtype="FLOAT")
    y = load_audio(tmp_path / "tone.wav", sr=16000)
    assert len(y) == 16000
    assert abs(peak_frequency(y, 16000) - 1000.0) <= 2.0
    body = y[800:-800]  # away from the resampler's edges
    assert abs(20 * np.log10(rms(body) / (0.5 / np.sqrt(2)))) < 0.05
    # and upward: 16 kHz -> 48 kHz
    sf.write(tmp_path / "tone16.wav", y, 16000, subtype="FLOAT")
    z = load_audio(tmp_path / "tone16.wav", sr=48000)
    assert len(z) == 48000 and abs(peak_frequency(z, 48000) - 1000.0) <= 2.0


def test_mp3_written_with_pyav(tmp_path):
    x = sine(1000.0, 1.0, amp=0.5)
    path = encode_with_pyav(tmp_path / "tone.mp3", np.stack([x, x], 1), SR, "libmp3lame")
    duration, rate, channels = audio_info(path)
    assert rate == SR and channels == 2 and duration == pytest.approx(1.0, abs=0.06)
    y = load_audio(path, sr=16000)
    assert abs(len(y) - 16000) < 16000 * 0.06
    assert abs(peak_frequency(y, 16000) - 1000.0) <= 2.0
    assert abs(20 * np.log10(rms(y[2000:-2000]) / (0.5 / np.sqrt(2)))) < 0.5  # lossy codec


def test_m4a_aac_written_with_pyav_and_video_container(tmp_path):
    x = sine(1000.0, 1.0, amp=0.5)[:, None]
    for path, video in ((tmp_path / "tone.m4a", False), (tmp_path / "clip.mp4", True)):
        encode_with_pyav(path, x, SR, "aac", video=video)
        duration, rate, channels = audio_info(path)
        assert (rate, channels) == (SR, 1) and duration == pytest.approx(1.0, abs=0.06)
        y = load_audio(path, sr=16000)
        assert abs(len(y) - 16000) < 16000 * 0.06
        assert abs(peak_frequency(y, 16000) - 1000.0) <= 2.0
        assert abs(20 * np.log10(rms(y[2000:-2000]) / (0.5 / np.sqrt(2)))) < 0.5


@pytest.mark.parametrize("suffix", [".wav", ".m4a"])
def test_segment_matches_the_same_span_of_a_full_decode(tmp_path, suffix):
    """A rising tone, so any misplacement shows: the segment equals the full decode's slice."""
    t = np.arange(3 * SR) / SR
    x = (0.4 * np.sin(2 * np.pi * (200 * t + 150 * t**2))).astype(np.float32)
    path = tmp_path / f"chirp{suffix}"
    if suffix == ".wav":
        sf.write(path, x, SR, subtype="FLOAT")
    else:
        encode_with_pyav(path, x[:, None], SR, "aac")
    full = load_audio(path, sr=None)
    seg = load_audio_segment(path, None, 1.25, 2.0)
    lo = int(round(1.25 * SR))
    assert abs(len(seg) - int(0.75 * SR)) <= 1
    tol = 1e-7 if suffix == ".wav" else 1e-3  # AAC frames decode identically after a seek
    np.testing.assert_allclose(seg[:-2], full[lo : lo + len(seg) - 2], atol=tol)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "file not found"),
        (lambda p: (p.write_bytes(b""), p)[1], "file is empty"),
        (lambda p: (p.write_text("this is a text file, not a song\n" * 20), p)[1], "not an audio file"),
        (lambda p: (p.mkdir(), p)[1], "is a folder"),
    ],
    ids=["missing", "empty", "text-renamed-wav", "folder"],
)
def test_unreadable_inputs_raise_one_line_naming_the_file(tmp_path, make, message):
    path = make(tmp_path / "song.wav")
    for call in (lambda: load_audio(path), lambda: audio_info(path)):
        with pytest.raises(AudioError) as info:
            call()
        text = str(info.value)
        assert message in text and str(path) in text and "\n" not in text


def test_zero_length_audio_stream(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), SR)
    assert audio_info(path)[0] == 0.0
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(path)


def test_video_without_audio_stream(tmp_path):
    path = video_only(tmp_path / "silent-film.mp4")
    with pytest.raises(AudioError, match="no audio stream"):
        load_audio(path)
    with pytest.raises(AudioError, match="no audio stream"):
        audio_info(path)


def test_silence_rejected_only_when_asked(tmp_path):
    sf.write(tmp_path / "quiet.wav", np.zeros(4410, np.float32), SR)
    assert np.all(load_audio(tmp_path / "quiet.wav") == 0)
    with pytest.raises(AudioError, match="is silent"):
        load_audio(tmp_path / "quiet.wav", require_sound=True)


def test_supported_extensions_contract():
    assert ".wav" in audio.SUPPORTED_EXTENSIONS and ".m4a" in audio.SUPPORTED_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in audio.SUPPORTED_EXTENSIONS)


# ---------------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("fmt", "subtype"), [("wav", "PCM_16"), ("wav", "PCM_24"), ("wav", "FLOAT"), ("flac", "PCM_16"), ("flac", "PCM_24")]
)
def test_write_round_trip(tmp_path, fmt, subtype):
    x = sine(seconds=0.1)
    out = write_audio(tmp_path / f"out.{fmt}", x, 40000, subtype=subtype)
    info = sf.info(out)
    assert (info.format, info.subtype, info.samplerate) == (fmt.upper(), subtype, 40000)
    np.testing.assert_allclose(load_audio(out, sr=None), x, atol=1 / 32768 + 1e-7)
    assert [p.name for p in tmp_path.iterdir()] == [f"out.{fmt}"]  # no temporary left behind


def test_pcm_output_clips_instead_of_wrapping(tmp_path):
    out = write_audio(tmp_path / "loud.wav", np.array([0.5, 1.7, -3.0], np.float32), 16000)
    np.testing.assert_allclose(load_audio(out, sr=None), [0.5, 32767 / 32768, -1.0], atol=1e-4)


def test_write_never_overwrites_and_unique_path_counts(tmp_path):
    first = write_audio(tmp_path / "song.wav", sine(seconds=0.01), 16000)
    before = first.read_bytes()
    with pytest.raises(AudioError, match="already exists"):
        write_audio(first, np.zeros(10, np.float32), 16000)
    assert first.read_bytes() == before
    assert unique_path(tmp_path, "song.wav") == tmp_path / "song (2).wav"
    write_audio(unique_path(tmp_path, "song.wav"), sine(seconds=0.01), 16000)
    assert unique_path(tmp_path, "song.wav") == tmp_path / "song (3).wav"
    assert unique_path(tmp_path, "other.flac") == tmp_path / "other.flac"


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(self, data):
        Path(self.name).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sf.SoundFile, "write", broken)
    with pytest.raises(AudioError, match=f"{tmp_path}: not enough space on the disk"):
        write_audio(tmp_path / "out.wav", sine(seconds=0.01), 16000)
    assert list(tmp_path.iterdir()) == []


def test_bad_format_requests_are_refused(tmp_path):
    with pytest.raises(AudioError, match="FLAC cannot store float"):
        write_audio(tmp_path / "a.flac", sine(seconds=0.01), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="unsupported output format"):
        write_audio(tmp_path / "a.ogg", sine(seconds=0.01), 16000)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_write_inside_replay(fake_home):
    replay = Path(os.environ["RVC_STUDIO_REPLAY_DIR"])
    for target in (replay / "models" / "out.wav", replay / "new" / "deep" / "out.wav"):
        with pytest.raises(AudioError, match="Replay"):
            write_audio(target, sine(seconds=0.01), 16000)
        with pytest.raises(AudioError, match="Replay"):
            AudioWriter(target, 16000)
    assert not (replay / "models" / "out.wav").exists() and not (replay / "new").exists()


def test_streaming_writer_equals_one_shot_write(tmp_path):
    x = sine(seconds=0.5)
    with AudioWriter(tmp_path / "stream.flac", 40000, subtype="PCM_24") as writer:
        for start in range(0, len(x), 3000):
            writer.write(x[start : start + 3000])
        assert not writer.path.exists()  # only the temporary exists until close
    assert writer.frames == len(x)
    np.testing.assert_allclose(load_audio(tmp_path / "stream.flac", sr=None), x, atol=1 / 2**23 + 1e-7)
    assert [p.name for p in tmp_path.iterdir()] == ["stream.flac"]


def test_streaming_writer_deletes_its_temporary_on_exception(tmp_path):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with AudioWriter(tmp_path / "out.wav", 16000) as writer:
            writer.write(sine(seconds=0.1))
            assert len(list(tmp_path.iterdir())) == 1  # the temporary
            raise Boom()
    assert list(tmp_path.iterdir()) == []


def test_streaming_writer_stereo_and_refuses_a_file_created_meanwhile(tmp_path):
    target = tmp_path / "out.wav"
    writer = AudioWriter(target, 16000, channels=2, subtype="FLOAT")
    writer.open()
    writer.write(np.ones((100, 2), np.float32) * 0.25)
    target.write_bytes(b"someone else's file")
    with pytest.raises(AudioError, match="already exists"):
        writer.close()
    assert target.read_bytes() == b"someone else's file"
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]
    with pytest.raises(AudioError, match="already exists"):
        AudioWriter(target, 16000)


def test_block_wise_decoding_equals_one_shot_resampling(tmp_path, monkeypatch):
    """Blocks are resampled by one soxr stream: across block joins the result equals resampling
    the whole file at once (within 1e-5), and its length is exact."""
    import soxr

    monkeypatch.setattr(audio.decode, "BLOCK_SECONDS", 0.3)
    rng = np.random.default_rng(0)
    x = (0.3 * rng.standard_normal((SR, 2))).astype(np.float32)
    sf.write(tmp_path / "noise.wav", x, SR, subtype="FLOAT")
    y = load_audio(tmp_path / "noise.wav", sr=16000)
    ref = soxr.resample(x.mean(axis=1), SR, 16000, quality="HQ")
    assert y.shape == ref.shape == (16000,)
    np.testing.assert_allclose(y, ref, atol=1e-5)


def test_cancel_event_stops_decoding(tmp_path):
    import threading

    from inference.core.errors import Cancelled

    sf.write(tmp_path / "a.wav", sine(seconds=0.1), SR)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        load_audio(tmp_path / "a.wav", cancel=cancel)


@pytest.mark.parametrize("suffix,codec", [(".flac", None), (".mp3", "libmp3lame"), (".m4a", "aac"), (".ogg", None)])
def test_a_file_cut_short_is_a_clear_error_or_what_it_holds(tmp_path, suffix, codec):
    """An interrupted download: either decoded up to the cut or one clear line, never a traceback."""
    whole = tmp_path / f"whole{suffix}"
    data = sine(seconds=3.0)
    if codec:
        encode_with_pyav(whole, data[:, None], SR, codec)
    else:
        sf.write(whole, data, SR)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    try:
        got = load_audio(cut, sr=None)
    except AudioError as error:
        assert str(cut) in str(error) and "\n" not in str(error)
        if suffix == ".flac":
            assert "damaged or cut short" in str(error)
    else:
        assert suffix != ".flac", "libsndfile is expected to lose sync in a cut FLAC"
        assert 0 < got.shape[0] < data.shape[0] and np.all(np.isfinite(got))
