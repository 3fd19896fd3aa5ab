"""Tests for soundad.extract: batching across clips, determinism, workers, save/load."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from soundad.errors import DataError, ParameterError
from soundad.extract import WindowFeatures, clip_windows, extract_features, load_features, save_features
from soundad.features import ImageConfig, WindowConfig, windows_to_images

SR = 16000
WINDOW = WindowConfig(length=16, hop=8)  # 2-s clips have 63 frames -> 6 windows
IMAGE = ImageConfig(size=64)  # small images keep the tests fast
FAST = dict(backbone="resnet18", weights="random", window=WINDOW, image=IMAGE, device="cpu", progress=False)


def write_clips(root, n=3, seconds=2.0, channels=2, seed=0):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        t = np.arange(int(seconds * SR)) / SR
        tone = 0.3 * np.sin(2 * np.pi * (300 + 200 * i) * t)
        data = np.stack([tone + 0.05 * rng.standard_normal(t.size) for _ in range(channels)], axis=1)
        path = root / f"clip{i}.wav"
        sf.write(path, data.astype(np.float32), SR, subtype="PCM_16")
        rows.append({"clip_id": f"m/id_00/normal/clip{i}.wav", "path": str(path)})
    return pd.DataFrame(rows)


@pytest.fixture
def clips(tmp_path):
    return write_clips(tmp_path)


def test_shapes_order_and_metadata(clips):
    wf = extract_features(clips, batch_size=4, num_workers=0, **FAST)
    assert isinstance(wf, WindowFeatures)
    assert wf.features.shape == (18, 512) and wf.features.dtype == np.float32
    assert list(wf.clip_ids) == [c for c in clips["clip_id"] for _ in range(6)]
    assert list(wf.window_index) == list(range(6)) * 3
    assert (wf.backbone, wf.weights, wf.layer, wf.weights_name) == ("resnet18", "random", "layer4", "random")
    assert wf.windows_per_second > 0 and not wf.from_cache
    assert wf.stats["computed_windows"] == 18 and len(wf.rows_of(clips["clip_id"][1])) == 6


def test_matches_the_step_by_step_pipeline(clips):
    """Batches that cut across clips must give each clip its own windows' features."""
    from soundad.backbones import load_backbone

    wf = extract_features(clips, batch_size=4, num_workers=0, **FAST)
    model = load_backbone("resnet18", weights="random")
    for clip_id, path in zip(clips["clip_id"], clips["path"]):
        windows = clip_windows(path, window=WINDOW)
        images = windows_to_images(windows, config=IMAGE, mean=model.mean, std=model.std)
        with torch.inference_mode():
            expected = model(images).numpy()
        np.testing.assert_allclose(wf.features[wf.clip_ids == clip_id], expected, rtol=1e-4, atol=1e-4)


def test_deterministic_across_runs_and_workers(clips):
    first = extract_features(clips, batch_size=5, num_workers=0, **FAST)
    second = extract_features(clips, batch_size=5, num_workers=0, **FAST)
    np.testing.assert_array_equal(first.features, second.features)
    with_worker = extract_features(clips, batch_size=5, num_workers=1, **FAST)
    np.testing.assert_array_equal(first.features, with_worker.features)
    np.testing.assert_array_equal(first.clip_ids, with_worker.clip_ids)


def test_list_of_paths_and_channel_mean(clips):
    wf = extract_features(list(clips["path"]), channel="mean", batch_size=8, num_workers=0, **FAST)
    assert list(wf.clip_ids[:6]) == [clips["path"][0]] * 6


def test_bad_parameters_fail_early(clips):
    with pytest.raises(ParameterError, match="resnet18.*efficientnet_lite0"):
        extract_features(clips, backbone="vgg16", progress=False)
    with pytest.raises(ParameterError, match="clip_id"):
        extract_features(clips[["path"]], **FAST)
    with pytest.raises(ParameterError, match="batch_size"):
        extract_features(clips, batch_size=0, **FAST)
    with pytest.raises(ParameterError, match="no clips"):
        extract_features(clips.iloc[:0], **FAST)


def test_window_longer_than_clip_names_file_and_lengths(clips):
    fast = {**FAST, "window": WindowConfig(length=64, hop=32)}
    with pytest.raises(ParameterError, match=r"clip0\.wav.*64 frames.*63 frames"):
        extract_features(clips, num_workers=0, **fast)


def test_missing_file_is_a_data_error(clips):
    broken = clips.copy()
    broken.loc[1, "path"] = broken.loc[1, "path"] + ".missing"
    with pytest.raises(DataError, match="missing"):
        extract_features(broken, num_workers=0, **FAST)


@pytest.mark.parametrize("front_end", ["librosa", "torch"])
def test_a_broken_file_read_in_a_worker_is_its_own_one_line_error(clips, front_end):
    path = clips.loc[1, "path"]
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])  # a truncated WAV between two good ones
    with pytest.raises(DataError) as caught:
        extract_features(clips, num_workers=1, front_end=front_end, **FAST)
    assert type(caught.value) is DataError
    message = str(caught.value)
    assert message.startswith(f"{path!r} is truncated") and "\n" not in message
    assert "Original Traceback" not in message and "worker" not in message


def test_save_and_load_roundtrip(clips, tmp_path):
    wf = extract_features(clips, batch_size=8, num_workers=0, **FAST)
    out = save_features(wf, tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["features.npy", "meta.json", "windows.csv"]
    back = load_features(out)
    np.testing.assert_array_equal(back.features, wf.features)
    np.testing.assert_array_equal(back.clip_ids, wf.clip_ids)
    np.testing.assert_array_equal(back.window_index, wf.window_index)
    assert (back.backbone, back.weights, back.layer) == (wf.backbone, wf.weights, wf.layer)
    assert back.settings["window"]["length"] == 16
    (out / "windows.csv").write_text("clip_id,window\nx,0\n")
    with pytest.raises(DataError, match="inconsistent"):
        load_features(out)


def test_half_on_cpu_warns_and_uses_float32(clips):
    with pytest.warns(UserWarning, match="half=True needs a GPU"):
        wf = extract_features(clips.iloc[:1], batch_size=8, num_workers=0, half=True, **FAST)
    assert wf.settings["numerics"]["half"] is False and wf.features.dtype == np.float32


def test_default_workers_on_cpu_is_in_process():
    from soundad.extract import default_num_workers

    assert default_num_workers("cpu") == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("half", [False, True])
def test_cuda_matches_cpu(clips, half):
    cpu = extract_features(clips, batch_size=4, num_workers=0, **FAST)
    gpu = extract_features(clips, batch_size=4, num_workers=1, half=half, **{**FAST, "device": "cuda"})
    assert gpu.stats["device"].startswith("cuda")
    # TF32 convolutions (float32) and float16 differ from the CPU in the last digits.
    scale = np.abs(cpu.features).max()
    assert np.abs(gpu.features - cpu.features).max() <= (2e-2 if half else 5e-3) * scale


def test_cpu_fusion_is_in_the_cache_key_and_changes_no_feature(clips, tmp_path):
    from soundad.backbones import onednn_graph_available

    if not onednn_graph_available():
        pytest.skip("this torch build has no oneDNN graph fusion (x86-64 builds do)")
    full_size = {**FAST, "image": ImageConfig(), "backbone": "squeezenet1_1"}  # the traced 224-px size
    fused = extract_features(clips.iloc[:2], batch_size=4, cache_dir=tmp_path / "c", **full_size)
    eager = extract_features(clips.iloc[:2], batch_size=4, cpu_fusion=False, cache_dir=tmp_path / "c", **full_size)
    assert fused.settings["numerics"]["cpu_fusion"] is True
    assert eager.settings["numerics"]["cpu_fusion"] is False
    assert not eager.from_cache  # another setting, another cache entry
    scale = float(np.abs(eager.features).max())
    assert float(np.abs(fused.features - eager.features).max()) <= 1e-5 * scale


def test_workers_hand_over_chunks_of_clips_with_identical_results(tmp_path):
    # 11 clips: two chunks of 8 and 3 clips, batches of 5 windows cut across clips and chunks
    many = write_clips(tmp_path / "many", n=11, seconds=1.0)  # 1-s clips: 32 frames -> 3 windows
    alone = extract_features(many, batch_size=5, num_workers=0, **FAST)
    workers = extract_features(many, batch_size=5, num_workers=2, cache_dir=tmp_path / "cache", **FAST)
    assert workers.features.shape == (33, 512)
    np.testing.assert_array_equal(alone.features, workers.features)
    np.testing.assert_array_equal(alone.clip_ids, workers.clip_ids)
    np.testing.assert_array_equal(alone.window_index, workers.window_index)
    # every clip's entry was written by the background writers before the call returned
    warm = extract_features(many, batch_size=5, num_workers=0, cache_dir=tmp_path / "cache", **FAST)
    assert warm.from_cache
    np.testing.assert_array_equal(warm.features, workers.features)


def test_a_failed_cache_write_is_reported(clips, tmp_path, monkeypatch):
    from soundad.cache import FeatureCache

    real_save = FeatureCache.save
    calls = []

    def flaky_save(self, fingerprint, features):
        calls.append(fingerprint)
        if len(calls) == 2:
            raise OSError("No space left on device")
        return real_save(self, fingerprint, features)

    monkeypatch.setattr(FeatureCache, "save", flaky_save)
    with pytest.raises(OSError, match="No space left"):
        extract_features(clips, batch_size=4, num_workers=0, cache_dir=tmp_path / "cache", **FAST)
    assert len(calls) >= 2
    # what was written before the failure stays usable: a rerun takes the first clip from the cache
    monkeypatch.setattr(FeatureCache, "save", real_save)
    rerun = extract_features(clips, batch_size=4, num_workers=0, cache_dir=tmp_path / "cache", **FAST)
    assert rerun.stats["cached_clips"] == 1
