"""Covers' separation models for the window: is the model a cover needs there, and, when it is
not, the consented download of the default (:mod:`inference.covers.catalog`, through
:mod:`inference.core.download`: progress, cancel, resume, pinned SHA-256, atomic), into the app's
data folder, never Replay's. Each task runs on its own short-lived thread; results come back as
signals. Nothing is downloaded unless :meth:`SeparationModels.download` is called (the user's
click in the offer dialog).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.logging_setup import summarize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadOffer:
    """What the offer dialog says about a missing model we can download."""

    name: str  # the catalog's name (what `rvc-studio download` takes)
    file_name: str
    size: int  # bytes
    folder: str  # where it will be stored: the app's data folder
    description: str
    licence: str
    purpose: str  # "vocals" | "dereverb"
    message: str  # why it is needed: the one-line "could not find" with every place searched


class SeparationModels(QObject):
    """``check(cover)`` answers ``found`` or ``missing(offer or None, message)``;
    ``download(name)`` answers ``progress`` then ``downloaded``, ``download_failed`` or
    ``download_cancelled``. ``stage`` gives the queue's ``SeparationStage`` (its folders, or the
    stand-in separators of tests)."""

    found = Signal()
    missing = Signal(object, str)  # DownloadOffer | None, one-line message
    progress = Signal(object, object)  # bytes done, bytes in all (or None)
    downloaded = Signal(str)  # the model's path
    download_failed = Signal(str)
    download_cancelled = Signal()

    def __init__(self, stage: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stage = stage
        self._cancel = threading.Event()
        self._downloading = False

    @property
    def downloading(self) -> bool:
        return self._downloading

    def check(self, cover: dict) -> None:
        threading.Thread(target=self._check, args=(dict(cover),), name="separation-check", daemon=True).start()

    def download(self, name: str) -> None:
        if self._downloading:
            return
        self._downloading = True
        self._cancel = threading.Event()
        threading.Thread(target=self._download, args=(name, self._cancel), name="download", daemon=True).start()

    def cancel(self) -> None:
        """Stop a download (the part already fetched is kept: the next download resumes it)."""
        self._cancel.set()

    def _check(self, cover: dict) -> None:
        from inference.core.errors import RVCError
        from inference.covers import catalog
        from inference.covers.find import SeparatorNotFound
        from inference.covers.params import CoverParams

        try:
            params = CoverParams.coerce(cover)
            stage = self._stage()
            asks = [("vocals", dataclasses.replace(params, dereverb=False))]
            if params.dereverb:
                asks.append(("dereverb", params))
            for purpose, asked in asks:
                try:
                    stage.resolve(asked)
                except SeparatorNotFound as error:
                    wanted = params.separator_model if purpose == "vocals" else params.dereverb_model
                    item = catalog.find_download(wanted or catalog.DEFAULTS[purpose])
                    offer = None
                    if item is not None:
                        offer = DownloadOffer(
                            item.name,
                            item.file_name,
                            item.size,
                            str(catalog.downloads_dir()),
                            item.description,
                            item.licence,
                            purpose,
                            str(error),
                        )
                    self.missing.emit(offer, str(error))
                    return
        except RVCError as error:
            self.missing.emit(None, str(error))
            return
        except Exception as error:
            log.exception("Checking the separation models failed")
            self.missing.emit(None, summarize(error))
            return
        self.found.emit()

    def _download(self, name: str, cancel: threading.Event) -> None:
        from inference.core.errors import Cancelled, RVCError
        from inference.covers import catalog

        try:
            item = catalog.find_download(name)
            if item is None:
                raise RVCError(f"{name} is not a model RVC Studio can download")
            path = catalog.fetch(item, lambda done, total: self.progress.emit(done, total), cancel)
        except Cancelled:
            self._downloading = False
            self.download_cancelled.emit()
            return
        except RVCError as error:
            self._downloading = False
            self.download_failed.emit(str(error))
            return
        except Exception as error:
            log.exception("The download of %s failed", name)
            self._downloading = False
            self.download_failed.emit(summarize(error))
            return
        self._downloading = False
        log.info("Downloaded the separation model %s", path)
        self.downloaded.emit(str(path))


def stem_cache(root: Path | None = None) -> Any:
    """The covers' stem cache (``size_bytes()``, ``clear()``), for Settings to show and clear:
    the window's widgets do not import the engine; they are handed this."""
    from inference.covers.cache import StemCache, stem_cache_root

    return StemCache(root or stem_cache_root())
