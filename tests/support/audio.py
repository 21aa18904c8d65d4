"""Test audio of exactly known pitch: sung-like numpy tones and fluidsynth-rendered MIDI notes.

Both return ``(audio_16k, truth)`` where ``truth`` is the true F0 in Hz per 10 ms frame
(frame ``i`` centred on sample ``160 * i``) with 0 for silence, and frames near a note's start
or end (onset, release tail) marked NaN so accuracy checks skip them.

- :func:`sung_tones`: harmonic tones with a voice-like spectral tilt, vibrato and breath noise,
  synthesised sample by sample from an instantaneous frequency, so the pitch is exact.
- :func:`render_notes`: a General MIDI patch (default 53, "Voice Oohs") rendered by the
  ``fluidsynth`` CLI from a small Standard MIDI File written here (:func:`write_midi`), with
  reverb and chorus off. The true pitch is the MIDI note's equal-tempered frequency.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SR = 16000
HOP = 160
SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


def midi_to_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def cents_error(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``1200 log2(estimate / truth)`` (both > 0)."""
    return 1200.0 * np.log2(np.asarray(estimate, np.float64) / np.asarray(truth, np.float64))


def pitch_scores(f0: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(median |cents| error on frames voiced in both, voicing agreement) over non-NaN frames."""
    n = min(len(f0), len(truth))
    f0, truth = np.asarray(f0[:n], np.float64), np.asarray(truth[:n], np.float64)
    judged = ~np.isnan(truth)
    agree = float(np.mean((f0[judged] > 0) == (truth[judged] > 0)))
    both = judged & (f0 > 0) & (truth > 0)
    if not both.any():
        return float("inf"), agree
    return float(np.median(np.abs(cents_error(f0[both], truth[both])))), agree


def _frame_truth(
    n_samples: int, notes: Sequence[tuple[float, float, float]], onset_guard: float, release_guard: float
) -> np.ndarray:
    """Per-frame truth from ``(start_s, stop_s, hz)`` notes; NaN in the guard zones around each note."""
    n_frames = n_samples // HOP + 1
    times = np.arange(n_frames) * HOP / SR
    truth = np.zeros(n_frames)
    for start, stop, hz in notes:
        truth[(times >= start) & (times < stop)] = hz
    for start, stop, _hz in notes:
        truth[(times >= start - onset_guard) & (times < start + onset_guard)] = np.nan
        truth[(times >= stop - onset_guard) & (times < stop + release_guard)] = np.nan
    return truth


def sung_tones(
    notes_midi: Sequence[float] = (48, 55, 57, 62, 64, 69, 72),
    note_s: float = 0.5,
    gap_s: float = 0.2,
    vibrato_cents: float = 30.0,
    vibrato_hz: float = 5.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic voice-like notes separated by silence; returns ``(audio, truth_hz_per_frame)``.

    Each note glides nowhere: its pitch is ``midi_to_hz(note)`` modulated by a sinusoidal
    vibrato of ``vibrato_cents``; the per-frame truth is that exact instantaneous frequency.
    """
    rng = np.random.default_rng(seed)
    segments, notes = [np.zeros(int(gap_s * SR))], []
    t0 = gap_s
    for note in notes_midi:
        n = int(note_s * SR)
        t = np.arange(n) / SR
        inst = midi_to_hz(note) * 2.0 ** (vibrato_cents * np.sin(2 * np.pi * vibrato_hz * t) / 1200.0)
        phase = 2 * np.pi * np.cumsum(inst) / SR
        tone = np.zeros(n)
        for k in range(1, 25):
            if k * inst.max() >= SR / 2 - 200:
                break
            # a voice-like tilt (-12 dB/octave) with a small formant-ish bump around 500-900 Hz
            amp = k**-1.0 * (1.0 + 1.5 * np.exp(-((((k * midi_to_hz(note)) - 700.0) / 300.0) ** 2)))
            tone += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
        env = np.minimum(1.0, np.minimum(t / 0.03, (note_s - t) / 0.03))
        tone = 0.25 * env * tone / np.max(np.abs(tone))
        segments += [tone, np.zeros(int(gap_s * SR))]
        notes.append((t0, t0 + note_s, None, midi_to_hz(note), vibrato_cents, vibrato_hz))
        t0 += note_s + gap_s
    audio = np.concatenate(segments)
    audio = audio + 1e-3 * rng.standard_normal(audio.shape[0])  # breath / room noise floor
    truth = _frame_truth(audio.shape[0], [(s, e, 1.0) for s, e, *_ in notes], 0.04, 0.04)
    times = np.arange(truth.shape[0]) * HOP / SR
    for start, stop, _, hz, cents, rate in notes:
        inside = (times >= start) & (times < stop) & (truth == 1.0)
        truth[inside] = hz * 2.0 ** (cents * np.sin(2 * np.pi * rate * (times[inside] - start)) / 1200.0)
    return audio.astype(np.float32), truth


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def write_midi(path: Path, notes: Sequence[tuple[int, float, float]], program: int = 53, velocity: int = 100) -> Path:
    """A format-0 Standard MIDI File: ``(midi_note, start_s, stop_s)`` on channel 0, 1 tick = 1 ms."""
    events = []  # (time_ms, order, bytes): note-offs sort before note-ons at the same time
    for note, start, stop in notes:
        events.append((round(start * 1000), 1, bytes([0x90, note, velocity])))
        events.append((round(stop * 1000), 0, bytes([0x80, note, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    # 1000 ticks per quarter at 1,000,000 us per quarter: one tick is one millisecond.
    track = bytearray(b"\x00\xff\x51\x03" + (1_000_000).to_bytes(3, "big"))
    track += b"\x00" + bytes([0xC0, program])
    now = 0
    for when, _order, data in events:
        track += _vlq(when - now) + data
        now = when
    track += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 1000)
    path = Path(path)
    path.write_bytes(header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track))
    return path


def fluidsynth_available() -> bool:
    return shutil.which("fluidsynth") is not None and SOUNDFONT.is_file()


def render_notes(
    notes_midi: Sequence[int] = (45, 52, 57, 60, 64, 67, 72),
    note_s: float = 0.6,
    gap_s: float = 0.4,
    program: int = 53,
    fade_s: float = 0.05,
    soundfont: Path = SOUNDFONT,
) -> tuple[np.ndarray, np.ndarray]:
    """Render notes with fluidsynth at 16 kHz; returns ``(audio, truth_hz_per_frame)``.

    A GM patch's release rings on through a whole gap (about 1 dB per 10 ms), still pitched, so
    the voicing truth there would be a matter of opinion: like a singer stopping, each note is
    faded out over ``fade_s`` from its note-off (raised cosine), and the rest of the gap is
    silent but for a -80 dB noise floor. Frames within 40 ms of a note-on and from 40 ms before
    a note-off to 40 ms after the fade are NaN in the truth.
    """
    import soundfile as sf

    timed, t = [], gap_s
    for note in notes_midi:
        timed.append((int(note), t, t + note_s))
        t += note_s + gap_s
    with tempfile.TemporaryDirectory(prefix="rvc-notes-") as tmp:
        mid = write_midi(Path(tmp) / "notes.mid", timed, program=program)
        wav = Path(tmp) / "notes.wav"
        cmd = [
            "fluidsynth",
            "-ni",
            "-q",
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            "0.8",
            "-r",
            str(SR),
            "-F",
            str(wav),
            str(soundfont),
            str(mid),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    if rate != SR:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz, expected {SR}")
    audio = audio.mean(axis=1)[: int((t + gap_s) * SR)].astype(np.float64)
    audio = np.pad(audio, (0, max(0, int((t + gap_s) * SR) - audio.shape[0])))
    gate = np.zeros(audio.shape[0])
    fade = 0.5 + 0.5 * np.cos(np.pi * np.arange(int(fade_s * SR)) / (fade_s * SR))
    for _note, start, stop in timed:
        a, b = int(start * SR), int(stop * SR)
        gate[a:b] = 1.0
        gate[b : b + fade.shape[0]] = fade[: audio.shape[0] - b]
    rng = np.random.default_rng(0)
    audio = audio * gate + 1e-4 * rng.standard_normal(audio.shape[0])
    notes = [(start, stop, midi_to_hz(n)) for n, start, stop in timed]
    truth = _frame_truth(audio.shape[0], notes, 0.04, fade_s + 0.04)
    return np.ascontiguousarray(audio, dtype=np.float32), truth
