"""One home per fact: each is defined in one module, and the window, the settings and the
command line take it from there.

The definitions are found in the source (AST): a second definition anywhere in the product fails.
The ranges are checked by moving them: the bounds of ``inference.pipeline.params.RANGES`` are
changed in place, and the command line's parser, the parameter panel's widgets and the settings'
validation, built afterwards, must follow.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from inference.pipeline import params

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("app", "inference", "benchmarks", "scripts", "setup_app.py")

# fact -> (the module that defines it, how to recognise a definition)
HOMES = {
    "F0_METHODS": "inference/f0/__init__.py",
    "BACKENDS": "inference/synth/backends.py",
    "SUPPORTED_EXTENSIONS": "inference/audio/files.py",
    "LIST_SUFFIXES": "inference/audio/files.py",
    "RANGES": "inference/pipeline/params.py",
    "DEFAULT_TEMPLATE": "inference/audio/naming.py",
    "expand_inputs": "inference/audio/files.py",
    "read_list_file": "inference/audio/files.py",
    "unique_path": "inference/audio/naming.py",
    "render_name": "inference/audio/naming.py",
    "format_pitch": "inference/audio/naming.py",
    "check_template": "inference/audio/naming.py",
    "ENCODED_FORMATS": "inference/audio/encode.py",
    "PRESET_FIELDS": "inference/pipeline/presets.py",
    "autotune_f0": "inference/f0/__init__.py",
    "formant_shift": "inference/audio/formant.py",
    "embedder_of": "inference/models/embedders.py",
}
# literal spellings of a fact that must not appear outside its home
SPELLINGS = {
    ("rmvpe", "fcpe", "harvest"): "inference/f0/__init__.py",
    ("auto", "mlx", "torch"): "inference/synth/backends.py",
    (".wav", ".flac", ".mp3"): "inference/audio/files.py",
}


def product_files() -> list[Path]:
    out = []
    for name in PRODUCT:
        path = ROOT / name
        out += [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return out


def definitions() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {name: set() for name in HOMES}
    for path in product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            for name in names:
                if name in found:
                    found[name].add(path.relative_to(ROOT).as_posix())
    return found


def test_each_fact_is_defined_in_one_file():
    found = definitions()
    assert {name: sorted(where) for name, where in found.items()} == {name: [home] for name, home in HOMES.items()}


def test_no_fact_is_spelt_out_again():
    bad = []
    for path in product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                for spelling, home in SPELLINGS.items():
                    if list(spelling) == values[: len(spelling)] and path.relative_to(ROOT).as_posix() != home:
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno} spells out {spelling}")
    assert bad == []


@pytest.fixture
def moved_ranges():
    """Every range's bounds and step moved in place (the same objects every importer holds)."""
    saved = {name: dataclasses.asdict(spec) for name, spec in params.RANGES.items()}
    moved = {
        "pitch": (-18.0, 18.0, 2.0),
        "index_rate": (0.1, 0.9, 0.1),
        "protect": (0.05, 0.45, 0.1),
        "rms_mix_rate": (0.2, 0.8, 0.1),
        "filter_radius": (1, 5, 1),
        "speaker_id": (2, None, 1),
        "autotune": (0.1, 0.9, 0.1),
        "formant_timbre": (0.6, 1.8, 0.1),
        "formant_quefrency": (1.0, 12.0, 0.5),
        "bitrate": (64, 256, 64),
    }
    for name, (low, high, step) in moved.items():
        spec = params.RANGES[name]
        object.__setattr__(spec, "low", low)
        object.__setattr__(spec, "high", high)
        object.__setattr__(spec, "step", step)
    yield moved
    for name, values in saved.items():
        for key, value in values.items():
            object.__setattr__(params.RANGES[name], key, value)


OPTIONS = {
    "pitch": "--pitch",
    "index_rate": "--index-rate",
    "protect": "--protect",
    "rms_mix_rate": "--rms-mix",
    "filter_radius": "--filter-radius",
    "speaker_id": "--speaker",
    "autotune": "--autotune",
    "formant_timbre": "--formant-timbre",
    "formant_quefrency": "--formant-quefrency",
    "bitrate": "--bitrate",
}


def test_the_command_line_takes_its_ranges_and_defaults_from_the_one_home(moved_ranges):
    import argparse

    from inference.cli.main import build_parser

    parser = build_parser()
    convert = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["convert"]
    actions = {a.option_strings[0]: a for a in convert._actions if a.option_strings}
    for name, option in OPTIONS.items():
        spec, action = params.RANGES[name], actions[option]
        assert action.default == spec.default, option
        action.type(str(spec.low))
        with pytest.raises(argparse.ArgumentTypeError):
            action.type(str(spec.low - spec.step))
        if spec.high is not None:
            action.type(str(spec.high))
            with pytest.raises(argparse.ArgumentTypeError):
                action.type(str(spec.high + spec.step))
    assert tuple(actions["--f0"].choices) == params.F0_METHODS
    assert tuple(actions["--backend"].choices) == params.BACKENDS
    assert tuple(actions["--format"].choices) == params.OUTPUT_FORMATS


def test_the_settings_clamp_to_the_one_home(moved_ranges):
    from inference.pipeline.params import PARAM_DEFAULTS, clean_params

    for name in ("pitch", "index_rate", "protect", "rms_mix_rate", "autotune", "formant_timbre", "formant_quefrency"):
        spec = params.RANGES[name]
        assert PARAM_DEFAULTS[name] == spec.default
        assert clean_params({name: spec.high + 5})[name] == spec.high
        assert clean_params({name: spec.low - 5})[name] == spec.low
    assert clean_params({"f0_method": "crepe", "backend": "cuda"}) == PARAM_DEFAULTS


def test_the_parameter_panel_takes_its_ranges_from_the_one_home(qapp, moved_ranges):
    from app.ui.params_panel import ParamsPanel

    panel = ParamsPanel()
    pitch = params.RANGES["pitch"]
    assert (panel.pitch_spin.minimum(), panel.pitch_spin.maximum(), panel.pitch_spin.singleStep()) == (
        pitch.low,
        pitch.high,
        pitch.step,
    )
    assert (panel.pitch_slider.minimum(), panel.pitch_slider.maximum()) == (pitch.low, pitch.high)
    for widget, name in (
        (panel.index_rate, "index_rate"),
        (panel.protect, "protect"),
        (panel.rms_mix, "rms_mix_rate"),
        (panel.autotune, "autotune"),
        (panel.formant, "formant_timbre"),
        (panel.quefrency, "formant_quefrency"),
    ):
        spec = params.RANGES[name]
        assert (widget.spin.minimum(), widget.spin.maximum()) == pytest.approx((spec.low, spec.high)), name
        assert widget.spin.singleStep() == pytest.approx(spec.step)
        assert (widget.slider.minimum(), widget.slider.maximum()) == (round(spec.low * 100), round(spec.high * 100))
    combo = panel.f0_method
    assert tuple(combo.itemData(i) for i in range(combo.count())) == params.F0_METHODS
    combo = panel.backend
    assert tuple(combo.itemData(i) for i in range(combo.count())) == params.BACKENDS
    panel.deleteLater()


def test_the_settings_dialog_takes_the_bit_rate_from_the_one_home(qapp, fake_home, moved_ranges):
    from app.settings import Settings
    from app.ui.settings_dialog import SettingsDialog
    from inference.core import paths

    dialog = SettingsDialog(Settings(), paths.replay_models_dir(), paths.replay_weights_dir())
    spec = params.RANGES["bitrate"]
    assert (dialog.bitrate.minimum(), dialog.bitrate.maximum(), dialog.bitrate.singleStep()) == (
        spec.low,
        spec.high,
        spec.step,
    )
    dialog.deleteLater()


def test_the_engine_checks_the_same_ranges(moved_ranges):
    protect = params.RANGES["protect"]
    inside = {name: spec.low for name, spec in params.RANGES.items()}
    params.ConversionParams(**dict(inside, protect=protect.high))
    with pytest.raises(params.ParameterError, match=f"protect must be between {protect.low:g} and {protect.high:g}"):
        params.ConversionParams(**dict(inside, protect=protect.high + protect.step))
