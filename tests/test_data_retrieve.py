"""Whole-file downloads through pooch (soundad.data.retrieve), the offline rule and the shared probe (issue 12).

Every download goes to the loopback HTTP server of test_data_download.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest

import soundad.data
import soundad.network
from soundad.data import download_file, resolve_data
from soundad.data.retrieve import ResumableDownloader
from soundad.errors import DownloadError
from test_data_download import _mimii_zip, server  # noqa: F401  (the loopback HTTP server fixture)


def _md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


def test_wrong_md5_is_one_line_and_leaves_nothing_half_written(server, tmp_path, capsys):  # noqa: F811
    payload = np.random.default_rng(1).bytes(50_000)
    server.files["blob.bin"] = payload
    wrong = "md5:" + "0" * 32
    with pytest.raises(DownloadError) as info:
        download_file(server.base_url + "blob.bin", tmp_path / "blob.bin", known_hash=wrong, progress=False)
    message = str(info.value)
    assert "\n" not in message and "checksum mismatch" in message
    assert f"got {hashlib.md5(payload).hexdigest()}" in message and "expected " + "0" * 32 in message
    assert list(tmp_path.iterdir()) == []  # no final file, no .part, no temporary file of pooch's
    assert capsys.readouterr().err == ""  # pooch's log lines are hidden; progress=False prints nothing


def test_a_file_already_there_is_kept_until_a_download_passes(server, tmp_path):  # noqa: F811
    good = b"the right bytes" * 1000
    target = tmp_path / "blob.bin"
    target.write_bytes(b"an older version")
    server.files["blob.bin"] = b"corrupted in transit" * 1000
    with pytest.warns(UserWarning, match="downloading it again"), pytest.raises(DownloadError, match="checksum"):
        download_file(server.base_url + "blob.bin", target, known_hash=_md5(good), progress=False)
    assert target.read_bytes() == b"an older version"  # the failed download did not cost the file
    server.files["blob.bin"] = good
    with pytest.warns(UserWarning, match="downloading it again"):
        download_file(server.base_url + "blob.bin", target, known_hash=_md5(good), progress=False)
    assert target.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin"]


def test_plain_hex_and_sha256_hashes(server, tmp_path):  # noqa: F811
    payload = b"abc" * 3000
    server.files["blob.bin"] = payload
    download_file(server.base_url + "blob.bin", tmp_path / "a.bin", known_hash=hashlib.md5(payload).hexdigest(),
                  progress=False)
    sha = hashlib.sha256(payload).hexdigest()
    download_file(server.base_url + "blob.bin", tmp_path / "b.bin", known_hash=f"sha256:{sha}", progress=False)
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes() == payload
    with pytest.raises(DownloadError, match="sha256 checksum mismatch"):
        download_file(server.base_url + "blob.bin", tmp_path / "c.bin", known_hash="sha256:" + "0" * 64,
                      progress=False)


def test_broken_connection_keeps_the_part_file_for_a_resume(server, tmp_path):  # noqa: F811
    payload = np.random.default_rng(2).bytes(200_000)
    server.files["blob.bin"] = payload
    server.break_spans, server.break_after = 1, 70_000  # the first response dies after 70 kB
    with pytest.raises(DownloadError, match="run again to resume") as info:
        download_file(server.base_url + "blob.bin", tmp_path / "blob.bin", known_hash=_md5(payload), progress=False)
    assert "\n" not in str(info.value)
    part = tmp_path / "blob.bin.part"
    assert part.read_bytes() == payload[:70_000] and not (tmp_path / "blob.bin").exists()
    download_file(server.base_url + "blob.bin", tmp_path / "blob.bin", known_hash=_md5(payload), progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == payload and not part.exists()
    assert server.requests[-1] == ("blob.bin", "bytes=70000-")  # only the rest travelled


def test_downloader_is_a_pooch_downloader(server, tmp_path):  # noqa: F811
    """pooch calls downloader(url, output_file, pooch): the finished .part becomes output_file."""
    server.files["blob.bin"] = b"x" * 4096
    out = tmp_path / "out.tmp"
    ResumableDownloader(tmp_path / "blob.bin.part", progress=False)(server.base_url + "blob.bin", str(out), None)
    assert out.read_bytes() == b"x" * 4096 and not (tmp_path / "blob.bin.part").exists()


# --------------------------------------------------------------------------- one offline rule, one probe
def test_is_reachable_is_the_network_modules():
    assert soundad.data.is_reachable is soundad.network.is_reachable


@pytest.mark.parametrize("url", ["http://localhost:abc/x", "http://localhost:99999/x", "http://a..b/x"])
def test_is_reachable_says_false_quietly_for_a_malformed_url(url, capfd, monkeypatch):
    uncaught = []  # pytest turns an uncaught thread exception into a warning, so watch the hook itself
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    assert soundad.network.is_reachable(url, timeout=1.0) is False
    out, err = capfd.readouterr()
    assert out == "" and err == "" and uncaught == []


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "off", ""])
def test_offline_false_spellings_let_auto_fetch(server, tmp_path, monkeypatch, value):  # noqa: F811
    for var in ("SOUNDAD_DATA", "SOUNDAD_MIMII_URL", "SOUNDAD_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOUNDAD_OFFLINE", value)
    data, _ = _mimii_zip(model_ids=("id_00",), n_normal=2, n_abnormal=1)
    server.files["0_dB_fan.zip"] = data
    src = resolve_data("auto", cache_dir=tmp_path, subset={"n_normal": 2, "n_abnormal": 1}, base_url=server.base_url)
    assert src.kind == "mimii-subset" and server.requests


@pytest.mark.parametrize("value", ["1", "true", "yes", "anything"])
def test_offline_true_spellings_keep_auto_off_the_network(server, tmp_path, monkeypatch, value):  # noqa: F811
    for var in ("SOUNDAD_DATA", "SOUNDAD_MIMII_URL", "SOUNDAD_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOUNDAD_OFFLINE", value)
    with pytest.warns(UserWarning, match="SOUNDAD_OFFLINE"):
        src = resolve_data("auto", cache_dir=tmp_path, base_url=server.base_url)
    assert src.kind == "embedded" and server.requests == []


@pytest.mark.parametrize("value, on", [("", False), ("0", False), ("false", False), ("No", False), ("off", False),
                                       ("1", True), ("true", True), ("yes", True)])
def test_every_soundad_switch_reads_its_value_one_way(monkeypatch, value, on):
    from soundad.network import env_flag, offline

    monkeypatch.setenv("SOUNDAD_DEBUG", value)
    assert env_flag("SOUNDAD_DEBUG") is on
    monkeypatch.setenv("SOUNDAD_OFFLINE", value)
    assert offline() is on  # the offline rule is the same switch
    monkeypatch.delenv("SOUNDAD_DEBUG")
    assert env_flag("SOUNDAD_DEBUG") is False
