"""Data choice and domain-shift scores for chapter 07 (DCASE, beyond the paper).

- :func:`dcase_data` picks the chapter's data: ``$SOUNDAD_DATA`` when it holds a
  DCASE Task 2 layout, else synthetic DCASE-2023-style clips written by
  :func:`soundad.data.dcase_synth.write_dcase_synthetic`; it returns a small
  clips table (one machine section, a few clips per split, domain and label).
- :func:`domain_aucs` gives each method's AUC per domain with a bootstrap
  interval, with the DCASE 2022/2023 definition (normal clips of one domain
  against all anomalous clips of the section, see :mod:`soundad.dcase_scores`).
- :func:`domain_gap` is the AUC(source) - AUC(target) difference of one
  method with a bootstrap interval.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from soundad.data import read_layout
from soundad.data.dcase import detect_layout
from soundad.data.dcase_synth import write_dcase_synthetic
from soundad.data.source import DATA_ENV
from soundad.data.groups import GROUP_COLUMNS
from soundad.errors import DataError, ParameterError
from soundad.evaluate import auc_pauc, bootstrap_ci

__all__ = ["DcaseData", "dcase_data", "domain_aucs", "domain_gap", "DOMAINS"]

DOMAINS = ("source", "target")
_SECTION = list(GROUP_COLUMNS)


@dataclass(frozen=True)
class DcaseData:
    """The chapter's clips and where they came from."""

    clips: pd.DataFrame  # read_layout's table, one section, a few clips
    root: Path
    kind: str  # "env", "path" or "synthetic"
    layout: str  # "dcase2020" or "dcase2021"
    description: str  # one line for the reader


def _few(clips: pd.DataFrame, n_normal: int, n_test: int, seed: int) -> pd.DataFrame:
    """The first section: at most ``n_normal`` source (``n_normal // 8`` target) training
    clips and ``n_test`` test clips per (domain, label)."""
    first = clips.sort_values(_SECTION).iloc[0]
    keep = (clips[_SECTION] == first[_SECTION]).all(axis=1)
    section = clips[keep]
    keys = ["split", "label"] + (["domain"] if "domain" in section.columns else [])
    parts = []
    for values, part in section.groupby(keys, sort=True):
        n = n_test if values[0] == "test" else n_normal
        if values[0] == "train" and values[-1] == "target":
            n = max(1, n_normal // 8)
        parts.append(part.sample(n=min(n, len(part)), random_state=seed) if len(part) > n
                     else part)
    return pd.concat(parts).sort_values("clip_id").reset_index(drop=True)


def dcase_data(data: str | os.PathLike = "auto", *, cache_dir: str | os.PathLike,
               n_normal: int = 16, n_abnormal: int = 8, duration: float = 2.5,
               seed: int = 0) -> DcaseData:
    """Choose the chapter's DCASE-layout data.

    Parameters
    ----------
    data : "auto", "synthetic" or a folder, default="auto"
        ``"auto"``: ``$SOUNDAD_DATA`` when set and in a DCASE layout, else
        synthetic; a folder must hold a DCASE layout.
    cache_dir : path-like
        Where synthetic clips are written (reused when already there).
    n_normal, n_abnormal : int >= 1
        Normal training clips (source domain) and anomalous test clips per
        domain; the test set holds as many normal clips per domain. Real data
        are cut to the same counts (and the first machine section).
    duration : float [s]
        Length of synthetic clips.
    seed : int

    Raises
    ------
    ParameterError
        ``data`` names a folder that is not in a DCASE layout.
    """
    folder = None
    if data == "auto":
        env = os.environ.get(DATA_ENV, "").strip()
        if env and Path(env).is_dir() and detect_layout(env).startswith("dcase"):
            folder, kind = Path(env), "env"
    elif data != "synthetic":
        folder, kind = Path(data).expanduser(), "path"
        if not folder.is_dir() or not detect_layout(folder).startswith("dcase"):
            raise ParameterError(f"DATA={str(data)!r} is not a folder in a DCASE Task 2 "
                                 "layout; give one, or 'auto' / 'synthetic'")
    if folder is None:
        name = f"dcase2023-synth-n{n_normal}-a{n_abnormal}-d{duration:g}-s{seed}"
        folder = Path(cache_dir) / name
        if not folder.is_dir():
            tmp = Path(cache_dir) / (name + ".partial")
            write_dcase_synthetic(tmp, layout="dcase2023", machines=("fan",),
                                  n_normal=n_normal, n_abnormal=n_abnormal,
                                  n_target_train=max(1, n_normal // 8),
                                  duration=duration, seed=seed)
            os.replace(tmp, folder)
        kind = "synthetic"
    layout = detect_layout(folder)
    clips = _few(read_layout(folder), n_normal, n_abnormal, seed)
    if kind == "synthetic":
        text = ("SYNTHETIC DCASE-2023-style clips made by soundad (fan, section 00; "
                "target domain: the machine runs 1.25 times faster) — not real recordings")
    else:
        text = f"real DCASE data from {folder.name} ({layout} layout), first section only"
    return DcaseData(clips=clips, root=folder, kind=kind, layout=layout, description=text)


def _with_domain(scores: pd.DataFrame, clips: pd.DataFrame) -> pd.DataFrame:
    if "domain" in scores.columns:
        return scores
    if "domain" not in clips.columns:
        raise DataError("these clips have no domain (DCASE 2020 layout): no source/target "
                        "scores")
    return scores.merge(clips[["clip_id", "domain"]], on="clip_id", how="left")


def _domain_arrays(part: pd.DataFrame, domain: str) -> tuple[np.ndarray, np.ndarray]:
    keep = (part["domain"].to_numpy() == domain) | (part["label"].to_numpy() == "abnormal")
    y = (part["label"].to_numpy()[keep] == "abnormal").astype(int)
    return y, part["score"].to_numpy(dtype=np.float64)[keep]


def domain_aucs(scores: pd.DataFrame, clips: pd.DataFrame, *, by=("backbone", "weights"),
                n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """AUC per method and domain with a stratified bootstrap interval.

    Parameters
    ----------
    scores : pd.DataFrame
        scores.csv of :func:`soundad.reproduce.run_grid` (one section).
    clips : pd.DataFrame
        The clips table with ``domain``.
    by : sequence of str
        Method columns that name one method.

    Returns
    -------
    pd.DataFrame
        One row per method and domain: ``auc``, ``lo``, ``hi`` (95 %),
        ``n_normal``, ``n_abnormal``.
    """
    table = _with_domain(scores, clips)
    rows = []
    for values, part in table.groupby(list(by), sort=False):
        for domain in DOMAINS:
            y, s = _domain_arrays(part, domain)
            auc, _ = auc_pauc(y, s)
            lo, hi = bootstrap_ci(y, s, metric="auc", n_boot=n_boot, seed=seed)
            rows.append({**dict(zip(by, values)), "domain": domain, "auc": auc,
                         "lo": lo, "hi": hi, "n_normal": int((y == 0).sum()),
                         "n_abnormal": int(y.sum())})
    return pd.DataFrame(rows)


def domain_gap(scores: pd.DataFrame, *, n_boot: int = 1000, level: float = 0.95,
               seed: int = 0) -> tuple[float, float, float, int]:
    """AUC(source) - AUC(target) of one method's test clips, with an interval.

    ``scores`` holds one method's clips with ``label``, ``score`` and
    ``domain``. Each bootstrap round resamples the source normal, target
    normal and anomalous clips separately (the anomalies are shared by both
    AUCs, as in the DCASE definition).

    Returns
    -------
    (estimate, lo, hi, n_clips)
    """
    if scores.duplicated("clip_id").any():
        raise DataError("domain_gap takes one method's scores: a clip_id appears twice")
    label = scores["label"].to_numpy()
    s = scores["score"].to_numpy(dtype=np.float64)
    domain = scores["domain"].to_numpy()
    parts = [s[(label == "normal") & (domain == d)] for d in DOMAINS]
    abnormal = s[label == "abnormal"]

    def gap(src, tgt, ab):
        aucs = [auc_pauc(np.r_[np.zeros(len(n)), np.ones(len(ab))], np.r_[n, ab])[0]
                for n in (src, tgt)]
        return aucs[0] - aucs[1]

    estimate = gap(parts[0], parts[1], abnormal)
    rng = np.random.default_rng(seed)
    draws = [gap(*(x[rng.integers(0, len(x), len(x))] for x in (*parts, abnormal)))
             for _ in range(n_boot)]
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(estimate), float(lo), float(hi), int(len(s))
