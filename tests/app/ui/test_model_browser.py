"""The model browser: badges, search, broken models greyed with their reason, live updates."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.model_browser import ModelBrowser, badges, tooltip
from tests.support.gui import FakeModel


def _models():
    return [
        FakeModel("Alice (RVC v2) 300 Epochs", epochs=300, author="someone"),
        FakeModel("Bob", version="v1", sample_rate=48000, index_path=None, f0=False),
        FakeModel("Broken", problems=["model.pth has no config and no weights"]),
    ]


def _visible(browser) -> list[str]:
    return [browser.proxy.index(r, 0).data() for r in range(browser.proxy.rowCount())]


def test_badges_and_tooltips() -> None:
    alice, bob, broken = _models()
    assert badges(alice) == ["v2", "40k", "f0", "index"]
    assert badges(bob) == ["v1", "48k", "no f0"]
    assert "Epochs: 300" in tooltip(alice)
    assert "Cannot be used: model.pth has no config and no weights" in tooltip(broken)


def test_broken_models_are_listed_greyed_with_their_reason(qtbot) -> None:
    browser = ModelBrowser()
    qtbot.addWidget(browser)
    browser.set_models(_models())
    index = browser.proxy.index(2, 0)
    assert index.data() == "Broken"
    assert not index.flags() & Qt.ItemFlag.ItemIsEnabled  # greyed, not selectable
    assert "no config" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert browser.count_label.text() == "2 models, 1 cannot be used"
    assert not browser.select_model("Broken")


def test_search_filters_by_name_and_badges(qtbot) -> None:
    browser = ModelBrowser()
    qtbot.addWidget(browser)
    browser.set_models(_models())
    qtbot.keyClicks(browser.search, "ali")
    assert _visible(browser) == ["Alice (RVC v2) 300 Epochs"]
    browser.search.setText("v1")
    assert _visible(browser) == ["Bob"]
    browser.search.clear()
    assert len(_visible(browser)) == 3


def test_selection_emits_the_model_and_survives_a_live_update(qtbot) -> None:
    browser = ModelBrowser()
    qtbot.addWidget(browser)
    models = _models()
    browser.set_models(models)
    with qtbot.waitSignal(browser.model_selected) as blocker:
        browser.view.setCurrentIndex(browser.proxy.index(1, 0))
    assert blocker.args[0].id == "Bob"
    # A new model appears: Bob stays selected and no selection signal fires.
    seen = []
    browser.model_selected.connect(seen.append)
    browser.set_models([FakeModel("Aaron"), *models])
    assert browser.current_model().id == "Bob" and seen == []
    assert browser.view.currentIndex().data() == "Bob"
    # Bob's folder is deleted: the selection is cleared and the window is told.
    browser.set_models([m for m in models if m.id != "Bob"])
    assert browser.current_model() is None and seen == [None]


def test_select_model_clears_a_search_that_hides_it(qtbot) -> None:
    browser = ModelBrowser()
    qtbot.addWidget(browser)
    browser.set_models(_models())
    browser.search.setText("Bob")
    assert browser.select_model("Alice (RVC v2) 300 Epochs")
    assert browser.search.text() == ""
    assert browser.current_model().name.startswith("Alice")


def test_the_vocoder_and_the_embedder_are_columns(qtbot) -> None:
    browser = ModelBrowser()
    qtbot.addWidget(browser)
    models = [
        *_models()[:2],
        FakeModel("Kenji", vocoder="RefineGAN", embedder="japanese-hubert-base"),
        FakeModel("Eve", embedder="custom: eve-vec", problems=["needs its own embedder 'eve-vec' (a custom one)"]),
    ]
    browser.set_models(models)
    header = [browser.proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(browser.proxy.columnCount())]
    assert header == ["Model", "Vocoder", "Embedder"] and not browser.view.isHeaderHidden()
    rows = {
        browser.proxy.index(r, 0).data(): (browser.proxy.index(r, 1).data(), browser.proxy.index(r, 2).data())
        for r in range(browser.proxy.rowCount())
    }
    assert rows["Kenji"] == ("RefineGAN", "japanese-hubert-base") and rows["Bob"] == ("HiFi-GAN", "contentvec")
    assert rows["Eve"] == ("HiFi-GAN", "custom: eve-vec")
    browser.search.setText("japanese")  # the columns are searched too
    assert _visible(browser) == ["Kenji"]
    browser.search.clear()
    with qtbot.waitSignal(browser.model_selected) as blocker:  # a click on any column selects the model
        browser.view.setCurrentIndex(browser.proxy.index(2, 2))
    assert blocker.args[0].name == "Kenji"
    assert "Embedder: japanese-hubert-base" in tooltip(models[2])
