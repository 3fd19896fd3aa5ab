"""DCASE Task 2 folder layouts → the same clips table as MIMII (beyond the paper).

After MIMII, the field moved to the DCASE challenge's Task 2 ("unsupervised
anomalous sound detection"), which reuses MIMII's machines and adds ToyADMOS.
Its development sets are laid out by machine type, with the train/test split
given by the folders:

.. code-block:: text

    DCASE 2020 Task 2        <root>/<machine>/{train,test}/{normal,anomaly}_id_XX_NNNNNNNN.wav
    DCASE 2021-2025 Task 2   <root>/<machine>/{train,test}/
                                 section_XX_{source,target}_{train,test}_{normal,anomaly}_NNNN[_<attributes>].wav

How they map onto soundad's clips table (:func:`soundad.data.read_layout`):

- ``snr``: DCASE does not publish a signal-to-noise ratio (its clips are
  mixed with factory noise at an unstated level), so this column names the
  layout instead: ``"dcase2020"`` or ``"dcase2021-2025"`` (file names of the
  later years do not say which year they are from). Tables and cell files
  grouped by ``snr`` therefore say which challenge layout the data had.
- ``model_id``: the unit one detector is trained for: ``"id_XX"`` (2020,
  a product model) or ``"section_XX"`` (2021-2025, a section of one machine
  type, the unit the official scores are computed on).
- ``label``: ``"normal"`` or ``"abnormal"`` (DCASE's ``anomaly``).
- ``split``: ``"train"`` or ``"test"``, from the folder (it must agree with
  the ``_train_``/``_test_`` part of a 2021-2025 name). DCASE 2021's zips
  unpack test clips into ``source_test/`` and ``target_test/``; both are read
  as test folders.
- ``domain`` (2021-2025 only): ``"source"`` or ``"target"``.
- ``attributes`` (2021-2025 only): the name's tail after the clip number,
  e.g. ``"car_A1_spd_28V_mic_1"`` (``""`` when there is none or it is
  ``noAttribute``). When the tail is a sequence of key/value pairs, each pair
  becomes a column ``attr_<key>`` (e.g. ``attr_spd = "28V"``); other rows
  hold ``""`` there.

Evaluation sets whose test clips carry no label (e.g. ``section_00_0000.wav``)
cannot be evaluated: such a file is an error that says so. Audio in a
``<machine>/supplemental/`` folder (DCASE 2025's extra recordings) is skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from soundad.errors import DataError

__all__ = [
    "ACCEPTED_LAYOUTS",
    "DCASE2020_MACHINES",
    "DCASE_SNR",
    "describe_clip",
    "detect_layout",
    "given_split",
    "read_dcase_layout",
]

#: Machine types of DCASE 2020 Task 2 (MIMII's four plus ToyADMOS's two).
DCASE2020_MACHINES = ("fan", "pump", "slider", "valve", "ToyCar", "ToyConveyor")

#: What the ``snr`` column holds for each DCASE layout (DCASE publishes no SNR).
DCASE_SNR = {"dcase2020": "dcase2020", "dcase2021": "dcase2021-2025"}

#: The three layouts :func:`soundad.data.read_layout` accepts, for error messages.
ACCEPTED_LAYOUTS = (
    "MIMII: <root>/<snr>/<machine>/<model_id>/{normal,abnormal}/<name>.wav; "
    "DCASE 2020 Task 2: <root>/<machine>/{train,test}/{normal,anomaly}_id_XX_NNNNNNNN.wav; "
    "DCASE 2021-2025 Task 2: <root>/<machine>/{train,test}/"
    "section_XX_{source,target}_{train,test}_{normal,anomaly}_NNNN[_<attributes>].wav"
)

_NAME_2020 = re.compile(r"^(?P<label>normal|anomaly)_(?P<model_id>id_\d+)_(?P<number>\d+)$")
_NAME_2021 = re.compile(
    r"^(?P<section>section_\d+)_(?P<domain>source|target)_(?P<split>train|test)_"
    r"(?P<label>normal|anomaly)_(?P<number>\d+)(?:_(?P<attributes>.+))?$"
)
#: Split folders and the split they hold (DCASE 2021's zips put test clips in source_test/target_test).
#: Names of unlabelled evaluation test clips (``section_00_0000.wav``, ``id_01_00000000.wav``).
_UNLABELLED = re.compile(r"^(section|id)_\d+_\d+$")
#: Folders beside train/test that hold no clips to evaluate (DCASE 2025: clean machine or noise-only
#: recordings); skipped.
_SKIPPED_FOLDERS = ("supplemental",)
_SPLIT_FOLDERS = {"train": "train", "test": "test", "source_test": "test", "target_test": "test"}
_AUDIO_SUFFIXES = (".wav", ".flac")


def _audio_files(root: Path) -> list[Path]:
    """Relative paths of every visible audio file under ``root``, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(_AUDIO_SUFFIXES):
                found.append((Path(dirpath) / name).relative_to(root))
    return sorted(found)


def _dcase_kind(rel: Path) -> str | None:
    """``"dcase2020"``, ``"dcase2021"`` or None for one relative path."""
    if len(rel.parts) != 3 or rel.parts[1] not in _SPLIT_FOLDERS:
        return None
    stem = Path(rel.parts[2]).stem
    if _NAME_2020.match(stem):
        return "dcase2020"
    if _NAME_2021.match(stem):
        return "dcase2021"
    return None


def describe_clip(rel: str | os.PathLike) -> dict | None:
    """What a DCASE path says about its clip, or None when it is not a DCASE clip path.

    Parameters
    ----------
    rel : str or path-like
        Path relative to the dataset root, e.g.
        ``"fan/test/section_00_target_test_anomaly_0003_m-n_W.wav"``.

    Returns
    -------
    info : dict or None
        ``layout`` ("dcase2020"/"dcase2021"), ``machine``, ``model_id``,
        ``label`` ("normal"/"abnormal"), ``split`` and ``domain`` (None for 2020).
    """
    rel = Path(rel)
    kind = _dcase_kind(rel)
    if kind is None:
        return None
    match = (_NAME_2020 if kind == "dcase2020" else _NAME_2021).match(rel.stem)
    return {
        "layout": kind, "machine": rel.parts[0],
        "model_id": match["model_id"] if kind == "dcase2020" else match["section"],
        "label": "normal" if match["label"] == "normal" else "abnormal",
        "split": _SPLIT_FOLDERS[rel.parts[1]], "domain": None if kind == "dcase2020" else match["domain"],
    }


def detect_layout(root: str | os.PathLike) -> str:
    """Which of the three accepted layouts a directory holds.

    Parameters
    ----------
    root : str or path-like
        An existing directory.

    Returns
    -------
    layout : {"mimii", "dcase2020", "dcase2021"}
        ``"dcase2020"``/``"dcase2021"`` when any audio file sits at
        ``<machine>/{train,test}/<DCASE name>``; ``"mimii"`` when a file sits
        in a MIMII label or model folder (``normal``, ``abnormal``, ``id_XX``)
        or when there is no audio file at all: MIMII's reader then names any
        misplaced file and how to fix it.

    Raises
    ------
    DataError
        Audio files fit none of the three layouts (the message shows all three),
        or one folder mixes the DCASE 2020 and 2021-2025 layouts.
    """
    root = Path(root)
    files = _audio_files(root)
    kinds = {kind for kind in map(_dcase_kind, files) if kind}
    if len(kinds) > 1:
        raise DataError(f"{str(root)!r} mixes DCASE 2020 and DCASE 2021-2025 file names; keep one layout per folder")
    if kinds:
        return kinds.pop()
    if not files:
        return "mimii"  # MIMII's reader says that the folder holds no audio
    example = files[0].as_posix()
    hint = ""
    if any(_dcase_kind(Path(*f.parts[1:])) for f in files if len(f.parts) == 4):
        hint = f" (the DCASE folders sit one level down: point at {str(root / files[0].parts[0])!r})"
    elif any(_looks_like_mimii(f) for f in files):
        return "mimii"  # MIMII's reader names any misplaced file and says how to fix it
    raise DataError(
        f"cannot recognise the layout of {str(root)!r} (e.g. {example!r}){hint}; soundad reads three layouts: "
        + ACCEPTED_LAYOUTS
    )


def _looks_like_mimii(rel: Path) -> bool:
    """A path with a MIMII label or model folder (``normal``, ``abnormal``, ``id_00``)."""
    return any(part in ("normal", "abnormal") or re.fullmatch(r"id_\d+", part) for part in rel.parts[:-1])


def _attribute_columns(text: str) -> dict[str, str]:
    """``"car_A1_spd_28V"`` → ``{"attr_car": "A1", "attr_spd": "28V"}``; {} when not key/value pairs."""
    tokens = text.split("_") if text else []
    if len(tokens) % 2:
        return {}
    return {f"attr_{re.sub(r'[^0-9A-Za-z]+', '_', k)}": v for k, v in zip(tokens[::2], tokens[1::2])}


def _parse(root: Path, rel: Path, layout: str) -> dict:
    folder = rel.parts[1] if len(rel.parts) == 3 else ""
    machine, split, stem = rel.parts[0], _SPLIT_FOLDERS.get(folder), Path(rel.name).stem
    pattern = _NAME_2020 if layout == "dcase2020" else _NAME_2021
    match = pattern.match(stem) if split else None
    if match is None:
        unlabelled = ""
        if _UNLABELLED.match(stem):
            unlabelled = (" (an evaluation clip without its normal/anomaly label: soundad reads labelled "
                          "development sets; move the evaluation test folder out)")
        raise DataError(
            f"audio file {rel.as_posix()!r} under {str(root)!r} does not fit the {layout} layout the other files "
            f"have{unlabelled}; soundad reads three layouts: {ACCEPTED_LAYOUTS}"
        )
    row = {
        "clip_id": rel.as_posix(),
        "path": str(root / rel),
        "snr": DCASE_SNR[layout],
        "machine": machine,
        "model_id": match["model_id"] if layout == "dcase2020" else match["section"],
        "label": "normal" if match["label"] == "normal" else "abnormal",
        "split": split,
    }
    if layout == "dcase2021":
        if match["split"] != split:
            raise DataError(
                f"audio file {rel.as_posix()!r} is named {match['split']!r} but sits in the {folder!r} folder")
        attributes = match["attributes"] or ""
        attributes = "" if attributes == "noAttribute" else attributes
        row.update(domain=match["domain"], attributes=attributes, **_attribute_columns(attributes))
    return row


def read_dcase_layout(root: str | os.PathLike) -> pd.DataFrame:
    """List every clip of a DCASE Task 2 development folder as a clips table.

    Parameters
    ----------
    root : str or path-like
        Directory holding machine folders (``fan/``, ``ToyCar/``, ...), each
        with ``train/`` and ``test/`` (see the module docstring).

    Returns
    -------
    clips : pd.DataFrame
        One row per audio file, sorted by ``clip_id``: ``clip_id, path, snr,
        machine, model_id, label, split`` and, for 2021-2025,
        ``domain, attributes`` and the ``attr_<key>`` columns (see the module
        docstring for what each holds).

    Raises
    ------
    DataError
        A file that does not fit the folder's layout, or a folder that is not
        a DCASE layout (:func:`detect_layout`).
    """
    root = Path(root).expanduser().resolve()
    layout = detect_layout(root)
    if layout == "mimii":
        raise DataError(f"{str(root)!r} is not in a DCASE layout; soundad reads three layouts: {ACCEPTED_LAYOUTS}")
    rows = [_parse(root, rel, layout) for rel in _audio_files(root)
            if not (len(rel.parts) == 3 and rel.parts[1] in _SKIPPED_FOLDERS)]
    clips = pd.DataFrame(rows)
    attr = [c for c in clips.columns if c.startswith("attr_")]
    clips[attr] = clips[attr].fillna("")
    clips.attrs["layout"] = layout
    return clips.sort_values("clip_id", kind="stable").reset_index(drop=True)


def given_split(clips: pd.DataFrame) -> pd.DataFrame:
    """Keep the train/test split a clips table already has (DCASE: from its folders).

    Parameters
    ----------
    clips : pd.DataFrame
        Clips table with a ``split`` column, e.g. :func:`read_dcase_layout`'s.

    Returns
    -------
    clips : pd.DataFrame
        A copy, unchanged but checked.

    Raises
    ------
    ParameterError
        No ``split`` column (the data's layout gives no split: use the MIMII
        or the random rule), or values other than ``"train"``/``"test"``.
    DataError
        An abnormal clip in the training set: detectors are fitted on normal
        clips only.
    """
    from soundad.errors import ParameterError

    if "split" not in clips.columns:
        raise ParameterError(
            "split='given' needs a clips table with a 'split' column (DCASE layouts have one, from their "
            "train/test folders); for MIMII-layout data use split='mimii', 'random' or 'auto'"
        )
    bad = sorted(set(map(str, clips["split"])) - {"train", "test"})
    if bad:
        raise ParameterError(f"clips table's split column holds {bad}; expected only 'train' and 'test'")
    wrong = clips[(clips["split"] == "train") & (clips["label"] != "normal")]
    if len(wrong):
        raise DataError(f"{len(wrong)} abnormal clip(s) in the training set (e.g. {wrong['clip_id'].iloc[0]!r}); "
                        "detectors are fitted on normal clips only")
    return clips.copy()
