"""Which layer? `soundad reproduce --layers` on the real embedded sample (issue 15, item 6).

Small enough for CI: EfficientNet-Lite0 at 96 px, the Mahalanobis detector,
three repeated splits, the default layer against one intermediate stage and
the concatenation of two stages with the default. The comparison lines are
printed in the summary of the test run ("figures measured by the tests").
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from soundad.cli import main
from soundad.data.embedded import embedded_sample_root
from soundad.errors import DataError, ParameterError
from soundad.layer_study import STAGES, compare_layers, stage_layers

LAYERS = "default,_blocks.14,_blocks.10+_blocks.14+_swish_1"
_LINE = re.compile(r"^efficientnet_lite0 \((imagenet|random)\): layer=(\S+) minus "
                   r"layer=default: mean AUC difference ([+-]\d\.\d{3}) "
                   r"\[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\] \(95% interval; 1 group\(s\), "
                   r"3 repeat\(s\), \d+ test clips\)$")


def test_stage_layers_keep_the_default_first_and_join_the_last_stages():
    layers = stage_layers("efficientnet_lite0")
    assert layers[0] is None  # the paper's layer stays the reference
    assert layers[1:4] == tuple(STAGES["efficientnet_lite0"].values())
    assert layers[-1] == "_blocks.10+_blocks.14+_swish_1"
    assert stage_layers("resnet18", concat=False) == (None, "layer2", "layer3")
    with pytest.raises(ParameterError, match="no stage list"):
        stage_layers("alexnet")


@pytest.mark.slow
def test_reproduce_layers_on_the_real_sample_prints_intervals(tmp_path, capsys, report):
    out = tmp_path / "run"
    code = main(["reproduce", "-q", "--data", str(embedded_sample_root()), "--out", str(out),
                 "--backbones", "efficientnet_lite0", "--weights", "imagenet,random",
                 "--layers", LAYERS, "--detectors", "mahalanobis", "--baselines", "none",
                 "--repeats", "3", "--image-size", "96", "--cache", str(tmp_path / "cache")])
    text = capsys.readouterr().out
    assert code == 0
    lines = [line for line in text.splitlines() if line.startswith("efficientnet_lite0 (")]
    for line in lines:
        report(f"layers on the real sample: {line}")
    assert len(lines) == 4  # 2 weights x 2 layers other than the default
    seen = set()
    for line in lines:
        match = _LINE.match(line)
        assert match, line
        estimate, lo, hi = (float(match.group(i)) for i in (3, 4, 5))
        assert lo <= estimate <= hi
        seen.add((match.group(1), match.group(2)))
    assert seen == {(w, layer) for w in ("imagenet", "random")
                    for layer in LAYERS.split(",")[1:]}
    # the same numbers from the Python API, and the same again with the same seed
    scores = pd.read_csv(out / "scores.csv", dtype={"clip_id": str})
    table = compare_layers(scores)
    assert list(table["sentence"]) == lines
    pd.testing.assert_frame_equal(table, compare_layers(scores))
    with pytest.raises(DataError, match="reference layer"):
        compare_layers(scores, reference="_blocks.7")


def test_compare_layers_passes_over_baselines_and_backbones_without_the_reference():
    rows = []
    for i in range(12):
        label = "abnormal" if i % 2 else "normal"
        base = {"clip_id": f"c{i}", "snr": "0dB", "machine": "fan", "model_id": "id_00",
                "label": label, "repeat": 0, "detector": "knn"}
        good = float(i % 2) + 0.01 * i  # separates the classes
        rows += [
            {**base, "backbone": "lite", "weights": "imagenet", "layer": "default", "score": 0.01 * i},
            {**base, "backbone": "lite", "weights": "imagenet", "layer": "x", "score": good},
            {**base, "backbone": "conv_ae", "weights": "none", "layer": "-",
             "detector": "reconstruction", "score": good},
            {**base, "backbone": "other", "weights": "random", "layer": "x", "score": good},
        ]
    table = compare_layers(pd.DataFrame(rows), n_boot=200)
    assert list(zip(table["backbone"], table["layer"])) == [("lite", "x")]
    assert table["estimate"].iloc[0] > 0


def test_the_intermediate_preset_is_a_named_layer_and_the_paper_layer_stays_default():
    from soundad.backbones import DEFAULT_LAYERS, LAYER_PRESETS, load_backbone, resolve_layer

    assert resolve_layer("efficientnet_lite0", "intermediate") == LAYER_PRESETS["intermediate"]["efficientnet_lite0"]
    assert resolve_layer("efficientnet_lite0", None) is None and resolve_layer("resnet18", "layer3") == "layer3"
    preset = load_backbone("efficientnet_lite0", weights="random", layer="intermediate", cpu_fusion=False)
    assert preset.layer == "_blocks.14" and preset.feature_dim == 192
    assert load_backbone("efficientnet_lite0", weights="random", cpu_fusion=False).layer == DEFAULT_LAYERS[
        "efficientnet_lite0"]
    with pytest.raises(ParameterError, match="preset 'intermediate' is defined for efficientnet_lite0 only"):
        resolve_layer("resnet18", "intermediate")


def test_cli_refuses_a_preset_for_a_backbone_it_does_not_cover(tmp_path, capsys):
    rc = main(["reproduce", "--data", str(embedded_sample_root()), "--backbones", "resnet18",
               "--weights", "random", "--layers", "intermediate", "--out", str(tmp_path / "o"), "-q"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "preset 'intermediate'" in err[0]
