"""One-line reasons for a failed torch.load of a user's file (checkpoint, embedder, RMVPE)."""

from __future__ import annotations

import pickle
import random

import pytest
import torch

from inference.models.load_errors import INCOMPLETE, check_intact, describe_load_error, first_sentence
from tests.support.voice_models import flip_bytes


def _failure(path):
    try:
        torch.load(path, weights_only=True)
    except Exception as error:  # noqa: BLE001
        return describe_load_error(path, error)
    raise AssertionError(f"{path} loaded")


class _Opens:
    def __reduce__(self):
        return (open, ("/nonexistent/never", "w"))


def test_each_kind_of_bad_file_reads_as_what_it_is(tmp_path) -> None:
    good = tmp_path / "good.pt"
    torch.save({"w": torch.zeros(4000)}, good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:3000])
    assert _failure(cut).reason == INCOMPLETE and not _failure(cut).refused

    evil = tmp_path / "evil.pt"
    torch.save({"w": _Opens()}, evil)
    failure = _failure(evil)
    assert failure.refused and failure.names == ("io.open",) and "could run code" in failure.reason

    text = tmp_path / "notes.pt"
    text.write_text("these are not weights")
    failure = _failure(text)
    assert not failure.refused and failure.reason.startswith("corrupt or not a PyTorch file (")

    for seed in range(30):  # random bytes: never a traceback's worth of text, never torch's advice
        junk = tmp_path / f"junk{seed}.pt"
        junk.write_bytes(random.Random(seed).randbytes(2048))
        failure = _failure(junk)
        assert "\n" not in failure.reason and "weights_only" not in failure.reason and len(failure.reason) < 260


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Weights only load failed. In PyTorch 2.6, we changed", "Weights only load failed"),
        ("\n\nUnsupported operand 131\n\nCheck the documentation", "Unsupported operand 131"),
        ("failed finding central directory. This is an internal miniz error.", "failed finding central directory"),
        ("version 1.2.3 is too new", "version 1.2.3 is too new"),
        ("", ""),
    ],
)
def test_first_sentence(text, expected) -> None:
    assert first_sentence(text) == expected


def test_a_non_pickle_error_is_not_mistaken_for_code(tmp_path) -> None:
    path = tmp_path / "x.pt"
    path.write_bytes(b"\x80\x02}q\x00.")
    failure = describe_load_error(path, pickle.UnpicklingError("Unsupported operand 99"))
    assert not failure.refused and failure.reason == "corrupt or not a PyTorch file (Unsupported operand 99)"


def test_flipped_weight_bytes_are_found_by_checksum(tmp_path) -> None:
    path = tmp_path / "m.pt"
    torch.save({"w": torch.arange(50_000, dtype=torch.float32)}, path)
    assert check_intact(path) is None
    flip_bytes(path)
    torch.load(path, weights_only=True, mmap=True)  # torch itself loads the wrong numbers
    reason = check_intact(path)
    assert reason is not None and reason.startswith("the file is damaged (") and "m/data/0" in reason
    text = tmp_path / "notes.txt"
    text.write_text("not a zip")
    assert check_intact(text) is None
