"""Self-checking exercises of chapter 01 (machine sounds and the MIMII data).

Each check computes the right answer from soundad itself, so it follows the
package if a rule changes, and works without any data set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from soundad.data import evaluation_mask, mimii_split, mix_at_snr, train_normal_mask
from soundad.exercises import register

__all__ = ["split_counts", "noise_power_change"]


def split_counts(n_normal: int, n_abnormal: int) -> tuple[int, int]:
    """(normal test clips, training clips) MIMII's rule gives one machine model.

    Builds a clips table of one (snr, machine, model_id) group and splits it
    with :func:`soundad.data.mimii_split`.
    """
    labels = ["normal"] * n_normal + ["abnormal"] * n_abnormal
    clips = pd.DataFrame({
        "clip_id": [f"0dB/fan/id_00/{lab}/{i:08d}.wav" for i, lab in enumerate(labels)],
        "snr": "0dB", "machine": "fan", "model_id": "id_00", "label": labels,
    })
    split = mimii_split(clips)
    normal_test = int((evaluation_mask(split) & (split["label"] == "normal")).sum())
    return normal_test, int(train_normal_mask(split).sum())


def _as_pair(answer) -> tuple[int, int] | None:
    try:
        first, second = answer
        return int(first), int(second)
    except (TypeError, ValueError):
        return None


@register(
    "ch01-split",
    hint="answer with a pair (normal test clips, training clips); the test set takes "
    "as many normal clips as there are abnormal ones",
)
def check_split(answer, **context) -> bool:
    """A model with 400 normal and 100 abnormal clips, split by MIMII's rule."""
    return _as_pair(answer) == split_counts(400, 100)


def noise_power_change(high_db: float = 6.0, low_db: float = -6.0, *, seed: int = 0) -> float:
    """How many dB more noise power the ``low_db`` mixture holds than the ``high_db`` one.

    Measured on the noise part of two :func:`soundad.data.mix_at_snr` mixtures
    (unnormalised) of the same seeded signal and noise.
    """
    rng = np.random.default_rng(seed)
    clean, noise = rng.standard_normal((2, 16000))
    parts = [mix_at_snr(clean, noise, snr_db=snr, normalise=False) - clean for snr in (high_db, low_db)]
    return float(10 * np.log10(np.mean(parts[1] ** 2) / np.mean(parts[0] ** 2)))


@register(
    "ch01-noise-power",
    hint="a number in dB: the SNR is 10 log10(machine power / noise power), and the "
    "machine sound stays the same",
)
def check_noise_power(answer, **context) -> bool:
    """The noise power change between the 6 dB and the -6 dB mixtures, in dB."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False
    return abs(value - noise_power_change()) < 0.05
