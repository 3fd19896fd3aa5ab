"""Run the chapter notebooks by papermill, with the CI's small offline parameters.

``python -m soundad.book execute --ci`` runs every chapter with
:func:`ci_parameters` into ``_build/executed`` and records each run time;
the tests read the executed copies back (:func:`soundad.book.glued_values`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterable, Mapping

from soundad._io import atomic_write_text

__all__ = ["SHARED_SAMPLE", "ci_parameters", "execute_notebooks"]

#: Where the real MIMII sample lives beside a checkout (CI and developer machines).
SHARED_SAMPLE = Path("..") / "shared" / "data" / "mimii-sample"


def ci_parameters(root: str | os.PathLike) -> dict[str, dict]:
    """Small, offline parameters for each chapter (what ``make test`` runs).

    The real MIMII sample beside the checkout (``../shared/data/mimii-sample``,
    or ``$SOUNDAD_CI_DATA``) is used where present, else the synthetic sounds.
    Every chapter's ``parameters`` cell documents what each name means.
    """
    from soundad.backbones import DEFAULT_BACKBONE

    root = Path(root).resolve()
    sample = os.environ.get("SOUNDAD_CI_DATA") or str((root / SHARED_SAMPLE).resolve())
    real = sample if Path(sample).is_dir() else "synthetic"
    common = {"DATA": real, "SEED": 0, "BACKBONE": DEFAULT_BACKBONE, "WEIGHTS": "imagenet"}
    return {
        "01_machine_sounds": {**common},
        "02_mel_images": {**common},
        # One machine model, 12 normal + 12 abnormal clips: the features are computed in
        # chapter 03 and come from the feature cache in chapters 04 and 05.
        "03_imagenet_features": {**common, "MAX_CLIPS": 24},
        "04_one_class_detectors": {**common, "MAX_CLIPS": 24, "N_BOOT": 200,
                                   "SIZES": [10, 40, 160]},
        "05_autoencoders": {**common, "MAX_CLIPS": 24, "EPOCHS": 4, "N_BOOT": 200},
        # Checks on the 24 clips of chapters 03-05 (their features come from the cache)
        # with a few repeated splits; a small synthetic grid for the SNR mechanics.
        "06_reproduction": {
            **common,
            "DETECTORS": ["gmm", "ocsvm", "knn"],
            "MAX_CLIPS": 24,
            "REPEATS": 3,
            "EPOCHS": 2,
            "N_BOOT": 200,
            "SYNTH_MACHINES": ["fan", "valve"],
            "SYNTH_SNRS": ["-6dB", "6dB"],
            "SYNTH_CLIPS": 6,
            "SYNTH_REPEATS": 2,
        },
        # DCASE-layout data: always the synthetic DCASE-2023-style clips here; two
        # network sizes keep the capacity comparison (largest vs smallest) in CI.
        "07_dcase_domain_shift": {
            **common,
            "DATA": "synthetic",
            "BACKBONES": ["efficientnet_lite0", "efficientnet_lite1"],
            "N_NORMAL": 8,
            "N_ABNORMAL": 5,
            "IMAGE_SIZE": 64,
            "N_BOOT": 200,
            "LAYER_REPEATS": 2,
            "LAYER_IMAGE_SIZE": 64,
        },
    }


def execute_notebooks(
    notebooks: Iterable[str | os.PathLike],
    *,
    out_dir: str | os.PathLike,
    parameters: Mapping[str, Mapping] | None = None,
    timeout: int = 1200,
    cwd: str | os.PathLike | None = None,
) -> dict[str, float]:
    """Execute notebooks by papermill into ``out_dir``; return seconds per notebook.

    Also writes ``out_dir/timings.json`` (``{stem: seconds}``, merged with an
    existing file) and prints one line per notebook.

    Parameters
    ----------
    notebooks : iterable of paths
        Source notebooks (with a cell tagged ``parameters``).
    out_dir : path
        Folder for the executed copies (same file names).
    parameters : mapping, optional
        ``stem -> {name: value}`` injected after the ``parameters`` cell.
    timeout : int [s], default=1200
        Limit per cell.
    cwd : path, optional
        Working directory of the kernels (default: each notebook's folder).
    """
    import papermill

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parameters = parameters or {}
    timings_path = out_dir / "timings.json"
    timings: dict[str, float] = {}
    if timings_path.is_file():
        timings = json.loads(timings_path.read_text(encoding="utf-8"))
    done: dict[str, float] = {}
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for nb in notebooks:
        nb = Path(nb)
        target = out_dir / nb.name
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(nb),
                str(target),
                parameters=dict(parameters.get(nb.stem, {})),
                kernel_name="python3",
                cwd=str(cwd or nb.parent),
                execution_timeout=timeout,
                progress_bar=False,
                report_mode=False,
            )
        finally:
            seconds = round(time.perf_counter() - start, 1)
            done[nb.stem] = timings[nb.stem] = seconds
            atomic_write_text(timings_path, json.dumps(timings, indent=2, sort_keys=True) + "\n")
            print(f"[soundad.book] {nb.name}: {seconds:.1f} s", flush=True)
    return done
