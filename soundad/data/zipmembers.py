"""Unpacking MIMII zips safely and resumably (chapter 01, downloads).

A MIMII zip holds ``fan/id_00/normal/00000000.wav`` (no SNR folder); it is
unpacked to ``<dest>/<snr>/fan/id_00/normal/00000000.wav`` with the canonical
SNR spelling (``-6dB``, ``0dB``, ``6dB``). Members whose names would escape
``dest`` (zip-slip) are refused before anything is written. Each member is
written atomically and skipped when already there with the right size, so
an interrupted unpack resumes; the zip may be a local file or a remote one
read with range requests (:class:`~soundad.data.remotezip.RangeReader`).

pooch's :class:`pooch.Unzip` does not fit these rules: it flattens unsafe
names instead of refusing the archive, cannot drop a leading SNR folder or
put members under ``<snr>/``, skips a folder that exists (so a half-done
unpack never resumes) and writes members in place rather than atomically.
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

import numpy as np

from soundad._io import atomic_path
from soundad.errors import DataError, DownloadError

from .archives import snr_arg
from .groups import normalise_snr, snr_db
from .layout import LABELS
from .remotezip import RangeReader, member_spans, span_end

__all__ = ["choose_members", "extract_members", "extract_zip", "member_target", "write_members"]


def member_target(name: str, dest: Path, snr: str, archive: str) -> tuple[str, ...] | None:
    """Parts of a member's path below ``<dest>/<snr>``; None for directories.

    Raises DataError for names that would escape the target directory.
    """
    if name.endswith("/"):
        return None
    clean = name.replace("\\", "/")
    posix = PurePosixPath(clean)
    parts = posix.parts
    if (
        posix.is_absolute()
        or not parts
        or any(p in ("..", "") for p in parts)
        or re.match(r"^[A-Za-z]:", parts[0])
        or "\x00" in clean
    ):
        raise DataError(f"{archive}: refusing member {name!r}, whose path would escape the target directory {str(dest)!r}")
    parts = tuple(p for p in parts if p != ".")
    first = normalise_snr(parts[0]) if np.isfinite(snr_db(parts[0])) else None
    if first is not None and len(parts) > 1:
        if first != snr:
            raise DataError(f"{archive}: member {name!r} belongs to SNR {first}, expected {snr}")
        parts = parts[1:]
    target = (dest / snr).joinpath(*parts).resolve()
    if not target.is_relative_to((dest / snr).resolve()):
        raise DataError(f"{archive}: refusing member {name!r}, whose path would escape the target directory {str(dest)!r}")
    return parts



def extract_members(
    zf: zipfile.ZipFile, infos: Sequence[zipfile.ZipInfo], dest: Path, snr: str, archive: str, *, progress: bool, desc: str
) -> list[Path]:
    """Write ``infos`` of ``zf`` under ``<dest>/<snr>/`` (skipping complete ones); return every target path.

    Every member's name is checked (:func:`member_target`) before the first
    one is written, so a zip-slip name refuses the whole archive.
    """
    targets = []
    for info in infos:  # refuse the whole archive before writing anything
        parts = member_target(info.filename, dest, snr, archive)
        if parts is not None:
            targets.append((info, dest / snr / Path(*parts)))
    return write_members(zf, targets, archive, progress=progress, desc=desc)


def write_members(
    zf: zipfile.ZipFile, targets: Sequence[tuple[zipfile.ZipInfo, Path]], archive: str, *, progress: bool, desc: str
) -> list[Path]:
    """Write each ``(info, target)`` member of ``zf`` atomically (skipping complete ones); return every target path.

    A member is complete when its target exists with the member's size. For
    a remote zip, members next to each other are fetched with one range
    request each (:func:`~soundad.data.remotezip.member_spans`).

    Raises
    ------
    DownloadError
        A member fails its CRC check (nothing is written for it).
    """
    targets = list(targets)
    remote = isinstance(zf.fp, RangeReader)
    if remote:
        targets.sort(key=lambda item: item[0].header_offset)  # the zip's order: spans stream forwards
    todo = [info for info, target in targets if not (target.exists() and target.stat().st_size == info.file_size)]
    starts = {group[0].header_offset: group for group in member_spans(todo)} if remote else {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(targets), desc=desc, unit="file")
        if remote:
            zf.fp.on_wait = lambda message: bar.set_postfix_str(message, refresh=True)
    written = []
    try:
        for info, target in targets:
            if not (target.exists() and target.stat().st_size == info.file_size):
                group = starts.get(info.header_offset)
                if group is not None:  # one request for this member and its neighbours
                    zf.fp.open_span(group[0].header_offset, span_end(group[-1]) - group[0].header_offset)
                try:
                    with zf.open(info) as src, atomic_path(target) as tmp, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                except zipfile.BadZipFile as exc:
                    raise DownloadError(f"{archive}: member {info.filename!r} is corrupt ({exc}); nothing was written for it") from None
            written.append(target)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return written


def extract_zip(
    zip_path: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    snr: str,
    members: Iterable[str] | None = None,
    progress: bool = False,
) -> list[Path]:
    """Unpack a MIMII zip into ``<dest>/<snr>/…``, safely and resumably.

    Parameters
    ----------
    zip_path : str or path-like
        A local zip, e.g. ``0_dB_fan.zip`` (members ``fan/id_00/normal/…``;
        a leading SNR folder is also accepted and must match ``snr``).
    dest : str or path-like
        Dataset root.
    snr : str
        SNR folder to unpack into (canonical spelling is used).
    members : iterable of str or None, default=None
        Member names to unpack; ``None`` unpacks all.
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    paths : list of Path
        The files unpacked (or found complete from an earlier run).

    Raises
    ------
    DataError
        If the file is not a zip, a member name would escape ``dest``
        (zip-slip; checked for all members before anything is written), a
        requested member is missing, or a member is corrupt.
    """
    zip_path, dest, snr = Path(zip_path), Path(dest), snr_arg(snr)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{str(zip_path)!r} is not a readable zip file: {exc}") from None
    with zf:
        infos = zf.infolist()
        if members is not None:
            wanted = list(members)
            by_name = {i.filename: i for i in infos}
            missing = [m for m in wanted if m not in by_name]
            if missing:
                raise DataError(f"{str(zip_path)!r} has no member(s) {missing[:5]}")
            infos = [by_name[m] for m in wanted]
        try:
            return extract_members(zf, infos, dest, snr, zip_path.name, progress=progress, desc=f"unpacking {zip_path.name}")
        except DownloadError as exc:
            raise DataError(str(exc)) from None



def choose_members(infos, archive: str, machine: str, model_id: str, n_normal, n_abnormal) -> list[zipfile.ZipInfo]:
    """The first ``n_normal`` normal and ``n_abnormal`` abnormal clips of ``machine``/``model_id`` (sorted by name)."""
    by_label: dict[str, list[zipfile.ZipInfo]] = {label: [] for label in LABELS}
    models = set()
    for info in infos:
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if parts and np.isfinite(snr_db(parts[0])) and len(parts) > 1:
            parts = parts[1:]
        if len(parts) != 4 or not parts[3].lower().endswith(".wav") or parts[0] != machine:
            continue
        models.add(parts[1])
        if parts[1] == model_id and parts[2] in by_label:
            by_label[parts[2]].append(info)
    if not any(by_label.values()):
        raise DataError(
            f"{archive} holds no clips of {machine} {model_id}; model IDs found: {sorted(models) or 'none'}"
        )
    chosen = []
    for label, wanted in (("normal", n_normal), ("abnormal", n_abnormal)):
        items = sorted(by_label[label], key=lambda i: i.filename)
        if wanted is not None and len(items) < wanted:
            warnings.warn(f"{archive} has only {len(items)} {label} clips of {machine} {model_id}, not {wanted}", stacklevel=3)
        chosen += items if wanted is None else items[:wanted]
    return chosen


