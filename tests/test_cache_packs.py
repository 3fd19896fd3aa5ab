"""Whole-run packs of the feature cache (soundad.cache_packs): a warm rerun reads one file."""

import os
import warnings

import numpy as np
import pytest
import soundfile as sf

import soundad.cache
import soundad.data.audio
import soundad.extract
import soundad.fingerprints
from soundad.cache_packs import PackStore
from test_extract import FAST, write_clips
from test_extract_cache import forbid_model

RUN = dict(batch_size=8, num_workers=0, **FAST)


@pytest.fixture
def clips(tmp_path):
    return write_clips(tmp_path / "audio", n=4)


def packs(cache):
    return sorted(cache.rglob("packs/*.pack"))


def forbid_per_clip_reads(monkeypatch):
    """Fail if a run opens a per-clip cache entry or an audio header."""
    def refuse(*args, **kwargs):
        raise AssertionError("a pack hit must read neither per-clip entries nor audio headers")

    monkeypatch.setattr(soundad.cache.FeatureCache, "load", refuse)
    monkeypatch.setattr(soundad.extract, "check_clip_headers", refuse)


def test_a_rerun_reads_one_pack_and_nothing_else(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cold = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    assert len(packs(cache)) == 1
    forbid_model(monkeypatch)
    forbid_per_clip_reads(monkeypatch)
    warm = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    assert warm.from_cache and warm.stats["cached_clips"] == 4 and warm.stats["computed_windows"] == 0
    np.testing.assert_array_equal(warm.features, cold.features)
    np.testing.assert_array_equal(warm.clip_ids, cold.clip_ids)
    np.testing.assert_array_equal(warm.window_index, cold.window_index)
    assert warm.features.flags.writeable and warm.features.dtype == np.float32


def test_other_clips_or_order_miss_the_pack_and_get_their_own(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    full = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    reordered = clips.iloc[::-1].reset_index(drop=True)
    again = soundad.extract.extract_features(reordered, cache_dir=cache, **RUN)  # per-clip entries
    assert again.from_cache and len(packs(cache)) == 2
    subset = soundad.extract.extract_features(clips.iloc[:2], cache_dir=cache, **RUN)
    assert subset.from_cache and len(packs(cache)) == 3
    forbid_per_clip_reads(monkeypatch)
    back = soundad.extract.extract_features(reordered, cache_dir=cache, **RUN)
    np.testing.assert_array_equal(back.features, again.features)
    rows = full.clip_ids == clips["clip_id"][3]
    np.testing.assert_array_equal(back.features[: rows.sum()], full.features[rows])


def test_an_edited_clip_misses_the_pack(clips, tmp_path):
    cache = tmp_path / "cache"
    soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    data, sr = sf.read(clips["path"][1])
    sf.write(clips["path"][1], data[::-1].copy(), sr, subtype="PCM_16")
    again = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    assert not again.from_cache and again.stats["cached_clips"] == 3


@pytest.mark.parametrize("damage", ["flip", "truncate", "record", "record_list"])
def test_a_damaged_pack_warns_is_deleted_and_the_entries_serve(clips, tmp_path, damage):
    cache = tmp_path / "cache"
    cold = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    (pack,) = packs(cache)
    if damage == "flip":
        data = bytearray(pack.read_bytes())
        data[-5] ^= 0xFF
        pack.write_bytes(bytes(data))
    elif damage == "truncate":
        pack.write_bytes(pack.read_bytes()[:200])
    elif damage == "record":
        pack.with_suffix(".json").write_text("{not json")
    else:
        pack.with_suffix(".json").write_text("[1, 2]")
    with pytest.warns(UserWarning, match="feature cache pack .* reading the per-clip entries"):
        again = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    assert again.from_cache
    np.testing.assert_array_equal(again.features, cold.features)
    assert len(packs(cache)) == 1  # deleted, then written again by that run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        third = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    np.testing.assert_array_equal(third.features, cold.features)


def test_a_pack_without_its_record_is_never_read(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    (pack,) = packs(cache)
    pack.with_suffix(".json").unlink()  # as if interrupted between the two writes
    loads = []
    real = soundad.cache.FeatureCache.load
    monkeypatch.setattr(soundad.cache.FeatureCache, "load", lambda self, *a, **k: loads.append(1) or real(self, *a, **k))
    warm = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    assert warm.from_cache and len(loads) == 4


def test_verify_cache_skips_the_pack(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    hashed = []
    real = soundad.cache.file_fingerprint
    monkeypatch.setattr(soundad.fingerprints, "file_fingerprint", lambda p, **k: hashed.append(p) or real(p, **k))
    warm = soundad.extract.extract_features(clips, cache_dir=cache, verify_cache=True, **RUN)
    assert warm.from_cache and len(hashed) == 4


def test_clips_at_another_rate_write_no_pack_so_the_warning_repeats(tmp_path):
    path = tmp_path / "a.wav"
    rng = np.random.default_rng(0)
    sf.write(path, (0.1 * rng.standard_normal(3 * 22050)).astype(np.float32), 22050, subtype="PCM_16")
    cache = tmp_path / "cache"
    soundad.data.audio._RATE_WARNINGS_SHOWN.clear()
    with pytest.warns(UserWarning, match="resampled"):
        soundad.extract.extract_features([path], cache_dir=cache, **RUN)
    assert packs(cache) == []
    soundad.data.audio._RATE_WARNINGS_SHOWN.clear()
    with pytest.warns(UserWarning, match="resampled"):
        warm = soundad.extract.extract_features([path], cache_dir=cache, **RUN)
    assert warm.from_cache


def test_least_recently_used_packs_are_pruned(tmp_path):
    from soundad.cache import FeatureCache

    store = PackStore(FeatureCache(tmp_path, {"s": 1}), max_packs=2)
    arrays = {key: np.full((3, 2), i, dtype=np.float32) for i, key in enumerate("abc")}
    for i, key in enumerate("ab"):
        store.save(key, arrays[key], [1, 2])
        os.utime(store.directory / f"{key}.json", (1000 + i, 1000 + i))
    assert store.load("a") is not None  # used now: newer than b
    store.save("c", arrays["c"], [3])
    assert {p.stem for p in store.directory.glob("*.json")} == {"a", "c"}
    assert not (store.directory / "b.pack").exists()
    features, counts = store.load("c")
    np.testing.assert_array_equal(features, arrays["c"])
    assert counts == [3]


def test_a_malformed_fingerprint_memo_warns_once(clips, tmp_path):
    cache = tmp_path / "cache"
    soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    (cache / "fingerprints.json").write_text("{broken")
    with pytest.warns(UserWarning) as record:
        soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    assert sum("fingerprint index" in str(w.message) for w in record) == 1


def test_a_read_only_cache_still_serves_its_pack(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cold = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(os, "utime", read_only)  # marking the pack as recently used fails
    forbid_per_clip_reads(monkeypatch)
    warm = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    np.testing.assert_array_equal(warm.features, cold.features)


def test_without_a_pack_folder_no_file_is_stat_ed_for_packs(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    soundad.extract.extract_features(clips, cache_dir=cache, **RUN)
    for folder in cache.rglob("packs"):
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()

    def refuse(*args, **kwargs):
        raise AssertionError("no pack folder: the fingerprint memo need not be consulted for packs")

    monkeypatch.setattr(soundad.fingerprints.FingerprintIndex, "known", refuse)
    again = soundad.extract.extract_features(clips, cache_dir=cache, **RUN)  # per-clip entries
    assert again.from_cache and again.stats["cached_clips"] == 4
