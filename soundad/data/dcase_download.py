"""DCASE Task 2 development sets from Zenodo: a registry and a resumable download (beyond the paper).

Each development set is one Zenodo record holding one zip per machine type;
unpacked into one folder, the zips give the DCASE layouts that
:func:`soundad.data.read_layout` reads (:mod:`soundad.data.dcase`). The
download reuses MIMII's machinery (:func:`soundad.data.download_file`):
every zip goes to ``<name>.part`` first, resumes from there after an
interruption, is checked (md5 where the registry has one, size where it has
one) and only then moved into place; unpacking writes each member atomically
and records a finished zip in ``<dest>/.soundad/``, so a rerun skips it.
:func:`fetch_dcase_subset` reads only a few clips of one machine and section
out of the remote zip by HTTP range requests (``soundad download --subset``).

Where the registry's entries come from (nothing here was checked against the
Zenodo pages themselves, which this project cannot reach):

- record IDs and file names: the DCASE task pages and the download scripts
  of the challenge baselines and of other public code (e.g. soundata's
  loaders, the DCASE 2021 baseline's ``download`` script);
- md5 sums: copied from soundata's loaders ``soundata/datasets/dcase2020task2.py``
  (DCASE 2020, record 3678171) and ``soundata/datasets/dcase23_task2.py``
  (DCASE 2023, record 7882613) on github.com/soundata/soundata, which
  verify their downloads with them; the other years have ``None`` (no
  checksum known; the download is then checked by nothing but the HTTP
  transfer);
- sizes: none known (``None``).

The DCASE 2024 file names (lower-case ``dev_toycar.zip``, ``dev_toytrain.zip``)
are taken from one third-party script and are the least certain entries.
DCASE data are for non-commercial use: soundata's loaders record CC BY-NC-SA
4.0 for DCASE 2020 and CC BY-NC 4.0 for DCASE 2023; check each Zenodo record.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Sequence

from soundad._io import atomic_path, atomic_write_text
from soundad.errors import DataError, DownloadError, ParameterError
from soundad.params import check_int

from .archives import extracted_marker, zip_folder
from .remotezip import RangeReader, probe_ranges
from .retrieve import download_file
from .zipmembers import write_members

__all__ = ["DCASE_DATASETS", "DcaseArchive", "dcase_archives", "download_dcase", "fetch_dcase_subset"]

_ZENODO = "https://zenodo.org/records/{record}/files/"


@dataclass(frozen=True)
class DcaseArchive:
    """One machine type's zip of a DCASE development set.

    Attributes
    ----------
    dataset : str
        E.g. ``"dcase2020-dev"``.
    machine : str
        Machine type as the zip's folder names it (``"ToyCar"``).
    name : str
        File name in the Zenodo record.
    record : str
        Zenodo record ID.
    md5 : str or None
        md5 of the zip, None when unknown (see the module docstring).
    size : int or None [bytes]
        Size of the zip, None when unknown.
    """

    dataset: str
    machine: str
    name: str
    record: str
    md5: str | None = None
    size: int | None = None

    @property
    def url(self) -> str:
        return _ZENODO.format(record=self.record) + self.name

    @property
    def known_hash(self) -> str | None:
        return f"md5:{self.md5}" if self.md5 else None


def _set(dataset: str, record: str, pattern: str, machines: dict[str, str | None]) -> tuple[DcaseArchive, ...]:
    return tuple(DcaseArchive(dataset, m, pattern.format(m), record, md5) for m, md5 in machines.items())


#: Every development set soundad can download, by name (see the module docstring for the sources).
DCASE_DATASETS: dict[str, tuple[DcaseArchive, ...]] = {
    "dcase2020-dev": _set("dcase2020-dev", "3678171", "dev_data_{}.zip", {
        # md5: soundata/datasets/dcase2020task2.py
        "fan": "649bdfc06263ae7a838963f43b6641e6",
        "pump": "90e7091ef722b7238a7f1009365779cd",
        "slider": "da24a757719f0d94d5aa2d646bbfdc86",
        "valve": "34d2672f55bb041589ef79c10dc89934",
        "ToyCar": "4dec75ca8d9f666aa9e4c1894a740501",
        "ToyConveyor": "03b6aa1bfd09a39d53af0ba39f71fa91",
    }),
    # 2021 zips unpack test clips into source_test/ and target_test/ (read_layout accepts both)
    "dcase2021-dev": _set("dcase2021-dev", "4562016", "dev_data_{}.zip", dict.fromkeys(
        ("fan", "gearbox", "pump", "slider", "ToyCar", "ToyTrain", "valve"))),  # md5 unknown
    "dcase2022-dev": _set("dcase2022-dev", "6355122", "dev_{}.zip", dict.fromkeys(
        ("bearing", "fan", "gearbox", "slider", "ToyCar", "ToyTrain", "valve"))),  # md5 unknown
    "dcase2023-dev": _set("dcase2023-dev", "7882613", "dev_{}.zip", {
        # md5: soundata/datasets/dcase23_task2.py
        "bearing": "8a813bc8d8f156b5395bfccdfac7673c",
        "fan": "9348591e96fb0ad499a1e33b082562fc",
        "gearbox": "b6e55f6a31faa0fc8569ec0afdd53ccf",
        "slider": "b3f8dee36b4718c36d659a4fd1c4afe0",
        "ToyCar": "4e3bf15f4101ed4ed4f1fecde2e2b2a3",
        "ToyTrain": "6b02a6c65eebb3b8b1ae59a6b25bb897",
        "valve": "b2051a2022eadb53cd97581120811cae",
    }),
    "dcase2024-dev": _set("dcase2024-dev", "10902294", "dev_{}.zip", dict.fromkeys(
        ("bearing", "fan", "gearbox", "slider", "toycar", "toytrain", "valve"))),  # md5 unknown
    "dcase2025-dev": _set("dcase2025-dev", "15097779", "dev_{}.zip", dict.fromkeys(
        ("bearing", "fan", "gearbox", "slider", "ToyCar", "ToyTrain", "valve"))),  # md5 unknown
}


def dcase_archives(dataset: str, machines: Sequence[str] | None = None) -> list[DcaseArchive]:
    """The registry entries of one development set, optionally only some machine types.

    Raises
    ------
    ParameterError
        Unknown dataset or machine type (the message lists the known ones).
    """
    if dataset not in DCASE_DATASETS:
        raise ParameterError(f"dataset {dataset!r} is not known; expected one of {', '.join(DCASE_DATASETS)}")
    archives = DCASE_DATASETS[dataset]
    if machines is None:
        return list(archives)
    by_machine = {a.machine.lower(): a for a in archives}
    unknown = [m for m in machines if m.lower() not in by_machine]
    if unknown:
        raise ParameterError(f"{dataset} has no machine type(s) {unknown}; it has "
                             f"{', '.join(a.machine for a in archives)}")
    return [by_machine[m.lower()] for m in machines]


def _safe_parts(name: str, dest: Path, archive: str) -> tuple[str, ...] | None:
    """A member's path below ``dest``; None for folders; DataError for a path that escapes ``dest``."""
    if name.endswith("/"):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or any(p in ("..", "") or ":" in p for p in parts) or "\x00" in name:
        raise DataError(f"{archive}: refusing member {name!r}, whose path would escape {str(dest)!r}")
    return tuple(p for p in parts if p != ".")


def _unpack(zip_path: Path, dest: Path) -> int:
    """Unpack every member atomically (after checking all names); returns the number of files."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{str(zip_path)!r} is not a readable zip file: {exc}") from None
    with zf:
        plan = [(info, _safe_parts(info.filename, dest, zip_path.name)) for info in zf.infolist()]
        count = 0
        for info, parts in plan:
            if parts is None:
                continue
            target = dest.joinpath(*parts)
            if target.exists() and target.stat().st_size == info.file_size:
                count += 1
                continue  # unpacked by an earlier, interrupted run
            try:
                with zf.open(info) as src, atomic_path(target) as tmp, open(tmp, "wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError) as exc:
                raise DataError(f"{zip_path.name}: member {info.filename!r} is corrupt: {exc}") from None
            count += 1
    return count


def download_dcase(
    dest: str | os.PathLike,
    *,
    dataset: str = "dcase2020-dev",
    machines: Sequence[str] | None = None,
    base_url: str | None = None,
    download_dir: str | os.PathLike | None = None,
    keep_zip: bool = True,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download a DCASE Task 2 development set and unpack it into one folder.

    Parameters
    ----------
    dest : str or path-like
        Folder to unpack into; it becomes ``<dest>/<machine>/{train,test}/…``.
    dataset : str, default="dcase2020-dev"
        A key of :data:`DCASE_DATASETS` (``"dcase2020-dev"`` … ``"dcase2025-dev"``).
    machines : sequence of str or None, default=None
        Machine types to fetch (case-insensitive); None: all of the set.
    base_url : str or None, default=None
        Folder URL holding the zips instead of the Zenodo record (mirrors, tests).
    download_dir : str or path-like or None, default=None
        Where the zips go; None: ``<dest>/zips``.
    keep_zip : bool, default=True
        Keep each zip after unpacking.
    timeout : float [s], default=30.0
    progress : bool, default=True

    Returns
    -------
    dest : Path
        Ready for :func:`soundad.data.read_layout`.

    Raises
    ------
    ParameterError
        Unknown dataset or machine type.
    DownloadError
        A failed transfer (the ``.part`` file is kept for a resume) or a
        checksum/size mismatch (nothing is left under the zip's name).
    DataError
        A zip that cannot be read or holds a member path that escapes ``dest``.
    """
    archives = dcase_archives(dataset, machines)
    dest = Path(dest).expanduser()
    zip_dir = zip_folder(dest, download_dir)
    for archive in archives:
        marker = extracted_marker(dest, archive.name)
        if marker.exists():
            continue
        url = (base_url.rstrip("/") + "/" + archive.name) if base_url else archive.url
        zip_path = download_file(url, zip_dir / archive.name, known_hash=archive.known_hash,
                                 expected_size=archive.size, timeout=timeout, progress=progress)
        n_files = _unpack(zip_path, dest)
        atomic_write_text(marker, json.dumps({"archive": archive.name, "record": archive.record,
                                              "hash": archive.known_hash, "files": n_files}))
        if not keep_zip:
            zip_path.unlink()
    return dest


def _choose(names: Sequence[str], machine: str, model_id: str | None, n_normal: int, n_abnormal: int) -> list[str]:
    """The first clips of one machine and section per (split, domain, label), in name order."""
    from .dcase import describe_clip

    clips = [(n, describe_clip(n)) for n in sorted(names) if not n.endswith("/")]
    clips = [(n, c) for n, c in clips if c is not None and c["machine"].lower() == machine.lower()]
    if not clips:
        raise DataError(f"the zip holds no DCASE clips of machine type {machine!r}")
    sections = sorted({c["model_id"] for _, c in clips})
    wanted = model_id if model_id is not None else sections[0]
    if wanted not in sections and wanted.startswith("id_") and sections[0].startswith("section_"):
        wanted = "section_" + wanted[3:]  # the CLI's --id id_00 names section_00 in 2021-2025 sets
    if wanted not in sections:
        raise DataError(f"{machine} has no {wanted!r}; it has {', '.join(sections)}")
    chosen, taken = [], {}
    for name, c in clips:
        if c["model_id"] != wanted:
            continue
        key = (c["split"], c["domain"], c["label"])
        limit = n_abnormal if c["label"] == "abnormal" else n_normal
        if taken.get(key, 0) < limit:
            taken[key] = taken.get(key, 0) + 1
            chosen.append(name)
    return chosen


def fetch_dcase_subset(
    dest: str | os.PathLike,
    *,
    dataset: str = "dcase2020-dev",
    machine: str = "fan",
    model_id: str | None = None,
    n_normal: int = 50,
    n_abnormal: int = 50,
    base_url: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """A few clips of one machine type and section, read out of the remote zip by HTTP range requests.

    Only the zip's directory and the chosen members travel, not the whole
    zip (hundreds of MB to GB). Each member is checked by the zip's CRC and
    written atomically; a rerun skips the members already there.

    Parameters
    ----------
    dest : str or path-like
        Folder to unpack into (``<dest>/<machine>/{train,test}/…``).
    dataset : str, default="dcase2020-dev"
    machine : str, default="fan"
    model_id : str or None, default=None
        ``"id_XX"`` (2020) or ``"section_XX"`` (2021-2025); None: the first one.
    n_normal : int >= 1, default=50
        Normal clips per split and domain (train and test).
    n_abnormal : int >= 1, default=50
        Anomalous test clips per domain.
    base_url : str or None, default=None
        Folder URL holding the zips instead of the Zenodo record.
    timeout : float [s], default=30.0

    Returns
    -------
    dest : Path

    Raises
    ------
    ParameterError
        Unknown dataset or machine type, or a bad count.
    DownloadError
        The server does not answer range requests (download the set whole
        with :func:`download_dcase`) or a member fails its CRC check.
    DataError
        No such machine or section in the zip, or a member path that escapes ``dest``.
    """
    (archive,) = dcase_archives(dataset, [machine])
    n_normal = check_int("n_normal", n_normal, low=1)
    n_abnormal = check_int("n_abnormal", n_abnormal, low=1)
    dest = Path(dest).expanduser()
    url = (base_url.rstrip("/") + "/" + archive.name) if base_url else archive.url
    size, _ = probe_ranges(url, timeout=timeout)
    if size is None:
        raise DownloadError(f"{url}: the server ignores HTTP range requests; download {dataset} whole instead")
    reader = RangeReader(url, size, timeout=timeout)
    try:
        zf = zipfile.ZipFile(reader)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{url} does not look like a zip file ({exc})") from None
    with zf:
        names = _choose([i.filename for i in zf.infolist()], archive.machine, model_id, n_normal, n_abnormal)
        _fetch_members(zf, names, dest, archive.name)
    return dest


def _fetch_members(zf: zipfile.ZipFile, names: Sequence[str], dest: Path, archive: str) -> None:
    """Write members ``names`` of the remote zip under ``dest``, one range request per span of neighbours."""
    # every name is checked before the first member is written
    targets = [(zf.getinfo(name), dest.joinpath(*_safe_parts(name, dest, archive))) for name in names]
    write_members(zf, targets, archive, progress=False, desc=archive)
