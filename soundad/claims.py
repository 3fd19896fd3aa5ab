"""Check the claims behind Müller et al. (2021) against a run's clip scores (chapter 06).

The paper's story rests on four statements; :func:`check_claims` tests each
with a paired bootstrap (:func:`soundad.evaluate.compare`) on the test clips
of ``scores.csv`` from :func:`soundad.reproduce.run_grid`:

0. ImageNet weights beat the same network with random weights (the premise
   of transfer learning: without it the pretrained filters add nothing);
1. transfer learning (ImageNet weights) beats the conv autoencoder, and
   (1, second row) the gap is larger at the lowest SNR than at the highest;
2. ResNet backbones beat AlexNet and SqueezeNet;
3. GMM and OC-SVM beat the other detectors.

Verdicts
--------
``"supported"``
    The interval of the difference excludes 0 in the claim's direction.
``"contradicted"``
    It excludes 0 in the other direction.
``"inconclusive"``
    It contains 0: the data cannot tell.
``"not testable here"``
    The rows the check needs are missing; the evidence says which.

Only ImageNet-weight rows count as transfer learning in checks 1-3; random
weights are the control of check 0. Where a side holds several methods
(e.g. two detectors), they are averaged within each group and repeat
before the difference is taken (see :func:`soundad.evaluate.compare`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from soundad.data.groups import GROUP_COLUMNS, snr_db
from soundad.errors import ParameterError
from soundad.uncertainty import Comparison, paired_difference, unit_bootstrap

__all__ = ["CLAIMS", "VERDICTS", "check_claims", "verdict_values"]

#: (check, statement) of every row :func:`check_claims` returns, in order.
CLAIMS = (
    (0, "ImageNet weights beat the same network with random weights"),
    (1, "transfer learning (ImageNet weights) beats the conv autoencoder"),
    (1, "the transfer-learning advantage over the conv autoencoder is larger at the lowest SNR than at the highest"),
    (2, "ResNet beats AlexNet and SqueezeNet"),
    (3, "GMM and OC-SVM beat the other detectors"),
)
VERDICTS = ("supported", "contradicted", "inconclusive", "not testable here")
NOT_TESTABLE = VERDICTS[3]
_BASELINES = ("conv_ae", "dense_ae")
_SMALL = ("alexnet", "squeezenet")
_GOOD_DETECTORS = ("gmm", "ocsvm")


def _row(check: int, claim: str, verdict: str, evidence: str, *, estimate=np.nan, lo=np.nan, hi=np.nan,
         groups: int = 0) -> dict:
    return {"check": check, "claim": claim, "verdict": verdict, "estimate": float(estimate), "lo": float(lo),
            "hi": float(hi), "evidence": evidence, "groups": int(groups)}


def _present(units: pd.DataFrame, column: str) -> str:
    return ", ".join(sorted(map(str, units[column].unique()))) or "none"


class _Tester:
    """Paired differences on one shared set of bootstrap resamples of the scores table."""

    def __init__(self, scores: pd.DataFrame, *, n_boot: int, level: float, seed: int):
        self.units, self.boot = unit_bootstrap(scores, metric="auc", n_boot=n_boot, seed=seed)
        self.units["snr_value"] = self.units["snr"].map(snr_db)
        self.level, self.n_boot = level, n_boot
        self.clips = scores

    def interval(self, values: np.ndarray) -> tuple[float, float]:
        values = values[np.isfinite(values)]
        if self.n_boot == 0 or values.size == 0:
            return float("nan"), float("nan")
        lo, hi = np.quantile(values, [(1 - self.level) / 2, (1 + self.level) / 2])
        return float(lo), float(hi)

    def comparison(self, a: dict, b: dict, a_label: str, b_label: str, where=None) -> Comparison | None:
        estimate, diffs, common = paired_difference(self.units, self.boot, a, b, where)
        if common.empty:
            return None
        return self.make(a_label, b_label, estimate, diffs, common)

    def make(self, a_label: str, b_label: str, estimate: float, diffs: np.ndarray, common: pd.DataFrame):
        lo, hi = self.interval(diffs)
        groups = common[list(GROUP_COLUMNS)].drop_duplicates()
        clips = self.clips.merge(groups, on=list(GROUP_COLUMNS))
        return Comparison(a_label=a_label, b_label=b_label, metric="auc", estimate=estimate, lo=lo, hi=hi,
                          level=self.level, n_groups=len(groups), n_repeats=int(common["repeat"].nunique()),
                          n_clips=int(clips[[*GROUP_COLUMNS, "clip_id"]].drop_duplicates().shape[0]))


def _from(check: int, claim: str, c: Comparison, expect: str = "greater", note: str = "") -> dict:
    return _row(check, claim, c.verdict(expect), c.describe() + note, estimate=c.estimate, lo=c.lo, hi=c.hi,
                groups=c.n_groups)


def check_claims(scores: pd.DataFrame, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Give each claim a verdict from paired bootstrap comparisons on the test clips.

    Parameters
    ----------
    scores : pd.DataFrame
        ``scores.csv`` of :func:`soundad.reproduce.run_grid`: one row per
        (method, repeat, test clip) with ``clip_id, snr, machine, model_id,
        label, score, backbone, weights, detector`` (and ``repeat``).
        Baselines have ``backbone="conv_ae"``/``"dense_ae"`` and ``weights="none"``.
    n_boot : int >= 0, default=1000
        Bootstrap resamples (0: no intervals, every testable verdict
        "inconclusive").
    level : float in (0, 1), default=0.95
        Coverage of the intervals.
    seed : int, default=0
        Seed of the resampling: same scores and seed, same table.

    Returns
    -------
    verdicts : pd.DataFrame
        One row per entry of :data:`CLAIMS` (check 1 has two rows: the
        overall gap, then the lowest-SNR gap minus the highest-SNR gap):
        ``check`` (0-3), ``claim``, ``verdict`` (one of :data:`VERDICTS`),
        ``estimate`` (mean AUC difference, claimed-better minus other),
        ``lo``, ``hi`` (its interval; NaN when not testable), ``evidence``
        (one sentence with the estimate and interval, or which rows are
        missing) and ``groups`` (groups compared).

    Notes
    -----
    0. ``weights=imagenet`` vs ``weights=random`` on the backbones run with
       both, all detectors (each side averaged over backbones and detectors).
    1. ImageNet-weight transfer methods (all of them, averaged) vs
       ``conv_ae``; second row: that difference on the groups of the lowest
       SNR minus on those of the highest SNR, on the same resamples.
    2. ImageNet-weight ResNets (``resnet*``) vs ImageNet-weight AlexNet and
       SqueezeNet, all detectors.
    3. GMM and OC-SVM vs every other detector, on ImageNet-weight backbones.
    """
    if not isinstance(scores, pd.DataFrame):
        raise ParameterError(f"scores must be a pandas DataFrame, got {type(scores).__name__}")
    required = {"clip_id", *GROUP_COLUMNS, "label", "score", "backbone", "weights", "detector"}
    missing = sorted(required - set(scores.columns))
    if missing:
        raise ParameterError(
            f"scores table lacks column(s) {missing}; expected the scores.csv of soundad.reproduce.run_grid"
        )
    tester = _Tester(scores, n_boot=n_boot, level=level, seed=seed)
    rows = [_check_weights(tester), *_check_transfer(tester), _check_backbones(tester), _check_detectors(tester)]
    return pd.DataFrame(rows, columns=["check", "claim", "verdict", "estimate", "lo", "hi", "evidence", "groups"])


def _check_weights(t: _Tester) -> dict:
    check, claim = CLAIMS[0]
    units = t.units[~t.units["backbone"].isin(_BASELINES)]
    both = sorted(set(units.loc[units["weights"] == "imagenet", "backbone"])
                  & set(units.loc[units["weights"] == "random", "backbone"]))
    if not both:
        return _row(check, claim, NOT_TESTABLE, "not testable here: no backbone was run with both imagenet and "
                    f"random weights (backbone/weights rows present: {_pairs(units)})")
    where = t.units["backbone"].isin(both)
    detectors = _present(units[units["backbone"].isin(both)], "detector")
    c = t.comparison({"weights": "imagenet"}, {"weights": "random"}, "ImageNet weights",
                     f"random weights ({', '.join(both)}; detectors {detectors})", where)
    if c is None:
        return _row(check, claim, NOT_TESTABLE, "not testable here: no group and repeat holds both weights")
    return _from(check, claim, c)


def _pairs(units: pd.DataFrame) -> str:
    pairs = units[["backbone", "weights"]].drop_duplicates().sort_values(["backbone", "weights"])
    return ", ".join(f"{b}/{w}" for b, w in pairs.itertuples(index=False)) or "none"


def _check_transfer(t: _Tester) -> list[dict]:
    (check, claim), (_, claim_noise) = CLAIMS[1], CLAIMS[2]
    transfer = (t.units["weights"] == "imagenet") & ~t.units["backbone"].isin(_BASELINES)
    ae = t.units["backbone"] == "conv_ae"
    lacking = [what for what, mask in (("ImageNet-weight transfer rows (weights=imagenet)", transfer),
                                        ("conv autoencoder rows (backbone=conv_ae)", ae)) if not mask.any()]
    if lacking:
        text = f"not testable here: no {' and no '.join(lacking)}; backbone/weights present: {_pairs(t.units)}"
        return [_row(check, claim, NOT_TESTABLE, text), _row(check, claim_noise, NOT_TESTABLE, text)]
    a, b = {"weights": "imagenet"}, {"backbone": "conv_ae"}
    a_label = f"transfer learning (ImageNet weights: {_present(t.units[transfer], 'backbone')})"
    overall = t.comparison(a, b, a_label, "the conv autoencoder")
    if overall is None:
        text = "not testable here: no group and repeat holds both transfer learning and the conv autoencoder"
        return [_row(check, claim, NOT_TESTABLE, text), _row(check, claim_noise, NOT_TESTABLE, text)]
    rows = [_from(check, claim, overall)]
    snrs = sorted(t.units.loc[transfer | ae, "snr"].unique(), key=snr_db)
    if len(snrs) < 2:
        rows.append(_row(check, claim_noise, NOT_TESTABLE,
                         f"not testable here: only one SNR ({snrs[0]}) was run; the gap needs the lowest and the "
                         "highest SNR"))
        return rows
    low, high = snrs[0], snrs[-1]
    est_low, diff_low, common_low = paired_difference(t.units, t.boot, a, b, t.units["snr"] == low)
    est_high, diff_high, common_high = paired_difference(t.units, t.boot, a, b, t.units["snr"] == high)
    if common_low.empty or common_high.empty:
        rows.append(_row(check, claim_noise, NOT_TESTABLE,
                         f"not testable here: both methods are not present at {low} and at {high}"))
        return rows
    c = t.make(f"the gap at {low}", f"the gap at {high}", est_low - est_high, diff_low - diff_high,
               pd.concat([common_low, common_high], ignore_index=True))
    rows.append(_from(check, claim_noise, c, note=f"; gap {est_low:+.3f} at {low}, {est_high:+.3f} at {high}"))
    return rows


def _check_backbones(t: _Tester) -> dict:
    check, claim = CLAIMS[3]
    imagenet = t.units[t.units["weights"] == "imagenet"]
    resnets = sorted(b for b in imagenet["backbone"].unique() if str(b).startswith("resnet"))
    small = sorted(b for b in imagenet["backbone"].unique() if str(b).startswith(_SMALL))
    lacking = [what for what, have in (("ResNet", resnets), ("AlexNet or SqueezeNet", small)) if not have]
    if lacking:
        return _row(check, claim, NOT_TESTABLE,
                    f"not testable here: no {' and no '.join(lacking)} with ImageNet weights "
                    f"(backbone/weights present: {_pairs(t.units)})")
    c = t.comparison({"backbone": resnets}, {"backbone": small}, f"ResNet ({', '.join(resnets)})",
                     f"small networks ({', '.join(small)})", t.units["weights"] == "imagenet")
    if c is None:
        return _row(check, claim, NOT_TESTABLE, "not testable here: no group and repeat holds both families")
    return _from(check, claim, c)


def _check_detectors(t: _Tester) -> dict:
    check, claim = CLAIMS[4]
    transfer = (t.units["weights"] == "imagenet") & ~t.units["backbone"].isin(_BASELINES)
    present = set(t.units.loc[transfer, "detector"])
    if not transfer.any():
        return _row(check, claim, NOT_TESTABLE, "not testable here: no ImageNet-weight transfer rows "
                    f"(backbone/weights present: {_pairs(t.units)})")
    good = sorted(present & set(_GOOD_DETECTORS))
    others = sorted(present - set(_GOOD_DETECTORS))
    if not good or not others:
        what = "GMM or OC-SVM" if not good else "other detector (only GMM and OC-SVM were run)"
        return _row(check, claim, NOT_TESTABLE,
                    f"not testable here: no {what} on ImageNet-weight backbones (detectors present: "
                    f"{', '.join(sorted(present))})")
    c = t.comparison({"detector": good}, {"detector": others}, " and ".join(good), ", ".join(others), transfer)
    if c is None:
        return _row(check, claim, NOT_TESTABLE, "not testable here: no group and repeat holds both sides")
    return _from(check, claim, c)


def verdict_values(verdicts: pd.DataFrame, *, prefix: str) -> dict:
    """The values a page states for each row of :func:`check_claims`, by name (what the book glues).

    Parameters
    ----------
    verdicts : pd.DataFrame
        The table of :func:`check_claims`.
    prefix : str
        Start of every name, e.g. ``"ch06_check"``; row ``i`` gives
        ``<prefix><i>_verdict``, ``_sentence`` (:func:`soundad.narrate.verdict_sentence`),
        ``_estimate``, ``_lo`` and ``_hi`` (floats; None where the check is not testable).

    Returns
    -------
    dict of str to str, float or None
    """
    from soundad.narrate import verdict_sentence

    values = {}
    for i, (_, row) in enumerate(verdicts.iterrows()):  # one name per row: check 1 has two rows
        values[f"{prefix}{i}_verdict"] = str(row["verdict"])
        values[f"{prefix}{i}_sentence"] = verdict_sentence(row)
        for column in ("estimate", "lo", "hi"):
            value = float(row[column])
            values[f"{prefix}{i}_{column}"] = value if np.isfinite(value) else None
    return values
