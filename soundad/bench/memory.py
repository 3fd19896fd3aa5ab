"""Peak resident memory of a pipeline run, each in a fresh Python process (chapter 06).

Two runs in one process would share a peak; :func:`measure_rss` starts a new
interpreter that runs :func:`rss_child` and prints its own ``ru_maxrss``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from soundad.errors import DataError

__all__ = ["measure_rss", "rss_child"]


def rss_child(argv: Sequence[str]) -> None:
    """Entry of the memory-measuring subprocess: run the pipeline, print peak RSS [bytes] as JSON."""
    import resource

    from soundad.bench.pipeline import extract_random
    from soundad.data import read_layout
    from soundad.features import ImageConfig, MelConfig, WindowConfig

    spec = json.loads(argv[0])
    clips = read_layout(spec["data"]).iloc[: spec["n_clips"]]
    configs = dict(mel=MelConfig(**spec["mel"]), window=WindowConfig(**spec["window"]),
                   image=ImageConfig(**spec["image"]))
    with tempfile.TemporaryDirectory() as cache:
        extract_random(clips, backbone=spec["backbone"], device=spec["device"], batch_size=spec["batch_size"],
                       cache_dir=cache, autocast=spec["autocast"], compile_mode=spec["compile_mode"], **configs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    print(json.dumps({"peak_rss_bytes": int(peak) * scale, "n_clips": int(len(clips))}))


def measure_rss(*, data: Path, n_clips: int, backbone: str, mel, window, image, device: str,
                batch_size: int, autocast: bool = False, compile_mode: str | None = None) -> dict:
    """``{"peak_rss_bytes", "n_clips"}`` of a pipeline run over the first ``n_clips`` under ``data``."""
    spec = dict(data=str(data), n_clips=n_clips, backbone=backbone, device=device, batch_size=batch_size,
                autocast=autocast, compile_mode=compile_mode,
                mel=dataclasses.asdict(mel), window=dataclasses.asdict(window), image=dataclasses.asdict(image))
    code = "import sys; from soundad.bench.memory import rss_child; rss_child(sys.argv[1:])"
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise DataError(f"the memory-measuring subprocess failed (exit {proc.returncode}): {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
