"""Presets: saved, renamed and deleted in one JSON file, read field by field, Applio's imported."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.pipeline.params import PARAM_DEFAULTS, ConversionParams
from inference.pipeline.presets import PRESET_FIELDS, PresetError, PresetStore, read_applio_preset

FULL = {
    "pitch": 12.0,
    "f0_method": "fcpe",
    "index_rate": 0.5,
    "protect": 0.2,
    "rms_mix_rate": 0.3,
    "autotune": 0.8,
    "formant_timbre": 1.2,
    "formant_quefrency": 2.0,
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def test_every_panel_parameter_but_the_engine_is_a_preset_field() -> None:
    assert set(PRESET_FIELDS) == set(PARAM_DEFAULTS) - {"backend"}
    ConversionParams(**FULL)  # a preset's values are conversion parameters


def test_save_load_rename_delete(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    assert store.load() == {}
    assert store.save("  Male to  female ", dict(FULL, backend="mlx")) == "Male to female"
    store.save("Speech", {"pitch": -3, "protect": 0.5})
    assert PresetStore(tmp_path).load() == {"Male to female": FULL, "Speech": {"pitch": -3.0, "protect": 0.5}}
    assert store.get("speech") == {"pitch": -3.0, "protect": 0.5}  # case-insensitive when unambiguous
    with pytest.raises(PresetError, match="exists already"):
        store.save("Speech", {}, replace=False)
    store.save("Speech", {"pitch": 2})
    assert store.get("Speech") == {"pitch": 2.0}
    assert store.rename("Speech", "Talk") == "Talk" and store.names() == ["Male to female", "Talk"]
    with pytest.raises(PresetError, match="exists already"):
        store.rename("Talk", "Male to female")
    store.delete("Talk")
    with pytest.raises(PresetError, match=r"no preset called 'Talk' \(presets: 'Male to female'\)"):
        store.get("Talk")
    for bad in ("", "   ", "x" * 81):
        with pytest.raises(PresetError):
            store.save(bad, FULL)


def test_bad_fields_get_their_default_and_bad_presets_are_dropped(tmp_path: Path, caplog) -> None:
    store = PresetStore(tmp_path)
    store.path.write_text(
        json.dumps(
            {
                "version": 1,
                "presets": [
                    {
                        "name": "ok",
                        "values": {"pitch": "high", "protect": 0.9, "f0_method": "crepe", "index_rate": 0.4},
                    },
                    {"name": "", "values": {}},
                    {"values": {"pitch": 1}},
                    {"name": "no values", "values": [1, 2]},
                    "junk",
                    {"name": "ok", "values": {"pitch": 5}},
                ],
            }
        )
    )
    with caplog.at_level(logging.WARNING):
        presets = store.load()
    assert presets == {"ok": {"pitch": 0.0, "protect": 0.5, "f0_method": "rmvpe", "index_rate": 0.4}}
    logged = caplog.text
    assert "pitch 'high' is not valid" in logged and "protect 0.9 is out of range" in logged
    assert logged.count("Dropping a bad preset") == 4 and "second preset called 'ok'" in logged


def test_a_damaged_file_reads_as_none_and_is_set_aside_on_save(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.path.write_text("{not json")
    assert store.load() == {}
    store.save("New", {"pitch": 1})
    assert (tmp_path / "presets.json.damaged").read_text() == "{not json"
    assert store.load() == {"New": {"pitch": 1.0}}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=JSON, values=JSON)
def test_any_json_loads_as_valid_presets(tmp_path: Path, payload, values) -> None:
    store = PresetStore(tmp_path)
    for data in (payload, {"presets": [{"name": "p", "values": values}, payload]}):
        store.path.write_text(json.dumps(data), encoding="utf-8")
        for name, fields in store.load().items():
            assert isinstance(name, str) and name.strip() and set(fields) <= set(PRESET_FIELDS)
            ConversionParams(**fields)


APPLIO = {
    # assets/presets/*.json as Applio writes them (json.dump(..., indent=4))
    "Good for Anything.json": ({"pitch": 0, "index_rate": 0.75, "rms_mix_rate": 0.3, "protect": 0.33}, None),
    # assets/formant_shift/*.json ("qfrency" [sic]); "random" is beyond our timbre range: clamped
    "m2f.json": ({"formant_qfrency": 1.0, "formant_timbre": 1.2}, None),
    "random.json": (
        {"formant_qfrency": 32.0, "formant_timbre": 9.8},
        {"formant_quefrency": 16.0, "formant_timbre": 2.0},
    ),
    # the command line's names
    "cli.json": (
        {"pitch": 3, "f0_method": "fcpe", "f0_autotune": True, "f0_autotune_strength": 0.4, "clean_audio": True},
        {"pitch": 3.0, "f0_method": "fcpe", "autotune": 0.4},
    ),
}


@pytest.mark.parametrize("file_name", list(APPLIO))
def test_applio_presets_are_imported(tmp_path: Path, file_name: str) -> None:
    data, expected = APPLIO[file_name]
    path = tmp_path / file_name
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")
    if expected is None:
        expected = {
            {"formant_qfrency": "formant_quefrency"}.get(k, k): float(v) if not isinstance(v, str) else v
            for k, v in data.items()
        }
    assert read_applio_preset(path) == expected
    store = PresetStore(tmp_path / "data")
    assert store.import_applio(path) == path.stem
    assert store.import_applio(path) == f"{path.stem} (2)"  # a name taken is numbered
    assert store.get(path.stem) == expected


@pytest.mark.parametrize(
    "content,reason",
    [("[1, 2]", "holds no settings"), ('{"volume": 3}', "not an Applio preset"), ("{bad", "not a readable preset")],
)
def test_a_file_that_is_no_applio_preset_is_refused(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(PresetError, match=reason):
        read_applio_preset(path)
    with pytest.raises(PresetError, match="file not found"):
        read_applio_preset(tmp_path / "gone.json")
