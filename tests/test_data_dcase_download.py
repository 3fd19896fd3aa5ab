"""soundad.data.dcase_download against a loopback HTTP server and generated zips (issue 15)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
import soundfile as sf

from soundad.cli import main
from soundad.data import read_layout
from soundad.data.dcase_download import (
    DCASE_DATASETS,
    DcaseArchive,
    dcase_archives,
    download_dcase,
    fetch_dcase_subset,
)
from soundad.errors import DataError, DownloadError, ParameterError

from test_data_download import server  # noqa: F401  (the loopback HTTP server fixture)


def _wav(seed: int, frames: int = 400) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.random.default_rng(seed).uniform(-0.1, 0.1, frames).astype(np.float32), 16000, format="WAV",
             subtype="PCM_16")
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _dcase2020_zip(machine: str) -> bytes:
    return _zip({f"{machine}/": b"",
                 **{f"{machine}/train/normal_id_00_{i:08d}.wav": _wav(i) for i in range(3)},
                 f"{machine}/test/normal_id_00_00000000.wav": _wav(10),
                 f"{machine}/test/anomaly_id_00_00000000.wav": _wav(11)})


def test_registry_names_records_and_checksums():
    dev20 = {a.machine: a for a in DCASE_DATASETS["dcase2020-dev"]}
    assert set(dev20) == {"fan", "pump", "slider", "valve", "ToyCar", "ToyConveyor"}
    assert dev20["ToyCar"].url == "https://zenodo.org/records/3678171/files/dev_data_ToyCar.zip"
    assert all(len(a.md5) == 32 for a in dev20.values())  # md5 known for 2020 and 2023
    assert all(a.md5 is None for a in DCASE_DATASETS["dcase2022-dev"])  # unknown: no invented checksum
    assert set(DCASE_DATASETS) == {f"dcase{y}-dev" for y in range(2020, 2026)}
    assert [a.machine for a in dcase_archives("dcase2023-dev", ["toycar"])] == ["ToyCar"]
    with pytest.raises(ParameterError, match="dcase2020-dev"):
        dcase_archives("dcase2019-dev")
    with pytest.raises(ParameterError, match="ToyConveyor"):
        dcase_archives("dcase2020-dev", ["drill"])


def test_download_unpacks_reads_and_skips_on_rerun(server, tmp_path, monkeypatch):  # noqa: F811
    body = _dcase2020_zip("ToyCar")
    server.files["dev_data_ToyCar.zip"] = body
    entry = DcaseArchive("dcase2020-dev", "ToyCar", "dev_data_ToyCar.zip", "3678171",
                         md5=hashlib.md5(body).hexdigest(), size=len(body))
    monkeypatch.setitem(DCASE_DATASETS, "dcase2020-dev", (entry,))
    root = download_dcase(tmp_path / "d", dataset="dcase2020-dev", base_url=server.base_url, progress=False)
    clips = read_layout(root)
    assert len(clips) == 5 and set(clips["split"]) == {"train", "test"} and set(clips["snr"]) == {"dcase2020"}
    n_requests = len(server.requests)
    download_dcase(tmp_path / "d", dataset="dcase2020-dev", base_url=server.base_url, progress=False)
    assert len(server.requests) == n_requests  # finished archive recorded: nothing fetched again


def test_resume_from_a_part_file_uses_a_range_request(server, tmp_path, monkeypatch):  # noqa: F811
    body = _dcase2020_zip("fan")
    server.files["dev_data_fan.zip"] = body
    entry = DcaseArchive("dcase2020-dev", "fan", "dev_data_fan.zip", "3678171", md5=hashlib.md5(body).hexdigest())
    monkeypatch.setitem(DCASE_DATASETS, "dcase2020-dev", (entry,))
    part = tmp_path / "d" / "zips" / "dev_data_fan.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:100])
    download_dcase(tmp_path / "d", base_url=server.base_url, progress=False)
    assert ("dev_data_fan.zip", "bytes=100-") in server.requests
    assert len(read_layout(tmp_path / "d")) == 5


def test_checksum_mismatch_leaves_nothing_and_the_real_registry_md5_is_checked(server, tmp_path):  # noqa: F811
    server.files["dev_data_valve.zip"] = _dcase2020_zip("valve")  # not the real zip: its md5 differs
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_dcase(tmp_path / "d", machines=["valve"], base_url=server.base_url, progress=False)
    assert not (tmp_path / "d" / "zips" / "dev_data_valve.zip").exists()
    assert not (tmp_path / "d" / "valve").exists()


def test_zip_slip_is_refused_before_writing(server, tmp_path, monkeypatch):  # noqa: F811
    body = _zip({"fan/train/normal_id_00_00000000.wav": _wav(0), "../evil.wav": _wav(1)})
    server.files["dev_data_fan.zip"] = body
    monkeypatch.setitem(DCASE_DATASETS, "dcase2020-dev",
                        (DcaseArchive("dcase2020-dev", "fan", "dev_data_fan.zip", "3678171"),))
    with pytest.raises(DataError, match="escape"):
        download_dcase(tmp_path / "d", base_url=server.base_url, progress=False)
    assert not (tmp_path / "evil.wav").exists() and not (tmp_path / "d" / "fan").exists()


def test_cli_download_dataset(server, tmp_path, monkeypatch, capsys):  # noqa: F811
    server.files["dev_data_pump.zip"] = _dcase2020_zip("pump")
    monkeypatch.setitem(DCASE_DATASETS, "dcase2020-dev",
                        (DcaseArchive("dcase2020-dev", "pump", "dev_data_pump.zip", "3678171"),))
    rc = main(["download", str(tmp_path / "d"), "--dataset", "dcase2020-dev", "--url", server.base_url])
    assert rc == 0
    assert "5 clips" in capsys.readouterr().out


def _dcase2023_zip() -> bytes:
    members = {}
    for section in ("00", "01"):
        for split, domain, label, count in (("train", "source", "normal", 6), ("train", "target", "normal", 2),
                                            ("test", "source", "normal", 3), ("test", "source", "anomaly", 3),
                                            ("test", "target", "normal", 3), ("test", "target", "anomaly", 3)):
            for i in range(count):
                name = f"fan/{split}/section_{section}_{domain}_{split}_{label}_{i:04d}_m-n_W.wav"
                members[name] = _wav(len(members), frames=40000)  # 80 kB: more than one 64 kB range block
    return _zip(members)


def test_subset_reads_only_the_chosen_members_by_range_requests(server, tmp_path, monkeypatch):  # noqa: F811
    body = _dcase2023_zip()
    server.files["dev_fan.zip"] = body
    monkeypatch.setitem(DCASE_DATASETS, "dcase2023-dev",
                        (DcaseArchive("dcase2023-dev", "fan", "dev_fan.zip", "7882613"),))
    rc = main(["download", str(tmp_path / "d"), "--dataset", "dcase2023-dev", "--subset", "--machine", "fan",
               "--id", "id_01", "--normal", "2", "--abnormal", "1", "--url", server.base_url])
    assert rc == 0
    clips = read_layout(tmp_path / "d")
    assert set(clips["model_id"]) == {"section_01"}
    counts = clips.groupby(["split", "domain", "label"]).size().to_dict()
    assert counts == {("train", "source", "normal"): 2, ("train", "target", "normal"): 2,
                      ("test", "source", "normal"): 2, ("test", "source", "abnormal"): 1,
                      ("test", "target", "normal"): 2, ("test", "target", "abnormal"): 1}
    assert server.bytes_sent < len(body) / 3  # the directory and 10 of 40 members, not the whole zip
    server.ranges = False
    with pytest.raises(DownloadError, match="ignores HTTP range requests"):
        fetch_dcase_subset(tmp_path / "e", dataset="dcase2023-dev", machine="fan", base_url=server.base_url)
    server.ranges = True
    with pytest.raises(DataError, match="section_00, section_01"):
        fetch_dcase_subset(tmp_path / "e", dataset="dcase2023-dev", machine="fan", model_id="section_07",
                           base_url=server.base_url)
