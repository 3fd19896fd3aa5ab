"""Tests for the fingerprint memo (soundad.fingerprints) and the warm path it gives extract_features."""

import json
import os

import numpy as np
import pytest

import soundad.extract
import soundad.fingerprints
from soundad.cache import file_fingerprint
from soundad.fingerprints import INDEX_NAME, FingerprintIndex, file_identity
from test_extract import FAST, write_clips


@pytest.fixture
def clips(tmp_path):
    return write_clips(tmp_path / "audio")


def forbid_hashing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a warm run must not hash audio files")

    monkeypatch.setattr(soundad.fingerprints, "file_fingerprint", refuse)


def edit_in_place_keeping_size_and_mtime(path):
    """Change a byte in the middle of a file, then restore its modification time."""
    st = os.stat(path)
    data = bytearray(open(path, "rb").read())
    middle = len(data) // 2
    data[middle] ^= 0xFF
    with open(path, "r+b") as handle:  # in place: same inode
        handle.write(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert file_identity(path) == f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def test_warm_run_stats_instead_of_hashing(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cold = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    index = json.loads((cache / INDEX_NAME).read_text())
    assert sorted(index) == sorted(file_identity(p) for p in clips["path"])
    assert sorted(index.values()) == sorted(file_fingerprint(p) for p in clips["path"])
    forbid_hashing(monkeypatch)
    warm = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert warm.from_cache
    np.testing.assert_array_equal(warm.features, cold.features)


def test_same_size_same_mtime_edit_slips_through_unless_verified(clips, tmp_path):
    cache = tmp_path / "cache"
    soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    edit_in_place_keeping_size_and_mtime(clips["path"][1])
    trusted = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert trusted.from_cache  # the documented blind spot of the memo
    verified = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0,
                                                verify_cache=True, **FAST)
    assert verified.stats["cached_clips"] == 2 and verified.stats["computed_windows"] > 0
    # verify_cache refreshed the memo: the next plain run trusts the new fingerprint
    again = soundad.extract.extract_features(clips, cache_dir=cache, batch_size=8, num_workers=0, **FAST)
    assert again.from_cache
    np.testing.assert_array_equal(again.features, verified.features)


def test_ordinary_edit_changes_identity_and_is_rehashed(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"a" * 100)
    index = FingerprintIndex(tmp_path / "cache")
    first = index.fingerprint(path)
    index.save()
    st = os.stat(path)
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    reopened = FingerprintIndex(tmp_path / "cache")
    second = reopened.fingerprint(path)
    assert second != first and second == file_fingerprint(path)
    assert reopened.misses == 1 and reopened.hits == 0


def test_concurrent_runs_merge_their_entries(tmp_path):
    files = []
    for name in "ab":
        files.append(tmp_path / f"{name}.bin")
        files[-1].write_bytes(name.encode() * 50)
    one, two = FingerprintIndex(tmp_path / "cache"), FingerprintIndex(tmp_path / "cache")
    one.fingerprint(files[0])
    two.fingerprint(files[1])
    one.save()
    two.save()  # re-reads what `one` wrote before replacing the file
    table = json.loads((tmp_path / "cache" / INDEX_NAME).read_text())
    assert table == {file_identity(f): file_fingerprint(f) for f in files}
    assert not list((tmp_path / "cache").glob("*.part"))


def test_malformed_index_warns_and_is_rebuilt(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"a" * 10)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / INDEX_NAME).write_text("{not json")
    with pytest.warns(UserWarning, match="malformed"):
        index = FingerprintIndex(tmp_path / "cache")
    assert index.fingerprint(path) == file_fingerprint(path)
    index.save()
    assert json.loads((tmp_path / "cache" / INDEX_NAME).read_text()) == {file_identity(path): file_fingerprint(path)}


@pytest.mark.parametrize("command", ["extract", "reproduce"])
def test_cli_verify_cache_option(command):
    from soundad.cli import build_parser

    base = [command, "--data", "d", "--out", "o"]
    assert build_parser().parse_args(base + ["--verify-cache"]).verify_cache is True
    assert build_parser().parse_args(base).verify_cache is False
