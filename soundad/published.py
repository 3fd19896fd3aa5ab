"""Published reference numbers that chapter 06 shows beside the reader's own.

These are other people's results, stored as data with their source so that a
page can label them "published" and cite them. Nothing here is computed by
soundad; the numbers are copied from the cited documents.

* :func:`mimii_baseline_auc` -- the dense autoencoder baseline of the MIMII
  dataset (Purohit et al. 2019), fan model IDs at -6/0/6 dB, from the
  "sample result" of the baseline's readme (github.com/MIMII-hitachi/mimii_baseline,
  version 1.0.2). Only the values listed there are included.
* :func:`dcase2020_baseline` -- the DCASE 2020 Challenge Task 2 autoencoder
  baseline, mean AUC and pAUC per machine type over the development set's
  machine IDs (Koizumi et al. 2020). Its pAUC was computed with
  scikit-learn's ``roc_auc_score(max_fpr=0.1)``, i.e. McClish-corrected (a
  random detector scores 0.5); soundad's own pAUC is not corrected, so compare
  it after :func:`soundad.evaluate.mcclish_pauc`.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "MIMII_BASELINE_CITATION",
    "DCASE2020_CITATION",
    "mimii_baseline_auc",
    "dcase2020_baseline",
]

#: Where the MIMII baseline numbers come from (bib key ``mimii2019baseline``).
MIMII_BASELINE_CITATION = (
    "MIMII dataset baseline, readme 'sample result' (Ver. 1.0.2), "
    "github.com/MIMII-hitachi/mimii_baseline; Purohit et al. 2019"
)
#: Where the DCASE 2020 Task 2 baseline numbers come from (bib key ``koizumi2020dcase``).
DCASE2020_CITATION = (
    "DCASE 2020 Challenge Task 2 baseline, development set; Koizumi et al. 2020"
)

# (machine, model_id, snr) -> AUC, rounded to three decimals as quoted in the book.
_MIMII_BASELINE = {
    ("fan", "id_00", "-6dB"): 0.576,
    ("fan", "id_00", "0dB"): 0.634,
    ("fan", "id_00", "6dB"): 0.745,
    ("fan", "id_02", "-6dB"): 0.640,
    ("fan", "id_02", "0dB"): 0.856,
    ("fan", "id_02", "6dB"): 0.993,
    ("fan", "id_04", "-6dB"): 0.572,
    ("fan", "id_04", "0dB"): 0.730,
    ("fan", "id_04", "6dB"): 0.869,
    ("fan", "id_06", "0dB"): 0.982,
}

# machine type -> (mean AUC, mean pAUC) over the development set's machine IDs.
_DCASE2020_BASELINE = {
    "fan": (0.652, 0.526),
    "pump": (0.726, 0.600),
    "slider": (0.850, 0.669),
    "valve": (0.665, 0.506),
    "ToyCar": (0.801, 0.672),
    "ToyConveyor": (0.727, 0.607),
}


def mimii_baseline_auc() -> pd.DataFrame:
    """The MIMII baseline's published AUCs (dense autoencoder, fan).

    Returns
    -------
    table : pd.DataFrame
        One row per published value: ``machine``, ``model_id``, ``snr``,
        ``auc`` (in [0, 1]), ``source`` ("published") and ``citation``.
    """
    rows = [
        {"machine": m, "model_id": i, "snr": s, "auc": auc}
        for (m, i, s), auc in _MIMII_BASELINE.items()
    ]
    table = pd.DataFrame(rows)
    table["source"] = "published"
    table["citation"] = MIMII_BASELINE_CITATION
    return table


def dcase2020_baseline() -> pd.DataFrame:
    """The DCASE 2020 Task 2 baseline's published development-set means.

    Returns
    -------
    table : pd.DataFrame
        One row per machine type: ``machine``, ``auc``, ``pauc`` (pAUC at
        FPR <= 0.1, McClish-corrected as published; both in [0, 1]),
        ``source`` ("published") and ``citation``.
    """
    rows = [
        {"machine": m, "auc": auc, "pauc": pauc}
        for m, (auc, pauc) in _DCASE2020_BASELINE.items()
    ]
    table = pd.DataFrame(rows)
    table["source"] = "published"
    table["citation"] = DCASE2020_CITATION
    return table
