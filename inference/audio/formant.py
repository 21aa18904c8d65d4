"""Formant shift of the 16 kHz input, as Applio does it, with ``stftpitchshift`` (MIT, J. Hock).

Applio calls ``StftPitchShift(1024, 32, 16000).shiftpitch(audio, factors=1,
quefrency=q_ms * 1e-3, distortion=timbre)`` on the whole 16 kHz input before any analysis: the
spectral envelope (a cepstrum cut at the quefrency) is stretched along frequency by ``timbre``
while the pitch stays; the pitch estimate, the content features and the RMS-mix reference all
see the shifted audio. :func:`formant_shift` computes the same, with two differences that change
no sample inside the input:

- the input is framed as if surrounded by ``FRAME`` zeros, so its first and last 64 ms are shifted
  like the rest (a plain call fades them in and out, with no centre padding);
- it runs block by block (``BLOCK`` samples plus ``FRAME`` of context each side, blocks on the
  call's hop grid), so memory stays flat for long inputs: one call on a 5-minute input would hold
  about 1.2 GB of STFT frames. Every output sample depends only on the frames that cover it, and
  with a pitch factor of 1 the phase vocoder gives back each frame's own phase (mod 2 pi), so
  the blocks equal one call on the padded input to float rounding (the test says how closely).

``stftpitchshift`` is installed without its declared dependencies (click, matplotlib: its
command line and plots); the module imported here needs only numpy.
"""

from __future__ import annotations

import numpy as np

from inference.core.errors import check_cancel

RATE = 16000
FRAME = 1024  # Applio's STFT frame and hop at 16 kHz
HOP = 32
BLOCK = 10 * RATE  # samples per call (a multiple of HOP): ~40 MB of frames


def is_active(timbre: float) -> bool:
    """A timbre of 1 leaves the envelope where it is: the step is skipped."""
    return float(timbre) != 1.0


def shifter():
    """Applio's ``StftPitchShift(1024, 32, 16000)``."""
    from stftpitchshift import StftPitchShift

    return StftPitchShift(FRAME, HOP, RATE)


def formant_shift(
    audio16: np.ndarray, timbre: float, quefrency_ms: float, cancel=None, block: int = BLOCK
) -> np.ndarray:
    """``audio16`` (mono 16 kHz float32) with its formants moved by ``timbre`` (> 1 up, < 1 down),
    the envelope smoothed at ``quefrency_ms`` milliseconds. Same length; float32."""
    audio = np.asarray(audio16, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio of shape [samples], got shape {audio.shape}")
    if not is_active(timbre) or audio.shape[0] == 0:
        return audio.copy()
    if block <= 0 or block % HOP:
        raise ValueError(f"block must be a positive multiple of {HOP}, got {block}")
    n = audio.shape[0]
    padded = np.pad(audio, (FRAME, FRAME + (-n) % HOP))
    out = np.empty(n, dtype=np.float32)
    pitch = shifter()
    for start in range(0, n, block):  # start and FRAME are multiples of HOP: the call's own grid
        check_cancel(cancel)
        stop = min(start + block, n)
        lo, hi = start, min(padded.shape[0], FRAME + stop + FRAME)  # in padded samples
        with np.errstate(divide="ignore", invalid="ignore"):  # silent frames: the library masks them
            shifted = pitch.shiftpitch(
                padded[lo:hi], factors=1, quefrency=quefrency_ms * 1e-3, distortion=float(timbre)
            )
        out[start:stop] = shifted[FRAME : FRAME + stop - start]
    return out
