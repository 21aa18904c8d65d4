"""Every file the app persists is read field by field: whatever a damaged, hand-edited or
foreign file holds, the app starts, a bad job is dropped, a bad field gets its default.

Property-based (hypothesis): random JSON values of every type go into each loader and into the
queue view's paint; the reported crashes (``progress: "abc"``, ``input_path: 5``, ``seconds:
"x"``, ``jobs`` not a list, ``output_dir: null``, ``params`` a string) are named cases too.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.workers.jobs import Job, JobStatus, QueueStore

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "input_path",
    "model_id",
    "model_name",
    "params",
    "output_dir",
    "naming_pattern",
    "output_format",
    "bitrate",
    "id",
    "status",
    "progress",
    "stage",
    "output_path",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "seconds",
    "cover",
    "stems",
]
GOOD = {
    "input_path": "/songs/a.wav",
    "model_id": "Alice",
    "model_name": "Alice",
    "params": {"pitch": 3.0},
    "output_dir": "/out",
}
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_job(job: Job) -> None:
    from inference.covers.params import CoverParams

    """Every field of the kind the app relies on."""
    assert isinstance(job.input_path, str) and job.input_path and isinstance(job.model_id, str) and job.model_id
    assert isinstance(job.output_dir, str) and job.output_dir and isinstance(job.model_name, str)
    assert isinstance(job.params, dict) and all(isinstance(job.params[k], float) for k in ("pitch", "protect"))
    assert isinstance(job.status, JobStatus) and job.status != JobStatus.RUNNING
    assert isinstance(job.progress, float) and 0.0 <= job.progress <= 1.0
    assert all(v is None or isinstance(v, float) for v in (job.started_at, job.finished_at, job.seconds))
    assert all(v is None or isinstance(v, str) for v in (job.output_path, job.error))
    assert isinstance(job.stage, str) and isinstance(job.id, str) and job.id
    if job.cover is not None:  # a cover's settings: every field there and valid
        assert CoverParams.coerce(job.cover).to_dict() == job.cover
    assert isinstance(job.stems, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in job.stems.items())


def load(tmp_path: Path, payload) -> list[Job]:
    store = QueueStore(tmp_path)
    store.path.write_text(json.dumps(payload), encoding="utf-8")
    return store.load()


@pytest.mark.parametrize(
    "field,value,kept",
    [
        ("progress", "abc", True),
        ("input_path", 5, False),
        ("seconds", "x", True),
        ("output_dir", None, False),
        ("params", "loud", True),
        ("status", "exploded", True),
        ("naming_pattern", "{nope}", True),
        ("created_at", float("inf"), True),
        ("id", ["x"], True),
    ],
)
def test_the_reported_bad_fields(tmp_path, field, value, kept) -> None:
    jobs = load(tmp_path, {"version": 1, "jobs": [dict(GOOD, **{field: value}), GOOD]})
    assert len(jobs) == (2 if kept else 1)
    for job in jobs:
        check_job(job)
    if kept:
        assert jobs[0].input_path == "/songs/a.wav" and jobs[0].params["pitch"] == (3.0 if field != "params" else 0.0)


@pytest.mark.parametrize("payload", [{"jobs": {"a": 1}}, {"jobs": None}, [], "text", 5, None, {"version": 1}])
def test_a_file_without_a_list_of_jobs_reads_as_an_empty_queue(tmp_path, payload) -> None:
    assert load(tmp_path, payload) == []


def test_two_jobs_with_one_id_get_distinct_ids(tmp_path) -> None:
    jobs = load(tmp_path, {"jobs": [dict(GOOD, id="same"), dict(GOOD, id="same")]})
    assert len({j.id for j in jobs}) == 2


@SLOW
@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=len(FIELDS)), max_size=4), JSON)
def test_any_json_in_the_queue_file_loads_or_is_dropped(tmp_path, items, extra) -> None:
    items = [dict(GOOD, **item) for item in items] + [extra]
    for job in load(tmp_path, {"version": 1, "jobs": items}):
        check_job(job)


@SLOW
@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=len(FIELDS)), min_size=1, max_size=3))
def test_the_queue_view_paints_any_loaded_job(qtbot, tmp_path, items) -> None:
    from app.ui.queue_view import QueueView
    from app.workers.batch import BatchQueue
    from app.workers.engine import Engine

    store = QueueStore(tmp_path / "q")
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(json.dumps({"jobs": [dict(GOOD, **item) for item in items]}), encoding="utf-8")
    queue = BatchQueue(Engine(lambda: [], tmp_path / "cache", factory=None, params_factory=dict), store)
    try:
        view = QueueView(queue)
        view.resize(900, 300)
        view.grab()  # paints every row: the delegate draws progress, pitch and status
        for row in range(view.model.rowCount()):
            for col in range(view.model.columnCount()):
                view.model.index(row, col).data()
        view.deleteLater()
    finally:
        queue.shutdown()


# -- the settings file --------------------------------------------------------------------------

_EXAMPLES = itertools.count()
SETTING_KEYS = [
    "library/folders",
    "library/last_model",
    "engine/weights_folder",
    "engine/backend",
    "output/folder",
    "output/naming",
    "output/format",
    "params/Alice",
    "view/f0_note_names",
    "window/geometry",
    "meta/version",
    "cover/enabled",
    "cover/params",
    "cover/stem_cache_gb",
    "output/bitrate",
]


# QSettings itself cannot store integers past 64 bits (a file can hold them as text: JSON.map(json.dumps))
SETTING_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@SLOW
@given(
    st.dictionaries(st.sampled_from(SETTING_KEYS), SETTING_VALUES | JSON.map(json.dumps), max_size=len(SETTING_KEYS))
)
def test_any_value_in_the_settings_file_reads_as_its_kind(tmp_path, values) -> None:
    from PySide6.QtCore import QSettings

    from app.settings import Settings
    from inference.pipeline.params import PARAM_DEFAULTS

    # a new file per example: Qt shares one cache among the QSettings of a path in a process
    path = tmp_path / f"settings-{next(_EXAMPLES)}.ini"
    store = QSettings(str(path), QSettings.Format.IniFormat)
    for key, value in values.items():
        store.setValue(key, value)
    store.sync()
    s = Settings(path)
    assert all(isinstance(p, Path) for p in s.model_folders)
    assert isinstance(s.last_model, str) and isinstance(s.output_folder, Path)
    assert s.weights_folder is None or isinstance(s.weights_folder, Path)
    from inference.covers.params import STEM_CACHE_GB
    from inference.pipeline.params import BITRATE, OUTPUT_FORMATS

    assert s.default_backend in ("auto", "mlx", "torch") and s.output_format in OUTPUT_FORMATS
    assert STEM_CACHE_GB.low <= s.stem_cache_gb <= STEM_CACHE_GB.high and BITRATE.low <= s.output_bitrate
    assert isinstance(s.naming_pattern, str) and s.naming_pattern
    params = s.params_for("Alice")
    assert set(params) == set(PARAM_DEFAULTS) and isinstance(params["pitch"], float)
    assert isinstance(s.f0_note_names, bool) and isinstance(s.window_geometry, bytes)
    from inference.covers.params import CoverParams

    assert isinstance(s.cover_enabled, bool)
    assert CoverParams.coerce(s.cover_params).to_dict() == s.cover_params  # every field valid, none missing
