"""The player: A/B keeps the playhead where it is (preview audio is offset), play/pause."""

from __future__ import annotations

from pathlib import Path

from app.ui.player import INPUT, OUTPUT, VOCAL, Player
from tests.support.gui import write_tone


def _player(qtbot) -> Player:
    player = Player()
    qtbot.addWidget(player)
    player.audio.setVolume(0.0)
    return player


def test_ab_switch_keeps_the_position_on_the_originals_time_axis(qtbot, tmp_path: Path) -> None:
    song = write_tone(tmp_path / "song.wav", 4.0)
    preview = write_tone(tmp_path / "preview.wav", 2.0, hz=440)
    player = _player(qtbot)
    positions = []
    player.position_changed.connect(positions.append)
    player.set_input(str(song), duration=4.0)
    assert not player.b_button.isEnabled()
    player.set_output(str(preview), offset=1.0)
    assert player.b_button.isEnabled() and player.side == INPUT
    player.seek(1.5)
    assert positions[-1] == 1.5
    with qtbot.waitSignal(player.side_changed):
        player.b_button.click()
    assert player.side == OUTPUT and player.b_button.isChecked()
    # The preview starts at 1.0 s of the song: 1.5 s is 0.5 s into it.
    qtbot.waitUntil(lambda: abs(player.media.position() - 500) < 60, timeout=5000)
    assert abs(player.position() - 1.5) < 0.06
    player.toggle_ab()
    assert player.side == INPUT
    qtbot.waitUntil(lambda: abs(player.media.position() - 1500) < 60, timeout=5000)


def test_play_pause_toggles_and_reports(qtbot, tmp_path: Path) -> None:
    song = write_tone(tmp_path / "song.wav", 3.0)
    player = _player(qtbot)
    player.set_input(str(song), duration=3.0)
    with qtbot.waitSignal(player.playing_changed, timeout=5000) as blocker:
        player.toggle_play()
    assert blocker.args == [True] and player.is_playing()
    with qtbot.waitSignal(player.playing_changed, timeout=5000) as blocker:
        player.toggle_play()
    assert blocker.args == [False]


def test_nothing_loaded_disables_the_transport(qtbot) -> None:
    player = _player(qtbot)
    assert not player.play_button.isEnabled() and not player.b_button.isEnabled()
    player.set_side(OUTPUT)  # no converted audio yet: stays on A
    assert player.side == INPUT
    player.toggle_play()  # harmless
    assert not player.is_playing()


def test_a_checked_switch_with_nothing_to_play_is_not_drawn_as_active(qtbot, qapp, tmp_path: Path) -> None:
    """With nothing loaded "A" stays checked, but is not drawn in the accent (its grey text vanished)."""
    from app.ui import theme

    c = theme.colors(qapp.palette())
    previous = qapp.styleSheet()
    qapp.setStyleSheet(theme.style_sheet(c))

    def accent_distance() -> int:
        image = player.a_button.grab().toImage()
        left = image.pixelColor(4, image.height() // 2)  # the button's background, left of its text
        return (
            abs(left.red() - c.accent.red()) + abs(left.green() - c.accent.green()) + abs(left.blue() - c.accent.blue())
        )

    try:
        player = _player(qtbot)
        assert player.a_button.isChecked() and not player.a_button.isEnabled()
        assert accent_distance() > 120
        player.set_input(str(write_tone(tmp_path / "song.wav", 0.5)), duration=0.5)
        assert player.a_button.isEnabled() and accent_distance() < 30  # the sampling sees the accent
    finally:
        qapp.setStyleSheet(previous)


def test_a_covers_three_sources_switch_keeping_the_position(qtbot, tmp_path: Path) -> None:
    song = write_tone(tmp_path / "song.wav", 4.0)
    cover = write_tone(tmp_path / "cover.wav", 2.0, hz=440)
    vocal = write_tone(tmp_path / "vocal.wav", 2.0, hz=330)
    player = _player(qtbot)
    player.show()
    player.set_input(str(song), duration=4.0)
    player.set_output(str(cover), offset=1.0)
    assert not player.vocal_button.isVisible() and player.b_button.text() == "B  Converted"
    player.set_vocal(str(vocal), offset=1.0)
    assert player.vocal_button.isVisible() and player.b_button.text() == "B  Cover"
    player.seek(1.5)
    with qtbot.waitSignal(player.side_changed):
        player.vocal_button.click()
    assert player.side == VOCAL and player.vocal_button.isChecked() and not player.b_button.isChecked()
    assert player.media.source().toLocalFile() == str(vocal)
    qtbot.waitUntil(lambda: abs(player.media.position() - 500) < 60, timeout=5000)  # 1.5 s is 0.5 s into it
    assert abs(player.position() - 1.5) < 0.06
    player.seek(2.0)
    player.b_button.click()
    assert player.side == OUTPUT and player.media.source().toLocalFile() == str(cover)
    qtbot.waitUntil(lambda: abs(player.media.position() - 1000) < 60, timeout=5000)
    player.vocal_button.click()
    player.set_vocal(None)  # a plain conversion next: back to B, the choice hidden
    assert player.side == OUTPUT and not player.vocal_button.isVisible()
    assert abs(player.position() - 2.0) < 0.06
