"""No silent wrong results (issue 13): SNR spellings, symbolic links, file modes, cache checksums."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundad._io import atomic_write_text, current_umask
from soundad.cache import FeatureCache
from soundad.data import check_clip_headers, read_layout
from soundad.errors import DataError


def _wav(path: Path, sr: int = 16000, seconds: float = 0.1, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    y = np.random.default_rng(seed).uniform(-0.1, 0.1, int(sr * seconds)).astype(np.float32)
    sf.write(path, y, sr, subtype="PCM_16")
    return path


# --------------------------------------------------------------------------- SNR folders
def test_two_spellings_of_one_snr_are_an_error_naming_both(tmp_path):
    _wav(tmp_path / "0dB/fan/id_00/normal/00000000.wav")
    _wav(tmp_path / "0_dB/fan/id_00/normal/00000000.wav")
    with pytest.raises(DataError, match=r"folders '0_dB' and '0dB' under .* are both SNR 0dB"):
        read_layout(tmp_path)


def test_distinct_snrs_still_read(tmp_path):
    _wav(tmp_path / "min6dB/fan/id_00/normal/00000000.wav")
    _wav(tmp_path / "0_dB/fan/id_00/normal/00000000.wav")
    assert sorted(read_layout(tmp_path)["snr"]) == ["-6dB", "0dB"]


# --------------------------------------------------------------------------- symbolic links
def test_linked_folders_and_files_are_read(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    _wav(elsewhere / "id_00/normal/00000000.wav")
    _wav(elsewhere / "id_00/abnormal/00000000.wav")
    root = tmp_path / "root"
    (root / "0dB").mkdir(parents=True)
    (root / "0dB/fan").symlink_to(elsewhere, target_is_directory=True)  # a linked machine folder
    _wav(tmp_path / "loose.wav")
    (root / "0dB/fan/id_00/normal/00000001.wav").symlink_to(tmp_path / "loose.wav")  # a linked file
    clips = read_layout(root)
    assert list(clips["clip_id"]) == ["0dB/fan/id_00/abnormal/00000000.wav", "0dB/fan/id_00/normal/00000000.wav",
                                      "0dB/fan/id_00/normal/00000001.wav"]
    assert all(Path(p).is_file() for p in clips["path"])


def test_a_link_loop_ends_and_lists_each_clip_once(tmp_path):
    _wav(tmp_path / "0dB/fan/id_00/normal/00000000.wav")
    (tmp_path / "0dB/fan/id_00/normal/back").symlink_to(tmp_path, target_is_directory=True)  # loop to the root
    (tmp_path / "0dB/fan/id_00/again").symlink_to(tmp_path / "0dB/fan/id_00/normal", target_is_directory=True)
    (tmp_path / "0dB/fan/dangling").symlink_to(tmp_path / "missing", target_is_directory=True)
    clips = read_layout(tmp_path)
    assert list(clips["clip_id"]) == ["0dB/fan/id_00/normal/00000000.wav"]


# --------------------------------------------------------------------------- file modes
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_written_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        target = atomic_write_text(tmp_path / "f.txt", "x")
        cache = FeatureCache(tmp_path / "cache", {"backbone": "x"})
        entry = cache.save("f" * 64, np.ones((2, 3), dtype=np.float32))
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    assert target.stat().st_mode & 0o777 == expected
    assert entry.stat().st_mode & 0o777 == expected
    assert (cache.directory / "settings.json").stat().st_mode & 0o777 == expected


def test_downloaded_and_synthetic_files_are_readable_by_others(tmp_path):
    from soundad.data import write_synthetic_dataset

    old = os.umask(0o022)
    try:
        root = write_synthetic_dataset(tmp_path / "s", machines=("fan",), snrs=("0dB",), model_ids=("id_00",),
                                       n_normal=1, n_abnormal=1, duration=0.5)
    finally:
        os.umask(old)
    modes = {p.stat().st_mode & 0o777 for p in Path(root).rglob("*") if p.is_file()}
    assert modes == {0o644}


# --------------------------------------------------------------------------- cache checksums
def test_entry_overwritten_with_valid_zeros_is_detected(tmp_path):
    cache = FeatureCache(tmp_path, {"backbone": "x"})
    feats = np.arange(12, dtype=np.float32).reshape(3, 4)
    entry = cache.save("a" * 64, feats)
    np.testing.assert_array_equal(cache.load("a" * 64, n_windows=3), feats)
    np.save(entry, np.zeros((3, 4), dtype=np.float32))  # right shape, dtype, finite: only the checksum can tell
    with pytest.warns(UserWarning, match="does not match its SHA-256 checksum"):
        assert cache.load("a" * 64, n_windows=3) is None
    assert not entry.exists()  # deleted, so it is recomputed and rewritten
    cache.save("a" * 64, feats)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(cache.load("a" * 64), feats)


def test_old_entries_without_checksum_are_recomputed_with_one_note(tmp_path):
    cache = FeatureCache(tmp_path, {"backbone": "x"})
    for key in ("b", "c"):
        entry = cache.save(key * 64, np.ones((2, 4), dtype=np.float32))
        entry.with_suffix(".sha256").unlink()  # as soundad wrote entries before checksums
    with pytest.warns(UserWarning, match="entries without a checksum") as record:
        assert cache.load("b" * 64) is None
        assert cache.load("c" * 64) is None
    assert len(record) == 1


def test_corrupt_settings_json_is_rewritten_once(tmp_path):
    cache = FeatureCache(tmp_path, {"backbone": "x"})
    cache.save("d" * 64, np.ones((2, 4), dtype=np.float32))
    meta = cache.directory / "settings.json"
    meta.write_text("{ not json")
    with pytest.warns(UserWarning, match="unreadable .*settings.json; rewriting it"):
        FeatureCache(tmp_path, {"backbone": "x"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the next run, served from the cache, warns no more
        again = FeatureCache(tmp_path, {"backbone": "x"})
        np.testing.assert_array_equal(again.load("d" * 64), np.ones((2, 4), dtype=np.float32))


# --------------------------------------------------------------------------- sample rates (Python API)
def test_check_clip_headers_warns_once_and_strict_refuses(tmp_path):
    paths = [_wav(tmp_path / "a.wav", 16000), _wav(tmp_path / "b.wav", 22050), _wav(tmp_path / "c.wav", 22050)]
    with pytest.raises(DataError, match=r"2 clip\(s\) are not at 16000 Hz: 2 at 22050 Hz"):
        check_clip_headers(paths, strict_rate=True)
    with pytest.warns(UserWarning, match="2 of 3 clips are not at 16000 Hz") as record:
        assert check_clip_headers(paths) == {16000: 1, 22050: 2}
        check_clip_headers(paths)  # the same files again in this run: no second warning
    assert len(record) == 1
    with pytest.raises(DataError, match="shorter than the 2.000 s"):
        check_clip_headers(paths[:1], min_seconds=2.0)
