"""One entry point for all pitch methods: :func:`estimate_f0` and the model holder :class:`F0Estimators`.

Every method returns float32 Hz at 100 frames/s (hop 160 at 16 kHz), 0 for unvoiced frames,
trimmed or zero-padded at the end to the length asked for. RVC's own estimators return
``len // 160 + 1`` frames and its pipeline keeps the first ``p_len = len // 160``; that is the
default length here, and the pipeline passes the embedder's frame count x 2 instead.

Models (RMVPE, FCPE) load on first use and stay in the :class:`F0Estimators` that loaded them:
create one per app or CLI run and pass it to every call.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from inference.core.errors import check_cancel
from inference.f0 import F0_METHODS, F0Error

SAMPLE_RATE = 16000
HOP = 160
DEFAULT_FILTER_RADIUS = 3  # Replay's default; RVC median-filters Harvest's track when > 2


class F0Estimators:
    """Pitch models loaded once and reused: ``.estimate(audio_16k, method, n_frames=None, cancel=None)``.

    ``weights_dirs`` are the user's extra folders searched for ``rmvpe.pt`` after Replay's
    ``weights/`` (see :func:`inference.models.weights.find_weight`). FCPE's weights ship inside the
    ``torchfcpe`` package; Harvest needs none. Safe to share between threads: loading is locked.
    """

    def __init__(self, weights_dirs: Sequence[os.PathLike | str] = (), device: str = "cpu") -> None:
        self.weights_dirs = tuple(weights_dirs)
        self.device = device
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def load(self, method: str) -> Any:
        """Load (once) and return the model behind ``method``; None for Harvest."""
        method = check_method(method)
        if method == "harvest":
            return None
        with self._lock:
            if method not in self._models:
                if method == "rmvpe":
                    from inference.f0.rmvpe import find_and_load_rmvpe

                    self._models[method] = find_and_load_rmvpe(self.weights_dirs, device=self.device)
                else:
                    from inference.f0.fcpe import load_fcpe

                    self._models[method] = load_fcpe(device=self.device)
            return self._models[method]

    def is_loaded(self, method: str) -> bool:
        """True if ``method``'s model is already in memory (Harvest always is)."""
        return check_method(method) == "harvest" or method in self._models

    def estimate(
        self,
        audio_16k: np.ndarray,
        method: str,
        n_frames: int | None = None,
        cancel=None,
        filter_radius: int = DEFAULT_FILTER_RADIUS,
    ) -> np.ndarray:
        """F0 in Hz, float32 ``[n_frames]`` (default ``len(audio) // 160``), 0 = unvoiced."""
        method = check_method(method)
        audio = _check_audio(audio_16k)
        length = audio.shape[0] // HOP if n_frames is None else int(n_frames)
        if length < 0:
            raise F0Error(f"n_frames must be >= 0, got {n_frames}")
        check_cancel(cancel)
        if audio.shape[0] == 0:
            return np.zeros(length, dtype=np.float32)
        if method == "harvest":
            from inference.f0.harvest import harvest_f0

            f0 = harvest_f0(audio, filter_radius=filter_radius)
        else:
            f0 = self.load(method).estimate(audio, cancel=cancel)
        check_cancel(cancel)
        return fit_length(f0, length)


def estimate_f0(
    audio_16k: np.ndarray,
    method: str,
    *,
    n_frames: int | None = None,
    estimators: F0Estimators | None = None,
    weights_dirs: Sequence[os.PathLike | str] = (),
    cancel=None,
    filter_radius: int = DEFAULT_FILTER_RADIUS,
) -> np.ndarray:
    """Pitch of mono 16 kHz ``audio_16k`` by ``method`` ("rmvpe", "fcpe" or "harvest").

    Returns float32 Hz at 100 frames/s, 0 = unvoiced, exactly ``n_frames`` long when given
    (else ``len(audio) // 160``). Pass ``estimators`` to reuse loaded models; without it a
    temporary :class:`F0Estimators` on ``weights_dirs`` is made (and the model loaded) for this
    call. ``filter_radius`` > 2 median-filters Harvest's track as RVC does (other methods are
    not filtered, as in RVC). ``cancel`` (a ``threading.Event``) is checked between blocks.
    """
    check_method(method)
    if estimators is None:
        estimators = F0Estimators(weights_dirs)
    return estimators.estimate(audio_16k, method, n_frames=n_frames, cancel=cancel, filter_radius=filter_radius)


def check_method(method: str) -> str:
    """``method`` lower-cased if it is one of :data:`F0_METHODS`, else :class:`F0Error`."""
    name = str(method).strip().lower()
    if name not in F0_METHODS:
        raise F0Error(f"unknown pitch method {method!r}; choose one of {', '.join(F0_METHODS)}")
    return name


def fit_length(f0: np.ndarray, n_frames: int) -> np.ndarray:
    """``f0`` as float32, cut at the end or zero-padded at the end (unvoiced) to ``n_frames``."""
    f0 = np.asarray(f0, dtype=np.float32).reshape(-1)
    if f0.shape[0] >= n_frames:
        return np.ascontiguousarray(f0[:n_frames])
    return np.concatenate([f0, np.zeros(n_frames - f0.shape[0], dtype=np.float32)])


def _check_audio(audio_16k: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio_16k)
    if audio.ndim != 1:
        raise F0Error(f"pitch estimation expects mono audio of shape [samples], got shape {audio.shape}")
    audio = audio.astype(np.float32, copy=False)
    if not np.all(np.isfinite(audio)):
        raise F0Error("audio contains NaN or infinite samples")
    return audio
