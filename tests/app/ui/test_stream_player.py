"""Playing a preview while it is made: when to start, and a stream that plays from any
position (here, with no audio device, against its clock)."""

from __future__ import annotations

import numpy as np
import pytest

from app.ui.stream_player import SAFETY, AudioStream, should_start


@pytest.mark.parametrize(
    "made,to_make,rate,start",
    [
        (0.5, 9.5, 4.0, True),  # four times faster than playback: the first window is enough
        (0.5, 9.5, 1.0, False),  # as fast as playback: in time, but with no margin for a slower window
        (0.5, 9.5, 1.3, True),
        (0.5, 9.5, 0.5, False),  # half speed: 19 s of work left, only 10 s of playback
        (5.0, 5.0, 0.5, False),
        (6.0, 4.0, 0.5, True),  # now the rest (8 s of work) is ready before 10 s have played
        (1.0, 0.0, 0.0, True),  # all made
        (0.0, 5.0, 10.0, False),  # nothing to play yet
    ],
)
def test_playback_starts_when_it_will_not_stall(made, to_make, rate, start) -> None:
    assert should_start(made, to_make, rate) is start


def test_the_start_rule_keeps_its_safety_margin() -> None:
    # at 0.9 s of audio per second, the 9 s left take exactly the 10 s of playback: in time, but
    # not early enough; the margin absorbs a slower window later
    assert not should_start(1.0, 9.0, 0.9)
    assert should_start(1.0, 9.0, 0.9 * SAFETY)


def test_a_stream_plays_from_any_position_and_reports_its_end(qtbot) -> None:
    stream = AudioStream(8000)
    stream.append(np.full(4000, 0.5, np.float32))  # 0.5 s
    assert stream.made_s == pytest.approx(0.5) and not stream.complete
    with qtbot.waitSignal(stream.stalled, timeout=3000):
        stream.play(0.3)  # 0.2 s to play, then nothing made yet
    assert stream.position() == pytest.approx(0.5, abs=0.02)
    stream.append(np.full(4000, 2.0, np.float32), last=True)  # over full scale: limited, not clipped
    pcm = np.frombuffer(bytes(stream._pcm), "<i2")
    assert pcm[:4000].max() == int(0.5 * 32767) and pcm[4000:].max() == int(0.99 * 32767)
    with qtbot.waitSignal(stream.ended, timeout=3000):
        stream.play(0.6)
    assert not stream.is_playing() and stream.position() == pytest.approx(1.0)
    stream.cue(0.25)
    assert stream.position() == pytest.approx(0.25) and not stream.is_playing()
    np.testing.assert_array_equal(stream.audio()[:4000], np.full(4000, 0.5, np.float32))
