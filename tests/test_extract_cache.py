"""Tests for the feature cache (soundad.cache) as used by extract_features."""

import warnings

import numpy as np
import pytest
import soundfile as sf

import soundad.extract
import soundad.extract_loop
from soundad.errors import ParameterError
from soundad.cache import FeatureCache, file_fingerprint, settings_digest
from soundad.features import ImageConfig, MelConfig, WindowConfig
from test_extract import FAST, write_clips


@pytest.fixture
def clips(tmp_path):
    return write_clips(tmp_path / "audio")


def drop_packs(cache):
    """Delete the whole-run packs (soundad.cache_packs), so that a rerun reads the per-clip entries."""
    import shutil

    for packs in cache.rglob("packs"):
        shutil.rmtree(packs)


def forbid_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the backbone must not be loaded on a warm run")

    monkeypatch.setattr(soundad.extract_loop, "load_backbone", refuse)


def test_warm_run_hits_cache_without_loading_the_model(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cold = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert not cold.from_cache and cold.stats["cached_clips"] == 0
    assert len(list(cache.rglob("*.npy"))) == 3 and len(list(cache.rglob("settings.json"))) == 1
    forbid_model(monkeypatch)
    warm = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert warm.from_cache and warm.stats["cached_clips"] == 3 and warm.stats["computed_windows"] == 0
    np.testing.assert_array_equal(warm.features, cold.features)
    np.testing.assert_array_equal(warm.clip_ids, cold.clip_ids)


def test_changed_audio_and_changed_settings_miss(clips, tmp_path):
    cache = tmp_path / "cache"
    soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    # Rewrite one clip with other content: only that clip is recomputed.
    path = clips["path"][2]
    data, sr = sf.read(path)
    sf.write(path, data[::-1].copy(), sr, subtype="PCM_16")
    again = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert again.stats["cached_clips"] == 2 and again.stats["computed_windows"] == 6
    # Another setting (here the colour map) is another cache directory.
    other = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0,
                                             **{**FAST, "image": ImageConfig(size=64, colormap="gray")})
    assert other.stats["cached_clips"] == 0
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_shape"])
def test_corrupt_entry_is_detected_and_recomputed(clips, tmp_path, damage):
    cache = tmp_path / "cache"
    cold = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    drop_packs(cache)
    entry = sorted(cache.rglob("*.npy"))[0]
    if damage == "truncate":
        entry.write_bytes(entry.read_bytes()[:100])
    elif damage == "garbage":
        entry.write_bytes(b"\x00" * 64)
    else:
        np.save(entry, np.zeros((6, 7), dtype=np.float32))
    with pytest.warns(UserWarning, match="recomputing"):
        again = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert again.stats["cached_clips"] == 2
    np.testing.assert_allclose(again.features, cold.features, rtol=1e-4, atol=1e-5)
    # The entry was rewritten: a third run is a clean, silent hit.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        third = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert third.from_cache


def test_fingerprint_follows_content_not_path(tmp_path):
    a = tmp_path / "a.bin"
    a.write_bytes(b"x" * 5000)
    b = tmp_path / "sub" / "b.bin"
    b.parent.mkdir()
    b.write_bytes(b"x" * 5000)
    assert file_fingerprint(a) == file_fingerprint(b)
    b.write_bytes(b"x" * 4999 + b"y")
    assert file_fingerprint(a) != file_fingerprint(b)
    # Large files: the ends are hashed, and the size.
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x00" * 3000 + b"\x01" * 3000)
    assert file_fingerprint(big, chunk_bytes=1000) != file_fingerprint(a, chunk_bytes=1000)
    with pytest.raises(ParameterError, match=r"chunk_bytes=0; expected an integer >= 1"):
        file_fingerprint(a, chunk_bytes=0)


def test_settings_digest_covers_every_config():
    base = {"mel": MelConfig(), "window": WindowConfig(), "image": ImageConfig(), "channel": 0}
    digests = {settings_digest(base)}
    for key, value in [("mel", MelConfig(n_mels=64)), ("window", WindowConfig(hop=16)),
                       ("image", ImageConfig(vmin=-60.0)), ("channel", 1)]:
        digests.add(settings_digest({**base, key: value}))
    assert len(digests) == 5
    assert settings_digest(dict(reversed(list(base.items())))) == settings_digest(base)


def test_feature_cache_roundtrip(tmp_path):
    cache = FeatureCache(tmp_path, {"backbone": "x"})
    assert cache.load("f" * 64) is None
    feats = np.arange(12, dtype=np.float32).reshape(3, 4)
    cache.save("f" * 64, feats)
    np.testing.assert_array_equal(cache.load("f" * 64, n_windows=3), feats)
    reopened = FeatureCache(tmp_path, {"backbone": "x"})
    assert reopened.feature_dim == 4
    with pytest.warns(UserWarning, match="expected 5"):
        assert reopened.load("f" * 64, n_windows=5) is None


def test_headers_are_read_again_only_for_cache_hits(clips, tmp_path, monkeypatch):
    import soundad.extract_cache

    real = soundad.extract_cache.expected_windows
    read = []

    def counting(path, mel, window):
        read.append(path)
        return real(path, mel, window)

    monkeypatch.setattr(soundad.extract_cache, "expected_windows", counting)
    cache = tmp_path / "cache"
    soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert read == []  # every clip was a miss: its header was read once, by check_clip_headers
    drop_packs(cache)
    warm = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert warm.from_cache and sorted(read) == sorted(clips["path"])  # hits check their window count
    read.clear()
    packed = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert packed.from_cache and read == []  # the pack the warm run wrote: no header read at all
