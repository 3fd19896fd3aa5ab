"""soundad.data.download against a real HTTP server on 127.0.0.1.

The server serves zips the tests build (small 8-channel WAVs named like
MIMII's members, ``fan/id_00/normal/00000000.wav``), with or without support
for HTTP range requests, and counts what it sends.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf

from soundad.data import (
    MIMII_ARCHIVES,
    ZENODO_URL,
    download_file,
    download_mimii,
    extract_zip,
    fetch_mimii_subset,
    mimii_archive_name,
    mimii_url,
    read_layout,
)
from soundad.errors import DataError, DownloadError, ParameterError


# --------------------------------------------------------------------------- a small HTTP server
class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        srv = self.server
        name = self.path.split("?")[0].rsplit("/", 1)[-1]
        header = self.headers.get("Range")
        if srv.over_limit():
            srv.rejected += 1
            self.send_response(429)
            self.send_header("Retry-After", str(srv.retry_after()))
            self.send_header("X-RateLimit-Limit", str(srv.limit))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        srv.requests.append((name, header))
        body = srv.files.get(name)
        if body is None:
            self.send_error(404, "no such file")
            return
        start, end = 0, len(body) - 1
        partial = False
        if header and srv.ranges:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), len(body) - 1) if m.group(2) else len(body) - 1
            else:
                start = max(0, len(body) - int(m.group(2)))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            partial = True
        chunk = body[start : end + 1]
        self.send_response(206 if partial else 200)
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        self.send_header("Content-Length", str(len(chunk)))
        if srv.etag is not None:
            self.send_header("ETag", f'"md5:{srv.etag if isinstance(srv.etag, str) else hashlib.md5(body).hexdigest()}"')
        if srv.break_spans and len(chunk) > srv.break_after:  # the server dies mid-response
            srv.break_spans -= 1
            chunk = chunk[: srv.break_after]
            self.close_connection = True
        srv.bytes_sent += len(chunk)  # counted before sending: the client may finish first
        self.end_headers()
        self.wfile.write(chunk)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.ranges = True
        self.requests: list = []  # answered requests (not the 429s)
        self.bytes_sent = 0
        # Zenodo-like limits: at most `limit` requests per `window` seconds, then 429 + Retry-After
        self.limit: int | None = None
        self.window = 60.0
        self.rejected = 0
        self._times: list[float] = []
        self.etag: bool | str | None = None  # True: send the body's md5 as ETag; a str: send that md5
        self.break_spans = 0  # how many responses longer than break_after bytes to cut off
        self.break_after = 0

    def over_limit(self) -> bool:
        if self.limit is None:
            return False
        now = time.monotonic()
        self._times = [t for t in self._times if now - t < self.window]
        if len(self._times) >= self.limit:
            return True
        self._times.append(now)
        return False

    def retry_after(self) -> int:
        return max(0, math.ceil(self.window - (time.monotonic() - self._times[0]))) if self._times else 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/records/3384388/files/"


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _wav_bytes(seed: int, frames: int = 800) -> bytes:
    data = np.random.default_rng(seed).integers(-3000, 3000, size=(frames, 8), dtype=np.int16)
    buf = io.BytesIO()
    sf.write(buf, data, 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _mimii_zip(machine="fan", model_ids=("id_00", "id_02"), n_normal=8, n_abnormal=5, extra=()) -> tuple[bytes, dict]:
    """A zip laid out like MIMII's: <machine>/<id>/<label>/NNNNNNNN.wav, stored out of order."""
    members = {}
    for k, mid in enumerate(model_ids):
        for label, n in (("normal", n_normal), ("abnormal", n_abnormal)):
            for i in range(n):
                members[f"{machine}/{mid}/{label}/{i:08d}.wav"] = _wav_bytes(1000 * k + 100 * (label == "normal") + i)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{machine}/", b"")
        for j, name in enumerate(sorted(members, reverse=True)):  # not in sorted order
            zf.writestr(name, members[name], compress_type=zipfile.ZIP_DEFLATED if j % 2 else zipfile.ZIP_STORED)
        for name, data in extra:
            zf.writestr(name, data)
    return buf.getvalue(), members


def _md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


# --------------------------------------------------------------------------- registry and URLs
def test_registry_has_the_twelve_zips():
    assert len(MIMII_ARCHIVES) == 12
    assert sorted(MIMII_ARCHIVES) == sorted(f"{s}_dB_{m}.zip" for s in (-6, 0, 6) for m in ("fan", "pump", "slider", "valve"))
    for name, archive in MIMII_ARCHIVES.items():
        assert archive.name == name == mimii_archive_name(archive.snr, archive.machine)
        assert re.fullmatch(r"[0-9a-f]{32}", archive.md5) and archive.known_hash == f"md5:{archive.md5}"
        assert 6e9 < archive.size < 1.1e10
    assert len({a.md5 for a in MIMII_ARCHIVES.values()}) == 12


def test_urls(monkeypatch):
    monkeypatch.delenv("SOUNDAD_MIMII_URL", raising=False)
    assert mimii_url("min6dB", "fan") == ZENODO_URL + "-6_dB_fan.zip"
    assert mimii_url("0dB", "valve", base_url="http://mirror/x") == "http://mirror/x/0_dB_valve.zip"
    monkeypatch.setenv("SOUNDAD_MIMII_URL", "http://127.0.0.1:9/files/")
    assert mimii_url("6_dB", "pump") == "http://127.0.0.1:9/files/6_dB_pump.zip"
    with pytest.raises(ParameterError):
        mimii_url("0dB", "drill")
    with pytest.raises(ParameterError):
        mimii_url("loud", "fan")
    with pytest.raises(ParameterError):
        mimii_url("0dB", "fan", base_url="ftp://x/")


# --------------------------------------------------------------------------- whole download
@pytest.mark.parametrize("ranges", [True, False])
def test_download_mimii_whole(server, tmp_path, ranges):
    data, members = _mimii_zip()
    server.files["0_dB_fan.zip"] = data
    server.ranges = ranges
    dest = download_mimii(
        tmp_path / "mimii", snrs=["0_dB"], machines=["fan"], base_url=server.base_url,
        registry={"0_dB_fan.zip": _md5(data)}, progress=False,
    )
    clips = read_layout(dest)
    assert len(clips) == len(members) and set(clips.snr) == {"0dB"}
    for name, payload in members.items():
        assert (dest / "0dB" / name).read_bytes() == payload
    assert (dest / "zips" / "0_dB_fan.zip").read_bytes() == data
    assert not list(dest.rglob("*.part"))
    n_requests = len(server.requests)
    download_mimii(dest, snrs=["0dB"], machines=["fan"], base_url=server.base_url, registry={"0_dB_fan.zip": _md5(data)}, progress=False)
    assert len(server.requests) == n_requests  # finished archives are skipped


def test_download_mimii_env_url_and_keep_zip(server, tmp_path, monkeypatch):
    data, members = _mimii_zip(machine="valve", model_ids=("id_04",), n_normal=3, n_abnormal=2)
    server.files["-6_dB_valve.zip"] = data
    monkeypatch.setenv("SOUNDAD_MIMII_URL", server.base_url)
    dest = download_mimii(tmp_path, snrs=["min6dB"], machines="valve", registry={"-6_dB_valve.zip": _md5(data)}, keep_zip=False, progress=False)
    assert len(read_layout(dest)) == 5 and (dest / "-6dB" / "valve" / "id_04" / "normal" / "00000000.wav").exists()
    assert not (dest / "zips" / "-6_dB_valve.zip").exists()


def test_corrupted_payload_is_refused(server, tmp_path):
    data, _ = _mimii_zip()
    corrupted = bytearray(data)
    corrupted[len(data) // 2] ^= 0xFF
    server.files["0_dB_fan.zip"] = bytes(corrupted)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_mimii(tmp_path, snrs=["0dB"], machines=["fan"], base_url=server.base_url, registry={"0_dB_fan.zip": _md5(data)}, progress=False)
    assert not (tmp_path / "zips" / "0_dB_fan.zip").exists()
    assert not (tmp_path / "zips" / "0_dB_fan.zip.part").exists()
    assert not (tmp_path / "0dB").exists()


def test_real_registry_hash_rejects_other_bytes(server, tmp_path):
    data, _ = _mimii_zip(model_ids=("id_00",), n_normal=1, n_abnormal=1)
    server.files["0_dB_fan.zip"] = data  # not the real 10 GB zip: size and md5 differ
    with pytest.raises(DownloadError):
        download_mimii(tmp_path, snrs=["0dB"], machines=["fan"], base_url=server.base_url, progress=False)
    assert not list((tmp_path / "zips").glob("0_dB_fan.zip*"))


@pytest.mark.parametrize("ranges", [True, False])
def test_resume_from_part_file(server, tmp_path, ranges):
    payload = np.random.default_rng(0).bytes(300_000)
    server.files["blob.bin"] = payload
    server.ranges = ranges
    target = tmp_path / "blob.bin"
    half = len(payload) // 2
    (tmp_path / "blob.bin.part").write_bytes(payload[:half])
    out = download_file(server.base_url + "blob.bin", target, known_hash=_md5(payload), progress=False)
    assert out == target and target.read_bytes() == payload
    assert not (tmp_path / "blob.bin.part").exists()
    assert server.requests[-1] == ("blob.bin", f"bytes={half}-")
    assert server.bytes_sent == (len(payload) - half if ranges else len(payload))


def test_complete_part_file_needs_no_body(server, tmp_path):
    payload = b"x" * 5000
    server.files["blob.bin"] = payload
    (tmp_path / "blob.bin.part").write_bytes(payload)
    download_file(server.base_url + "blob.bin", tmp_path / "blob.bin", known_hash=_md5(payload), progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == payload and server.bytes_sent == 0


def test_existing_file_is_checked(server, tmp_path):
    payload = b"fresh bytes" * 100
    server.files["blob.bin"] = payload
    target = tmp_path / "blob.bin"
    target.write_bytes(payload)
    download_file(server.base_url + "blob.bin", target, known_hash=_md5(payload), progress=False)
    assert server.requests == []  # verified, nothing fetched
    target.write_bytes(b"stale")
    with pytest.warns(UserWarning, match="downloading it again"):
        download_file(server.base_url + "blob.bin", target, known_hash=_md5(payload), progress=False)
    assert target.read_bytes() == payload


def test_download_file_errors(server, tmp_path):
    server.files["blob.bin"] = b"abc" * 10
    with pytest.raises(DownloadError, match="404"):
        download_file(server.base_url + "missing.bin", tmp_path / "m.bin", progress=False)
    with pytest.raises(DownloadError, match="expected 31"):
        download_file(server.base_url + "blob.bin", tmp_path / "b.bin", expected_size=31, progress=False)
    assert not (tmp_path / "b.bin").exists() and not (tmp_path / "b.bin.part").exists()
    with pytest.raises(ParameterError):
        download_file(server.base_url + "blob.bin", tmp_path / "c.bin", known_hash="crc:zz", progress=False)
    server.server_close()  # nothing listens any more
    with pytest.raises(DownloadError, match="cannot reach"):
        download_file(f"http://127.0.0.1:{server.server_address[1]}/x.bin", tmp_path / "x.bin", timeout=2, progress=False)


def test_missing_registry_entry(tmp_path, server):
    with pytest.raises(ParameterError, match="registry has no checksum"):
        download_mimii(tmp_path, snrs=["0dB"], machines=["fan"], base_url=server.base_url, registry={}, progress=False)


# --------------------------------------------------------------------------- zip extraction
@pytest.mark.parametrize("evil", ["../evil.wav", "/tmp/evil.wav", "fan/../../evil.wav", "C:/evil.wav", "..\\evil.wav"])
def test_zip_slip_is_refused(tmp_path, evil):
    data, _ = _mimii_zip(model_ids=("id_00",), n_normal=2, n_abnormal=1, extra=[(evil, b"gotcha")])
    zpath = tmp_path / "0_dB_fan.zip"
    zpath.write_bytes(data)
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="escape"):
        extract_zip(zpath, dest, snr="0dB")
    assert not dest.exists() or not any(p.is_file() for p in dest.rglob("*"))
    assert not (tmp_path / "evil.wav").exists()


def test_zip_slip_refused_in_download(server, tmp_path):
    data, _ = _mimii_zip(model_ids=("id_00",), n_normal=1, n_abnormal=1, extra=[("../../evil.wav", b"x")])
    server.files["0_dB_fan.zip"] = data
    with pytest.raises(DataError, match="escape"):
        download_mimii(tmp_path / "d", snrs=["0dB"], machines=["fan"], base_url=server.base_url, registry={"0_dB_fan.zip": _md5(data)}, progress=False)
    assert not (tmp_path / "evil.wav").exists() and not (tmp_path / "d" / "0dB").exists()


def test_extract_zip_snr_folder_and_errors(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("0_dB/pump/id_02/normal/00000000.wav", _wav_bytes(1))
    zpath = tmp_path / "a.zip"
    zpath.write_bytes(buf.getvalue())
    paths = extract_zip(zpath, tmp_path / "d", snr="0dB", members=["0_dB/pump/id_02/normal/00000000.wav"])
    assert paths == [tmp_path / "d" / "0dB" / "pump" / "id_02" / "normal" / "00000000.wav"]
    with pytest.raises(DataError, match="belongs to SNR 0dB"):
        extract_zip(zpath, tmp_path / "d", snr="6dB")
    with pytest.raises(DataError, match="no member"):
        extract_zip(zpath, tmp_path / "d", snr="0dB", members=["nope.wav"])
    (tmp_path / "b.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        extract_zip(tmp_path / "b.zip", tmp_path / "d", snr="0dB")


# --------------------------------------------------------------------------- partial download
def test_fetch_subset_with_ranges(server, tmp_path):
    data, members = _mimii_zip(n_normal=8, n_abnormal=5)
    server.files["0_dB_fan.zip"] = data
    dest = fetch_mimii_subset(tmp_path, snr="0_dB", machine="fan", model_id="id_02", n_normal=3, n_abnormal=2, base_url=server.base_url, progress=False)
    clips = read_layout(dest)
    expected = [f"0dB/fan/id_02/{lab}/{i:08d}.wav" for lab, n in (("abnormal", 2), ("normal", 3)) for i in range(n)]
    assert list(clips.clip_id) == expected  # the first clips in sorted order
    for clip_id in expected:
        assert (dest / clip_id).read_bytes() == members[clip_id.split("/", 1)[1]]
    assert all(h is not None and h.startswith("bytes=") for _, h in server.requests)
    assert server.bytes_sent < len(data) / 2  # only the chosen members travelled
    assert not (tmp_path / "zips").exists() and not list(tmp_path.rglob("*.part"))
    # a finished subset needs no network; a deleted clip is fetched again, the others skipped
    n_req = len(server.requests)
    fetch_mimii_subset(tmp_path, model_id="id_02", n_normal=3, n_abnormal=2, base_url=server.base_url, progress=False)
    assert len(server.requests) == n_req
    (dest / expected[0]).unlink()
    sent = server.bytes_sent
    fetch_mimii_subset(tmp_path, model_id="id_02", n_normal=3, n_abnormal=2, base_url=server.base_url, progress=False)
    assert (dest / expected[0]).read_bytes() == members[expected[0].split("/", 1)[1]]
    assert server.bytes_sent - sent < 4 * len(members[expected[0].split("/", 1)[1]]) + 10_000


def test_fetch_subset_without_ranges_falls_back(server, tmp_path):
    data, members = _mimii_zip(n_normal=4, n_abnormal=2)
    server.files["6_dB_fan.zip"] = data
    server.ranges = False
    with pytest.warns(UserWarning, match="ignores range requests"):
        dest = fetch_mimii_subset(tmp_path, snr="6dB", model_id="id_00", n_normal=2, n_abnormal=None, base_url=server.base_url, registry={"6_dB_fan.zip": _md5(data)}, progress=False)
    clips = read_layout(dest)
    assert clips.label.value_counts().to_dict() == {"normal": 2, "abnormal": 2}
    assert (tmp_path / "zips" / "6_dB_fan.zip").read_bytes() == data


def test_fetch_subset_corrupt_member(server, tmp_path):
    data, members = _mimii_zip(model_ids=("id_00",), n_normal=2, n_abnormal=1)
    # a stored (uncompressed) member: its bytes appear verbatim in the zip
    name = next(n for n, payload in members.items() if data.find(payload[200:260]) > 0)
    spot = data.find(members[name][200:260])
    bad = bytearray(data)
    bad[spot + 10] ^= 0xFF
    server.files["0_dB_fan.zip"] = bytes(bad)
    with pytest.raises(DownloadError, match="corrupt"):
        fetch_mimii_subset(tmp_path, n_normal=2, n_abnormal=1, base_url=server.base_url, progress=False)
    assert not (tmp_path / "0dB" / name).exists()
    assert not list(tmp_path.rglob("*.part"))


def test_fetch_subset_errors(server, tmp_path):
    data, _ = _mimii_zip(model_ids=("id_00", "id_02"), n_normal=2, n_abnormal=1)
    server.files["0_dB_fan.zip"] = data
    with pytest.raises(DataError, match=r"id_06.*id_00', 'id_02"):
        fetch_mimii_subset(tmp_path, model_id="id_06", base_url=server.base_url, progress=False)
    with pytest.warns(UserWarning, match="only 2 normal"):
        fetch_mimii_subset(tmp_path, n_normal=5, n_abnormal=1, base_url=server.base_url, progress=False)
    for kwargs in ({"n_normal": -1}, {"n_abnormal": 1.5}, {"model_id": "00"}, {"machine": "drill"}, {"snr": "loud"}):
        with pytest.raises(ParameterError):
            fetch_mimii_subset(tmp_path, base_url=server.base_url, progress=False, **kwargs)
    with pytest.raises(DownloadError, match="404"):
        fetch_mimii_subset(tmp_path, snr="6dB", base_url=server.base_url, progress=False)


# --------------------------------------------------------------------------- resolve_data
from soundad.data import resolve_data  # noqa: E402

TINY = {"machines": ("fan",), "model_ids": ("id_00",), "snrs": ("6dB",), "n_normal": 3, "n_abnormal": 1, "duration": 0.5}


@pytest.fixture
def no_env(monkeypatch):
    for var in ("SOUNDAD_DATA", "SOUNDAD_OFFLINE", "SOUNDAD_MIMII_URL", "SOUNDAD_CACHE"):
        monkeypatch.delenv(var, raising=False)


def test_resolve_path_env_and_passthrough(synthetic_root, monkeypatch, no_env, tmp_path):
    src = resolve_data(str(synthetic_root))
    assert src.kind == "path" and src.root == synthetic_root.resolve()
    assert src.name == "synthetic (2 machine types, 2 models, -6/6 dB)"
    assert len(src.clips()) == 36
    assert resolve_data(src) is src
    monkeypatch.setenv("SOUNDAD_DATA", str(synthetic_root))
    assert resolve_data("auto").kind == "env" and resolve_data("env").root == synthetic_root.resolve()
    monkeypatch.setenv("SOUNDAD_DATA", str(tmp_path / "missing"))
    with pytest.raises(DataError, match="does not exist"):
        resolve_data("auto")
    monkeypatch.delenv("SOUNDAD_DATA")
    with pytest.raises(DataError, match="SOUNDAD_DATA"):
        resolve_data("env")
    with pytest.raises(DataError):
        resolve_data(tmp_path)  # an empty directory
    with pytest.raises(ParameterError):
        resolve_data(42)
    with pytest.raises(ParameterError, match="unknown synthetic"):
        resolve_data("synthetic", synthetic={"colour": "red"}, cache_dir=tmp_path)


def test_resolve_sample_name(mimii_sample_root):
    src = resolve_data(mimii_sample_root)
    assert src.name == "mimii-sample (fan id_00, 0 dB)" and src.kind == "path"


def test_resolve_auto_offline_falls_back_fast(no_env, tmp_path, server):
    import time

    port = server.server_address[1]
    server.shutdown()
    server.server_close()  # nothing listens: like being offline
    start = time.monotonic()
    with pytest.warns(UserWarning, match=r"data='auto': http://127.0.0.1:\d+/files/\S+ did not answer within "
                                         r"3 s \(offline\?\); using local data") as record:
        first = resolve_data("auto", cache_dir=tmp_path, synthetic=TINY, base_url=f"http://127.0.0.1:{port}/files/")
    assert len(record) == 1  # one line says why
    assert time.monotonic() - start < 10
    assert first.kind == "embedded"  # offline, "auto" falls back to the real sample shipped with soundad
    # a chapter that needs several SNRs gets synthetic sounds, and is told so
    src = resolve_data("auto", cache_dir=tmp_path, synthetic=TINY, base_url=f"http://127.0.0.1:{port}/files/",
                       need="snrs")
    assert src.kind == "synthetic" and src.name == "synthetic" and str(src.root).startswith(str(tmp_path))
    assert "several SNRs" in src.description
    assert len(src.clips()) == 4
    again = resolve_data("synthetic", cache_dir=tmp_path, synthetic=TINY)
    assert again.root == src.root  # generated once, then reused
    assert resolve_data("synthetic", cache_dir=tmp_path, synthetic=TINY, seed=1).root != src.root


def test_resolve_auto_uses_cache_env(no_env, tmp_path, monkeypatch, server):
    monkeypatch.setenv("SOUNDAD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SOUNDAD_OFFLINE", "1")
    src = resolve_data("auto", synthetic=TINY, base_url=server.base_url, need="machines")
    assert src.kind == "synthetic" and (tmp_path / "cache" / "data") in src.root.parents
    assert server.requests == []  # SOUNDAD_OFFLINE: no network at all


def test_resolve_auto_fetches_subset(no_env, tmp_path, server):
    data, _ = _mimii_zip(model_ids=("id_00",), n_normal=4, n_abnormal=2)
    server.files["0_dB_fan.zip"] = data
    subset = {"n_normal": 3, "n_abnormal": 2}
    src = resolve_data("auto", cache_dir=tmp_path, subset=subset, base_url=server.base_url)
    assert src.kind == "mimii-subset" and src.name == "MIMII subset (fan id_00, 0 dB)"
    assert src.clips().label.value_counts().to_dict() == {"normal": 3, "abnormal": 2}
    server.files.clear()  # cached: found again without the server's help
    assert resolve_data("auto", cache_dir=tmp_path, subset=subset, base_url=server.base_url).root == src.root
    with pytest.raises(DownloadError):
        resolve_data("mimii-subset", cache_dir=tmp_path / "other", base_url=server.base_url)


# --------------------------------------------------------------------------- the real server's limits (issue 13)
def _folder_order_zip(n_normal=60, n_abnormal=60, frames=200) -> tuple[bytes, dict]:
    """Like MIMII's zips: members in folder order (id_00 abnormal, id_00 normal, id_02 ...), stored."""
    members = {}
    for k, mid in enumerate(("id_00", "id_02")):
        for label, n in (("abnormal", n_abnormal), ("normal", n_normal)):
            for i in range(n):
                members[f"fan/{mid}/{label}/{i:08d}.wav"] = _wav_bytes(1000 * k + 100 * (label == "normal") + i, frames)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(members):
            zf.writestr(name, members[name])
    return buf.getvalue(), members


def test_default_subset_under_zenodos_request_limit(server, tmp_path):
    """The default subset (50 + 50 clips) against a server that answers 429 after 10 requests a minute."""
    data, members = _folder_order_zip()
    server.files[mimii_archive_name("0dB", "fan")] = data
    server.limit, server.window = 10, 60.0
    dest = fetch_mimii_subset(tmp_path, base_url=server.base_url, progress=False)
    clips = read_layout(dest)
    assert (clips.label == "normal").sum() == 50 and (clips.label == "abnormal").sum() == 50
    for clip_id in clips.clip_id[:3]:
        assert (dest / clip_id).read_bytes() == members[clip_id.split("/", 1)[1]]
    assert len(server.requests) <= 10 and server.rejected == 0, server.requests  # well under ~20


def test_429_is_waited_out_and_shown_on_the_progress_line(server, tmp_path, capsys):
    data, members = _folder_order_zip(n_normal=8, n_abnormal=8)
    server.files[mimii_archive_name("0dB", "fan")] = data
    server.limit, server.window = 2, 1.0  # Retry-After: 1
    t0 = time.monotonic()
    dest = fetch_mimii_subset(tmp_path, n_normal=5, n_abnormal=5, base_url=server.base_url, progress=True)
    assert len(read_layout(dest)) == 10
    assert server.rejected >= 1 and time.monotonic() - t0 >= 1.0
    err = capsys.readouterr().err
    assert "HTTP 429: waiting 1 s (try 2 of 8)" in err


def test_whole_download_waits_out_429_too(server, tmp_path, capsys):
    data = _folder_order_zip(n_normal=2, n_abnormal=2)[0]
    server.files["x.zip"] = data
    server.limit, server.window = 1, 1.0
    server.requests.clear()
    warm = download_file(server.base_url + "x.zip", tmp_path / "warm.zip", progress=False)  # the one request allowed
    assert warm.read_bytes() == data
    assert download_file(server.base_url + "x.zip", tmp_path / "x.zip", progress=True).read_bytes() == data
    assert server.rejected >= 1 and "x.zip: HTTP 429: waiting 1 s" in capsys.readouterr().err


def test_a_server_that_never_lets_up_gives_one_line(server, tmp_path):
    server.files[mimii_archive_name("0dB", "fan")] = _folder_order_zip(n_normal=2, n_abnormal=2)[0]
    server.limit, server.window = 0, 0.0  # always 429, Retry-After: 0
    with pytest.raises(DownloadError, match=r"still answers HTTP 429 \(Too Many Requests\) after 8 tries"):
        fetch_mimii_subset(tmp_path, n_normal=2, n_abnormal=2, base_url=server.base_url, progress=False)


def test_backoff_and_retry_after():
    from soundad.data.ratelimit import MAX_WAIT, backoff_seconds, retry_after_seconds

    assert [backoff_seconds(a, None) for a in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_seconds(20, None) == MAX_WAIT and backoff_seconds(0, 7.0) == 7.0
    assert backoff_seconds(0, 10_000.0) == MAX_WAIT
    assert retry_after_seconds("30") == 30.0 and retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None


def test_a_connection_that_breaks_once_is_reopened(server, tmp_path):
    data, members = _folder_order_zip(n_normal=10, n_abnormal=10)
    server.files[mimii_archive_name("0dB", "fan")] = data
    server.break_spans, server.break_after = 1, 5000  # the first member span dies after 5000 bytes
    dest = fetch_mimii_subset(tmp_path, n_normal=6, n_abnormal=6, base_url=server.base_url, progress=False)
    clips = read_layout(dest)
    assert len(clips) == 12 and server.break_spans == 0
    assert all((dest / c).read_bytes() == members[c.split("/", 1)[1]] for c in clips.clip_id)


def test_server_death_mid_member_is_one_line_and_a_rerun_resumes(server, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    data, members = _folder_order_zip(n_normal=10, n_abnormal=10)
    server.files[mimii_archive_name("0dB", "fan")] = data
    server.break_spans, server.break_after = 100, 5000  # every member span dies: the server is gone
    repo = Path(__file__).resolve().parents[1]
    argv = [sys.executable, "-m", "soundad.cli", "download", str(tmp_path), "--subset", "--normal", "6",
            "--abnormal", "6", "--url", server.base_url]
    env = dict(os.environ, PYTHONPATH=str(repo))
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1 and "the connection broke at byte" in lines[0], proc.stderr
    assert "run the same command again to resume" in lines[0]
    kept = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.wav"))
    assert kept and all((tmp_path / k).read_bytes() == members[k.split("/", 1)[1]] for k in kept)
    server.break_spans = 0  # the server is back
    sent = server.bytes_sent
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(read_layout(tmp_path)) == 12
    kept_bytes = sum(len(members[k.split("/", 1)[1]]) for k in kept)
    all_bytes = sum(len(members[c.split("/", 1)[1]]) for c in read_layout(tmp_path).clip_id)
    assert server.bytes_sent - sent < all_bytes - kept_bytes + 20_000  # the kept clips were not fetched again


def test_etag_md5_is_checked(server, tmp_path):
    name = mimii_archive_name("0dB", "fan")
    data, _ = _folder_order_zip(n_normal=3, n_abnormal=3)
    server.files[name] = data
    server.etag = True
    dest = fetch_mimii_subset(tmp_path / "a", n_normal=2, n_abnormal=2, base_url=server.base_url, progress=False,
                              registry={name: _md5(data)})
    assert len(read_layout(dest)) == 4
    with pytest.raises(DownloadError, match=r"the server's ETag gives md5 [0-9a-f]{32}, but 0_dB_fan.zip should have"):
        fetch_mimii_subset(tmp_path / "b", n_normal=2, n_abnormal=2, base_url=server.base_url, progress=False,
                           registry={name: "md5:" + "0" * 32})
    # a whole-file download without a known hash is still checked against the ETag
    server.etag = "f" * 32
    with pytest.raises(DownloadError, match="differs from the server's ETag md5"):
        download_file(server.base_url + name, tmp_path / "c.zip", progress=False)
    assert not (tmp_path / "c.zip").exists() and not (tmp_path / "c.zip.part").exists()
    server.etag = True
    assert download_file(server.base_url + name, tmp_path / "c.zip", progress=False).read_bytes() == data


def test_resolve_auto_offline_env_says_why(no_env, tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDAD_OFFLINE", "1")
    with pytest.warns(UserWarning, match=r"not fetching the MIMII subset because \$SOUNDAD_OFFLINE is set"):
        src = resolve_data("auto", cache_dir=tmp_path, synthetic=TINY)
    assert src.kind != "mimii-subset"
