"""Check the three claims of Müller et al. (2021) against a results table (chapter 06).

The paper reports that, on MIMII,

1. frozen ImageNet features with a one-class detector beat the convolutional
   autoencoder, and most of all in noise (the gap is largest at -6 dB);
2. ResNet backbones beat AlexNet and SqueezeNet;
3. GMM and OC-SVM are the best detectors.

:func:`check_claims` reads a ``results.csv`` table of
:func:`soundad.reproduce.run_grid` and gives each claim a verdict computed from
the rows present: ``"supported"``, ``"not supported"`` or ``"evidence too
thin"``. Thin means the rows that would decide the claim are missing (e.g. only
random-weight ResNets offline, one SNR, no AlexNet/SqueezeNet, only GMM and
OC-SVM run) or too few groups were evaluated. Only ImageNet-weight rows count as
transfer learning; random-weight rows are controls.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from soundad.errors import ParameterError

__all__ = ["CLAIMS", "check_claims"]

#: Short statements of the paper's claims, in the order :func:`check_claims` returns them.
CLAIMS = (
    "transfer learning beats the conv autoencoder, most of all in noise",
    "ResNet beats AlexNet and SqueezeNet",
    "GMM and OC-SVM are the best detectors",
)
SUPPORTED, REFUTED, THIN = "supported", "not supported", "evidence too thin"

_SMALL_BACKBONES = ("alexnet", "squeezenet")


def _snr_value(snr: str) -> float:
    try:
        return float(str(snr).lower().replace("db", ""))
    except ValueError:
        return float("nan")


def _usable(results: pd.DataFrame) -> pd.DataFrame:
    required = {"snr", "machine", "backbone", "weights", "detector", "auc"}
    missing = required - set(results.columns)
    if missing:
        raise ParameterError(
            f"results table lacks column(s) {sorted(missing)}; expected the results.csv of soundad.reproduce.run_grid"
        )
    table = results.copy()
    table["auc"] = pd.to_numeric(table["auc"], errors="coerce")
    table = table[np.isfinite(table["auc"])]
    if "id" not in table.columns:
        table["id"] = table["model_id"] if "model_id" in table.columns else "-"
    table["group"] = table["snr"].astype(str) + "/" + table["machine"].astype(str) + "/" + table["id"].astype(str)
    return table


def _row(claim: str, verdict: str, evidence: str, n_groups: int) -> dict:
    return {"claim": claim, "verdict": verdict, "evidence": evidence, "groups": int(n_groups)}


def check_claims(results: pd.DataFrame, *, min_groups: int = 2) -> pd.DataFrame:
    """Give each of the paper's three claims a verdict on the rows present.

    Parameters
    ----------
    results : pd.DataFrame
        ``results.csv`` of :func:`soundad.reproduce.run_grid`: one row per
        (snr, machine, id, method) with ``backbone, weights, detector, auc``.
        Baseline rows have ``backbone="conv_ae"`` (or ``"dense_ae"``).
    min_groups : int >= 1, default=2
        Fewest evaluated (snr, machine, id) groups a comparison needs before it
        counts as evidence.

    Returns
    -------
    verdicts : pd.DataFrame
        One row per claim (in the order of :data:`CLAIMS`): ``claim``,
        ``verdict`` ∈ {"supported", "not supported", "evidence too thin"},
        ``evidence`` (the numbers behind it, in words) and ``groups``
        (groups the comparison used).

    Notes
    -----
    Comparisons use mean AUC over the groups both sides were evaluated on.

    1. The best ImageNet transfer method (backbone + detector, by mean AUC)
       against ``conv_ae``: supported when it is better overall *and* its
       advantage at the lowest SNR exceeds the one at the highest SNR (needs
       at least two SNRs; with one SNR the noise half is too thin).
    2. The best ResNet against the best AlexNet/SqueezeNet, ImageNet weights,
       mean over detectors.
    3. Mean AUC per detector over ImageNet-weight backbones: supported when
       GMM and OC-SVM are both above every other detector run (needs at least
       one other detector).
    """
    if isinstance(min_groups, bool) or not isinstance(min_groups, (int, np.integer)) or min_groups < 1:
        raise ParameterError(f"min_groups must be an integer >= 1, got {min_groups!r}")
    table = _usable(results)
    transfer = table[(table["weights"] == "imagenet") & ~table["backbone"].isin(["conv_ae", "dense_ae"])]
    return pd.DataFrame(
        [
            _claim_transfer(table, transfer, min_groups),
            _claim_backbones(transfer, min_groups),
            _claim_detectors(transfer, min_groups),
        ]
    )


def _claim_transfer(table: pd.DataFrame, transfer: pd.DataFrame, min_groups: int) -> dict:
    claim = CLAIMS[0]
    ae = table[table["backbone"] == "conv_ae"]
    if transfer.empty:
        return _row(claim, THIN, "no ImageNet-weight transfer results (random weights do not test the claim)", 0)
    if ae.empty:
        return _row(claim, THIN, "no conv autoencoder results", 0)
    means = transfer.groupby(["backbone", "detector"])["auc"].mean().sort_values(ascending=False)
    backbone, detector = means.index[0]
    best = transfer[(transfer["backbone"] == backbone) & (transfer["detector"] == detector)]
    both = best.merge(ae[["group", "snr", "auc"]], on=["group", "snr"], suffixes=("_tl", "_ae"))
    n = both["group"].nunique()
    if n < min_groups:
        return _row(claim, THIN, f"only {n} group(s) with both methods (need {min_groups})", n)
    gap = both["auc_tl"] - both["auc_ae"]
    name = f"{backbone} + {detector}"
    overall = (f"{name}: mean AUC {both['auc_tl'].mean():.3f} vs conv AE {both['auc_ae'].mean():.3f} "
               f"over {n} groups")
    if gap.mean() <= 0:
        return _row(claim, REFUTED, overall + "; the autoencoder is as good or better", n)
    per_snr = gap.groupby(both["snr"]).mean()
    if len(per_snr) < 2:
        return _row(claim, THIN, overall + f"; transfer wins, but only one SNR ({per_snr.index[0]}) is present, "
                    "so 'most of all in noise' cannot be checked", n)
    order = sorted(per_snr.index, key=_snr_value)
    low, high = order[0], order[-1]
    noise = f"; AUC gap {per_snr[low]:+.3f} at {low} vs {per_snr[high]:+.3f} at {high}"
    if per_snr[low] > per_snr[high]:
        return _row(claim, SUPPORTED, overall + noise, n)
    return _row(claim, REFUTED, overall + noise + " (transfer wins, but not most in noise)", n)


def _claim_backbones(transfer: pd.DataFrame, min_groups: int) -> dict:
    claim = CLAIMS[1]
    resnet = transfer[transfer["backbone"].str.startswith("resnet")]
    small = transfer[transfer["backbone"].str.startswith(_SMALL_BACKBONES)]
    if resnet.empty:
        return _row(claim, THIN, "no ResNet with ImageNet weights (offline, only random-weight ResNets can run)", 0)
    if small.empty:
        return _row(claim, THIN, "no AlexNet or SqueezeNet with ImageNet weights", 0)
    groups = sorted(set(resnet["group"]) & set(small["group"]))
    if len(groups) < min_groups:
        return _row(claim, THIN, f"only {len(groups)} group(s) with both families (need {min_groups})", len(groups))
    per_backbone = transfer[transfer["group"].isin(groups)].groupby("backbone")["auc"].mean()
    best_resnet = per_backbone[per_backbone.index.str.startswith("resnet")].sort_values().index[-1]
    best_small = per_backbone[per_backbone.index.str.startswith(_SMALL_BACKBONES)].sort_values().index[-1]
    evidence = (f"best ResNet {best_resnet} {per_backbone[best_resnet]:.3f} vs best small network {best_small} "
                f"{per_backbone[best_small]:.3f} (mean AUC over detectors, {len(groups)} groups)")
    verdict = SUPPORTED if per_backbone[best_resnet] > per_backbone[best_small] else REFUTED
    return _row(claim, verdict, evidence, len(groups))


def _claim_detectors(transfer: pd.DataFrame, min_groups: int) -> dict:
    claim = CLAIMS[2]
    if transfer.empty:
        return _row(claim, THIN, "no ImageNet-weight transfer results", 0)
    present = set(transfer["detector"])
    if not {"gmm", "ocsvm"} <= present:
        return _row(claim, THIN, f"GMM and OC-SVM not both run (detectors: {', '.join(sorted(present))})", 0)
    others = sorted(present - {"gmm", "ocsvm"})
    if not others:
        return _row(claim, THIN, "only GMM and OC-SVM were run: nothing to compare them with",
                    transfer["group"].nunique())
    n = transfer["group"].nunique()
    if n < min_groups:
        return _row(claim, THIN, f"only {n} group(s) evaluated (need {min_groups})", n)
    means = transfer.groupby("detector")["auc"].mean().sort_values(ascending=False)
    evidence = "mean AUC " + ", ".join(f"{d} {v:.3f}" for d, v in means.items()) + f" ({n} groups)"
    best_other = means[others].max()
    verdict = SUPPORTED if min(means["gmm"], means["ocsvm"]) > best_other else REFUTED
    return _row(claim, verdict, evidence, n)
