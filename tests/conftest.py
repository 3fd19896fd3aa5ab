"""Shared fixtures: a tiny synthetic dataset and the real MIMII sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from soundad.data import write_synthetic_dataset

#: Settings of the ``synthetic_root`` fixture (tests may read them for counts).
SYNTHETIC_FIXTURE = {
    "machines": ("fan", "valve"),
    "model_ids": ("id_00",),
    "snrs": ("-6dB", "6dB"),
    "n_normal": 6,
    "n_abnormal": 3,
    "duration": 2.0,
    "sr": 16000,
    "seed": 0,
}


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A tiny synthetic MIMII-layout dataset: 2 machines × 1 id × 2 SNRs × (6 normal + 3 abnormal) clips of 2 s."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), **SYNTHETIC_FIXTURE)


@pytest.fixture(scope="session")
def mimii_sample_root() -> Path:
    """The 40 real MIMII clips of ``../shared/data/mimii-sample`` (0dB/fan/id_00); skips if absent."""
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mimii-sample"
    if not root.is_dir():
        pytest.skip(f"MIMII sample not found at {root}")
    return root


#: Figures tests measured (calibration rates, interval lines), printed after the results.
_REPORTED: list[str] = []


@pytest.fixture
def report():
    """``report(line)`` puts one measured figure into the run's summary, after the test results."""
    return _REPORTED.append


def pytest_terminal_summary(terminalreporter):
    if _REPORTED:
        terminalreporter.section("figures measured by the tests")
        for line in _REPORTED:
            terminalreporter.write_line(line)
