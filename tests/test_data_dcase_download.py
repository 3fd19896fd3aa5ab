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
from soundad.data.dcase_download import DCASE_DATASETS, DcaseArchive, dcase_archives, download_dcase
from soundad.errors import DataError, DownloadError, ParameterError

from test_data_download import server  # noqa: F401  (the loopback HTTP server fixture)


def _wav(seed: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.random.default_rng(seed).uniform(-0.1, 0.1, 400).astype(np.float32), 16000, format="WAV",
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
    rc = main(["download", str(tmp_path / "e"), "--dataset", "dcase2020-dev", "--subset"])
    assert rc == 2
    assert "--subset" in capsys.readouterr().err
