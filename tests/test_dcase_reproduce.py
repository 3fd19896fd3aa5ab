"""`soundad reproduce` and run_grid on DCASE-layout folders give the hand-worked DCASE scores (issue 15).

The folders hold three kinds of 2.5 s clips whose anomaly scores are ordered
with wide margins under any frozen backbone and a nearest-neighbour detector
fitted on tone clips: *tone* (440 Hz, jittered; like the training clips,
lowest score), *harmonic* (the tone plus its 3rd harmonic and a 2 kHz tone;
the anomalies, middle) and *noise* (white noise; highest). Measured with
resnet18/random/knn: tones 44-50, harmonics 266-291, noise 743.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from soundad.cli import main
from soundad.features import WindowConfig
from soundad.reproduce import run_grid

SR = 16000


def _clip(kind: str, i: int) -> np.ndarray:
    t = np.arange(int(2.5 * SR)) / SR  # 77 frames: one default 64-frame window fits
    rng = np.random.default_rng(i)
    f = 440.0 * (1 + 0.01 * i)
    y = np.sin(2 * np.pi * f * t)
    if kind == "harmonic":
        y = y + 0.7 * np.sin(2 * np.pi * 3 * f * t) + 0.5 * np.sin(2 * np.pi * 2000.0 * t)
    elif kind == "noise":
        y = rng.standard_normal(t.size)
    return (0.3 * y / np.max(np.abs(y)) + 1e-3 * rng.standard_normal(t.size)).astype(np.float32)


def _write(root: Path, plan: list[tuple[str, str]]) -> Path:
    for i, (rel, kind) in enumerate(plan):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), _clip(kind, i), SR, subtype="PCM_16")
    return root


def _plan_2023() -> list[tuple[str, str]]:
    s = "fan/{}/section_00_{}_{}_{}_{:04d}_spd_{}.wav"
    return [
        *[(s.format("train", "source", "train", "normal", i, 100), "tone") for i in range(5)],
        (s.format("train", "target", "train", "normal", 0, 125), "tone"),
        (s.format("test", "source", "test", "normal", 0, 100), "tone"),
        (s.format("test", "source", "test", "normal", 1, 100), "tone"),
        (s.format("test", "target", "test", "normal", 0, 125), "tone"),
        (s.format("test", "target", "test", "normal", 1, 125), "noise"),
        (s.format("test", "source", "test", "anomaly", 0, 100), "harmonic"),
        (s.format("test", "target", "test", "anomaly", 0, 125), "harmonic"),
    ]


def _plan_2020() -> list[tuple[str, str]]:
    plan = []
    for mid in ("id_00", "id_02"):
        plan += [(f"valve/train/normal_{mid}_{i:08d}.wav", "tone") for i in range(6)]  # > knn's 5 neighbours
        plan += [(f"valve/test/normal_{mid}_{i:08d}.wav", "tone") for i in range(3)]
        plan += [(f"valve/test/anomaly_{mid}_{i:08d}.wav", "harmonic") for i in range(2)]
    plan.append(("valve/test/normal_id_00_00000003.wav", "noise"))  # id_00 only
    return plan


SETTINGS = dict(backbones=("resnet18",), weights=("random",), detectors=("knn",), baselines=(), image_size=32,
                window=WindowConfig(length=32, hop=16), device="cpu", n_boot=0, progress=False, figures=False)
CLI = ["--backbones", "resnet18", "--weights", "random", "--detectors", "knn", "--baselines", "none",
       "--image-size", "32", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dcase-feature-cache")


def test_dcase2023_folder_through_the_python_api(tmp_path, cache):
    """section_00: normals = source tones 2, target tone 1 + target noise 1; anomalies = 2 harmonics.

    Hand-worked (scores: tone < harmonic < noise):
      AUC(source) = source tones vs both anomalies: 4/4 = 1
      AUC(target) = {target tone, target noise} vs both anomalies: tone loses 2, noise wins 2 -> 2/4 = 0.5
      AUC(all)    = 4 normals x 2 anomalies: 3 tones x 2 = 6 of 8 -> 0.75
      pAUC        = the top score is a normal (noise): FPR reaches 0.25 before any TPR -> 0;
                    McClish: 0.5 * (1 + (0 - 0.005) / 0.095) = 9/19
      official    = hmean(1, 0.5, 9/19) = 3 / (1 + 2 + 19/9) = 27/46
    """
    data = _write(tmp_path / "dcase2023", _plan_2023())
    results = run_grid(data, out=tmp_path / "out", cache_dir=cache, **SETTINGS)
    assert set(results["split"]) == {"given"}  # split="auto" keeps the folders' split
    assert results.loc[0, "n_train"] == 6 and results.loc[0, "n_test"] == 6
    table = pd.read_csv(tmp_path / "out" / "dcase_scores.csv")
    row = table.iloc[0]
    assert (row["machine"], row["model_id"], row["snr"]) == ("fan", "section_00", "dcase2021-2025")
    assert row["auc"] == pytest.approx(0.75) and row["pauc"] == pytest.approx(0.0)
    assert row["pauc_official"] == pytest.approx(9 / 19)
    assert row["auc_source"] == pytest.approx(1.0) and row["auc_target"] == pytest.approx(0.5)
    summary = pd.read_csv(results.attrs["dcase_summary"]).set_index("machine")
    assert summary.loc["all", "official_score"] == pytest.approx(27 / 46)
    assert results.loc[0, "auc"] == pytest.approx(0.75)  # results.csv agrees


def test_dcase2020_folder_through_the_python_api(tmp_path, cache):
    """Hand-worked as in the CLI test below: id_00 AUC 0.75, pAUC 0; id_02 AUC = pAUC = 1; means 0.875, 0.5."""
    data = _write(tmp_path / "dcase2020", _plan_2020())
    results = run_grid(data, out=tmp_path / "out", cache_dir=cache, **SETTINGS)
    assert set(results["split"]) == {"given"} and set(results["n_train"]) == {6}
    table = pd.read_csv(tmp_path / "out" / "dcase_scores.csv").set_index("model_id")
    assert table.loc["id_00", "auc"] == pytest.approx(0.75) and table.loc["id_00", "pauc"] == pytest.approx(0.0)
    assert table.loc["id_02", "auc"] == pytest.approx(1.0) and table.loc["id_02", "pauc"] == pytest.approx(1.0)
    summary = pd.read_csv(results.attrs["dcase_summary"]).set_index("machine")
    assert summary.loc["all", "auc_mean"] == pytest.approx(0.875)
    assert summary.loc["all", "pauc_mean"] == pytest.approx(0.5)


def test_dcase2023_and_dcase2020_folders_through_the_cli(tmp_path, cache, capsys):
    """DCASE 2020, valve: id_00 normals = 3 tones + 1 noise, anomalies = 2 harmonics; id_02 without the noise.

    Hand-worked: id_00 AUC = 3 x 2 wins of 4 x 2 = 0.75, pAUC = 0 (noise on top); id_02 AUC = pAUC = 1;
    machine means (DCASE 2020's arithmetic means) AUC 0.875, pAUC 0.5; no domains, so no official score.
    """
    data = _write(tmp_path / "dcase2020", _plan_2020())
    assert main(["reproduce", "--data", str(data), "--out", str(tmp_path / "o20"), "--cache", str(cache), *CLI]) == 0
    table = pd.read_csv(tmp_path / "o20" / "dcase_scores.csv").set_index("model_id")
    assert table.loc["id_00", "auc"] == pytest.approx(0.75) and table.loc["id_00", "pauc"] == pytest.approx(0.0)
    assert table.loc["id_02", "auc"] == pytest.approx(1.0) and table.loc["id_02", "pauc"] == pytest.approx(1.0)
    summary = pd.read_csv(tmp_path / "o20" / "dcase_summary.csv").set_index("machine")
    assert summary.loc["valve", "auc_mean"] == pytest.approx(0.875)
    assert summary.loc["valve", "pauc_mean"] == pytest.approx(0.5)
    assert summary["official_score"].isna().all()
    out = capsys.readouterr().out
    assert "split: given (chosen by --split auto)" in out and "DCASE scores" in out

    data = _write(tmp_path / "dcase2023", _plan_2023())
    assert main(["reproduce", "--data", str(data), "--out", str(tmp_path / "o23"), "--cache", str(cache), *CLI]) == 0
    summary = pd.read_csv(tmp_path / "o23" / "dcase_summary.csv").set_index("machine")
    assert summary.loc["all", "official_score"] == pytest.approx(27 / 46)
    assert "0.587" in capsys.readouterr().out  # 27/46 = 0.58696, printed with 3 decimals


def test_given_split_needs_a_split_column(synthetic_root, tmp_path):
    from soundad.errors import ParameterError

    with pytest.raises(ParameterError, match="split='given' needs"):
        run_grid(synthetic_root, out=tmp_path, split="given", **SETTINGS)


def test_first_group_of_a_dcase_folder_keeps_training_clips(tmp_path):
    from soundad.data import read_layout
    from soundad.data import first_group

    clips = read_layout(_write(tmp_path / "d", _plan_2023()))
    group, rule, name = first_group(clips, max_clips=4)
    assert rule == "given" and name == "fan section_00 dcase2021-2025"
    assert group.groupby(["split", "label"]).size().to_dict() == {
        ("test", "abnormal"): 2, ("test", "normal"): 2, ("train", "normal"): 2}
