"""The convert command's newer options: --preset (explicit options win), --name, --format with
--bitrate, --autotune and the formant shift; each bad value is one usage line."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from inference.pipeline.presets import PresetStore
from tests.support.cli import run, tone


@pytest.fixture
def presets(tmp_path, monkeypatch) -> PresetStore:
    monkeypatch.setenv("RVC_STUDIO_DATA_DIR", str(tmp_path / "data"))
    store = PresetStore()
    store.save("Up", {"pitch": 12, "f0_method": "fcpe", "index_rate": 0.3, "autotune": 0.5, "formant_timbre": 1.2})
    return store


def convert(tmp_path, base, capsys, *extra):
    seen: dict = {}

    def params(**kw):
        seen.update(kw)
        return SimpleNamespace(**kw)

    code, out, err, calls = run(["convert", tone(tmp_path / "a.wav"), *base, *extra], capsys, params_factory=params)
    return code, err, seen, calls


def test_a_preset_fills_in_what_the_options_leave_out(tmp_path, base, capsys, presets) -> None:
    code, _, seen, _ = convert(tmp_path, base, capsys, "--preset", "up")
    assert code == 0
    assert (seen["pitch"], seen["f0_method"], seen["index_rate"], seen["autotune"], seen["formant_timbre"]) == (
        12.0,
        "fcpe",
        0.3,
        0.5,
        1.2,
    )
    assert seen["protect"] == 0.35 and seen["formant_quefrency"] == 1.0  # not in the preset: the defaults
    # an explicit option wins, even when it says the default
    code, _, seen, _ = convert(tmp_path, base, capsys, "--preset", "Up", "--pitch", "0", "--f0", "rmvpe")
    assert code == 0 and (seen["pitch"], seen["f0_method"], seen["index_rate"]) == (0.0, "rmvpe", 0.3)


def test_an_unknown_preset_is_one_line_naming_the_presets(tmp_path, base, capsys, presets) -> None:
    code, err, _, calls = convert(tmp_path, base, capsys, "--preset", "Down")
    assert code == 1 and calls == [] and err.count("\n") == 1
    assert "--preset: no preset called 'Down' (presets: 'Up')" in err


def test_name_format_bitrate_autotune_and_formant_reach_the_conversion(tmp_path, base, capsys) -> None:
    code, _, seen, calls = convert(
        tmp_path,
        base,
        capsys,
        *("--name", "{model} - {name} {pitch}", "--pitch", "-2", "--format", "flac", "--bitrate", "256"),
        *("--autotune", "0.75", "--formant-timbre", "0.8", "--formant-quefrency", "2.5"),
    )
    assert code == 0 and (tmp_path / "out" / "Alice - a -2.flac").is_file()
    assert (seen["output_format"], seen["bitrate"], seen["autotune"]) == ("flac", 256, 0.75)
    assert (seen["formant_timbre"], seen["formant_quefrency"]) == (0.8, 2.5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--name", "{name}: {model}"], "contains ':', which file names cannot hold"),
        (["--name", "{title}"], "unknown placeholder {title}"),
        (["--format", "wma"], "--format: invalid choice: 'wma'"),
        (["--bitrate", "500"], "--bitrate: 500 is out of range (32 to 320 kbit/s)"),
        (["--autotune", "2"], "--autotune: 2 is out of range (0 to 1)"),
        (["--formant-timbre", "0.1"], "--formant-timbre: 0.1 is out of range (0.5 to 2)"),
        (["--formant-quefrency", "40"], "--formant-quefrency: 40 is out of range (0.5 to 16 ms)"),
    ],
)
def test_bad_values_are_usage_errors(tmp_path, base, capsys, extra, message) -> None:
    code, err, _, calls = convert(tmp_path, base, capsys, *extra)
    assert code == 2 and message in err and calls == []


def test_a_model_without_its_own_embedder_is_one_whole_line(tmp_path, capsys) -> None:
    from tests.support.embedders import transformers_folder
    from tests.support.voice_models import make_voice_model

    models = tmp_path / "models"
    make_voice_model(models / "Kenji" / "model.pth", layout="applio", extra={"embedder_model": "korean-hubert-base"})
    argv = ["convert", tone(tmp_path / "a.wav"), "-m", "Kenji", "--models-dir", models, "-o", tmp_path / "out"]
    code, _, err, calls = run([*argv, "--weights-dir", tmp_path], capsys)
    assert code == 1 and calls == [] and err.count("\n") == 1 and not (tmp_path / "out" / "a (Kenji).wav").exists()
    assert "model Kenji cannot be used: needs the korean-hubert-base embedder; not found in" in err
    page = "https://huggingface.co/IAHispano/Applio/tree/main/Resources/embedders/korean_hubert_base"
    assert page in err and err.rstrip().endswith("rvc/models/embedders/korean_hubert_base)")  # never cut
    code, out, _, _ = run(["models", "--folder", models, "--no-replay"], capsys)
    assert "korean-hubert-base" in out.splitlines()[1] and "(unusable)" in out
    transformers_folder(tmp_path / "korean_hubert_base", seed=1)
    code, out, err, calls = run([*argv, "--weights-dir", tmp_path], capsys)
    assert code == 0 and len(calls) == 1, err
    code, out, _, _ = run(["info", "Kenji", "--folder", models, "--no-replay", "--weights-dir", tmp_path], capsys)
    assert "Embedder:    korean-hubert-base" in out and "Usable:      yes" in out


def test_the_presets_command_lists_and_imports(tmp_path, capsys, presets) -> None:
    import json

    applio = tmp_path / "m2f.json"
    applio.write_text(json.dumps({"formant_qfrency": 1.0, "formant_timbre": 1.2}))
    code, out, err, _ = run(["presets", "--import", applio, tmp_path / "gone.json"], capsys)
    assert code == 1 and "gone.json: file not found" in err and "imported" in err
    assert out.splitlines() == [
        "Up: pitch 12, index_rate 0.3, autotune 0.5, formant_timbre 1.2, f0_method fcpe",
        "m2f: formant_timbre 1.2, formant_quefrency 1",
    ]
    code, out, _, _ = run(["presets", "--json"], capsys)
    assert code == 0 and json.loads(out)["m2f"] == {"formant_quefrency": 1.0, "formant_timbre": 1.2}
