"""Regression fixture: the same seed gives the same results.csv and scores.csv as before the redesign.

The fixture in ``tests/fixtures/grid_seed0/`` was written by :func:`run_small_grid`
on the code of main *before* the detectors/autoencoders redesign (issue 12).
Any refactoring that is meant to keep behaviour must leave both files byte for
byte identical: results.csv holds the AUCs and bootstrap intervals, scores.csv
every clip score at full precision (``%.17g``), so even a last-bit change in a
detector, an autoencoder or the feature extraction shows up.

The grid is small but touches every method: EfficientNet-Lite0 with ImageNet
and random weights, the five detectors, both autoencoder baselines (two
epochs), two repeated random splits, on 20 clips of the embedded real MIMII
sample (10 normal, 10 abnormal) at 64 px images.

One change of format is documented and applied to the fixture before
comparing: results.csv's column ``id`` was renamed ``model_id`` (issue 12,
"model_id everywhere"; same position). :func:`expected_bytes` applies exactly
that rename to the header line and nothing else; every other byte must match.

Regenerate (only when a change of results is intended, and say so in the
commit)::

    PYTHONPATH=. python tests/test_regression_grid.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "grid_seed0"
FILES = ("results.csv", "scores.csv")
#: Documented renames of header columns since the fixture was written: file -> {old: new}.
RENAMED_COLUMNS = {"results.csv": {"id": "model_id"}}


def expected_bytes(name: str) -> bytes:
    """The fixture file with the documented header renames applied (the header line only)."""
    data = (FIXTURE / name).read_bytes()
    renames = RENAMED_COLUMNS.get(name, {})
    if not renames:
        return data
    header, sep, body = data.partition(b"\n")
    fields = header.decode("utf-8").split(",")
    assert all(old in fields for old in renames), f"{name}: the fixture lacks a renamed column"
    return ",".join(renames.get(f, f) for f in fields).encode("utf-8") + sep + body


def run_small_grid(out: Path, *, front_end: str = "librosa"):
    """The fixture's grid (CPU, seed 0); writes results.csv and scores.csv into ``out``.

    The fixture was written with the librosa front end, then the CPU default;
    since the torch front end became the default (measured faster), the
    byte-for-byte comparison names librosa, and
    :func:`test_the_default_front_end_gives_the_fixture_s_aucs` checks the default.
    """
    from soundad.data import read_layout
    from soundad.data.embedded import embedded_sample_root
    from soundad.reproduce import run_grid

    clips = read_layout(embedded_sample_root()).sort_values("clip_id", kind="stable")
    clips = clips.groupby("label", sort=True).head(10).reset_index(drop=True)
    clips.attrs["name"] = "embedded-subset"
    return run_grid(
        clips,
        backbones=("efficientnet_lite0",),
        weights=("imagenet", "random"),
        detectors=("gmm", "ocsvm", "knn", "mahalanobis", "iforest"),
        baselines=("conv_ae", "dense_ae"),
        seed=0,
        repeats=2,
        n_boot=100,
        out=out,
        device="cpu",
        image_size=64,
        baseline_params={"conv_ae": {"max_epochs": 2}, "dense_ae": {"max_epochs": 2}},
        figures=False,
        progress=False,
        front_end=front_end,
    )


@pytest.mark.slow
def test_small_grid_matches_fixture_byte_for_byte(tmp_path):
    run_small_grid(tmp_path)
    for name in FILES:
        expected = expected_bytes(name)
        got = (tmp_path / name).read_bytes()
        if got != expected:
            exp_lines, got_lines = expected.decode().splitlines(), got.decode().splitlines()
            diff = [
                f"line {i + 1}:\n  fixture: {a}\n  now:     {b}"
                for i, (a, b) in enumerate(zip(exp_lines, got_lines))
                if a != b
            ]
            pytest.fail(
                f"{name} differs from tests/fixtures/grid_seed0/{name} "
                f"({len(exp_lines)} vs {len(got_lines)} lines); first differences:\n"
                + "\n".join(diff[:5])
            )


@pytest.mark.slow
def test_the_default_front_end_gives_the_fixture_s_aucs(tmp_path):
    """The torch front end (the CPU default) moves features by float32 rounding.

    Clip scores differ in their last digits (measured: median relative change
    3e-7, largest 5e-3), no two clips' scores cross, so every AUC, pAUC and
    interval end is the fixture's; the autoencoders, which do not read the
    backbone's features, give identical scores.
    """
    import numpy as np
    import pandas as pd

    run_small_grid(tmp_path, front_end="auto")
    got = pd.read_csv(tmp_path / "results.csv")
    ref = pd.read_csv(io.BytesIO(expected_bytes("results.csv")))
    columns = ["auc", "auc_lo", "auc_hi", "pauc", "pauc_lo", "pauc_hi"]
    pd.testing.assert_frame_equal(got[columns], ref[columns])
    got, ref = pd.read_csv(tmp_path / "scores.csv"), pd.read_csv(FIXTURE / "scores.csv")
    assert (got["clip_id"] == ref["clip_id"]).all() and (got["method"] == ref["method"]).all()
    baseline = got["method"].isin(["conv_ae", "dense_ae"])
    assert baseline.any() and (got["score"][baseline] == ref["score"][baseline]).all()
    rel = (np.abs(got["score"] - ref["score"]) / np.maximum(np.abs(ref["score"]), 1e-12))[~baseline]
    assert 0 < np.median(rel) < 1e-5  # not zero: the front end did change


def test_fixture_covers_every_method():
    import pandas as pd

    results = pd.read_csv(FIXTURE / "results.csv")
    assert set(results["detector"].dropna()) >= {"gmm", "ocsvm", "knn", "mahalanobis", "iforest"}
    assert {"conv_ae", "dense_ae"} <= set(results["method"])
    assert set(results["weights"].dropna()) >= {"imagenet", "random"}
    assert sorted(results["repeat"].unique()) == [0, 1]
    assert (results["status"] == "ok").all()


def test_the_documented_rename_changes_the_header_only():
    before = (FIXTURE / "results.csv").read_bytes()
    after = expected_bytes("results.csv")
    old_header, _, old_body = before.partition(b"\n")
    new_header, _, new_body = after.partition(b"\n")
    assert new_body == old_body
    old, new = old_header.decode().split(","), new_header.decode().split(",")
    assert [i for i, (a, b) in enumerate(zip(old, new)) if a != b] == [old.index("id")]
    assert new[old.index("id")] == "model_id" and len(old) == len(new)
    assert expected_bytes("scores.csv") == (FIXTURE / "scores.csv").read_bytes()


if __name__ == "__main__":  # regenerate the fixture
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run_small_grid(Path(tmp))
        FIXTURE.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copyfile(Path(tmp) / name, FIXTURE / name)
    print(f"wrote {', '.join(FILES)} to {FIXTURE}", file=sys.stderr)
