"""The chapter notebooks: clean in git, and they run top to bottom with the CI parameters.

The executed copies land in ``_build/executed/`` (with ``timings.json``); the book
test (``test_book.py``) builds the book from them without running them again.
Set ``SOUNDAD_REEXECUTE=1`` to force a fresh run even when the executed copies
are newer than the notebooks and the package.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("papermill")

from soundad.book import ci_parameters, execute_notebooks, glued_values, list_notebooks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = ROOT / "_build" / "executed"
NOTEBOOKS = list_notebooks(ROOT)
STEMS = [nb.stem for nb in NOTEBOOKS]
_STATE: dict[str, object] = {}


def _newest_source_mtime() -> float:
    files = [*NOTEBOOKS, *(ROOT / "soundad").rglob("*.py")]
    return max(f.stat().st_mtime for f in files)


def ensure_executed() -> dict[str, Path]:
    """Execute every notebook once per test session (reused while up to date)."""
    if "paths" in _STATE:
        return _STATE["paths"]  # type: ignore[return-value]
    targets = {nb.stem: EXECUTED / nb.name for nb in NOTEBOOKS}
    newest = _newest_source_mtime()
    stale = [nb for nb in NOTEBOOKS
             if os.environ.get("SOUNDAD_REEXECUTE") or not targets[nb.stem].is_file()
             or targets[nb.stem].stat().st_mtime < newest
             or _has_error(targets[nb.stem])]
    if stale:
        # A cache of its own (synthetic data, features, grid cells): a run never depends on ~/.cache.
        os.environ.setdefault("SOUNDAD_CACHE", str(ROOT / "_build" / "soundad-cache"))
        execute_notebooks(stale, out_dir=EXECUTED, parameters=ci_parameters(ROOT), timeout=900)
    _STATE["paths"] = targets
    return targets


def _has_error(path: Path) -> bool:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return any(o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", []))


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _value(bundle: dict):
    text = bundle.get("text/plain")
    assert text is not None, f"glued value has no text/plain representation: {bundle}"
    return ast.literal_eval(text)


# ----------------------------------------------------------------------------- static checks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_notebook_is_committed_without_outputs(path):
    nb = _read(path)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name} cell {i} has outputs: clear them before committing"
        assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_notebook_has_install_and_parameters_cells(path):
    import yaml

    nb = _read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    install, params = code[0], code[1]
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert "google.colab" in install.source and f'REPOSITORY_URL = "{url}"' in install.source, (
        f"{path.name}: the first code cell must be the Colab-only install cell using repository.url {url}"
    )
    assert "parameters" in params.metadata.get("tags", []), f"{path.name}: 2nd code cell must be tagged 'parameters'"
    names = {}
    for node in ast.parse(params.source).body:
        assert isinstance(node, ast.Assign), f"{path.name}: parameters cell may only assign literals"
        names[node.targets[0].id] = ast.literal_eval(node.value)  # raises if not a literal
    assert {"DATA", "SEED", "BACKBONE", "WEIGHTS"} <= set(names), f"{path.name}: missing common parameters"
    assert names["DATA"] == "auto", f"{path.name}: the default must be DATA = 'auto'"
    unknown = set(ci_parameters(ROOT)[path.stem]) - set(names)
    assert not unknown, f"{path.name}: CI sets parameters the notebook does not declare: {unknown}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_notebook_ends_with_exercises_and_solutions(path):
    nb = _read(path)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    exercises = re.findall(r"^`{3,}\{exercise\}.*\n:label: (\S+)", text, flags=re.M)
    solutions = re.findall(r"^`{3,}\{solution\} (\S+)", text, flags=re.M)
    assert 2 <= len(exercises) <= 4, f"{path.name}: expected 2-4 exercises, found {len(exercises)}"
    assert sorted(solutions) == sorted(exercises), f"{path.name}: every exercise needs one solution"
    assert "## Exercises" in nb.cells[-1].source or any("## Exercises" in c.source for c in nb.cells[-6:]), (
        f"{path.name}: the exercises belong at the end"
    )


def test_notebooks_import_the_package_not_define_it():
    # Narrative, plots and calls: a notebook must import soundad and define at most tiny helpers.
    for path in NOTEBOOKS:
        source = "\n".join(c.source for c in _read(path).cells if c.cell_type == "code")
        assert "from soundad" in source, f"{path.name} does not use the package"
        assert len(re.findall(r"^def ", source, flags=re.M)) <= 2, f"{path.name}: move helpers into soundad/"
        assert "class " not in source, f"{path.name}: move classes into soundad/"


#: ``notebooks/NN_name`` (with or without the folder, e.g. ``06_reproduction``) in prose.
_NOTEBOOK_REFERENCE = re.compile(r"(?<![\w/.-])(?:notebooks/)?(\d\d_[a-z][a-z0-9_]*)")


def notebook_references(text: str) -> list[str]:
    """Names like ``04_one_class_detectors`` that ``text`` cites as notebooks."""
    return _NOTEBOOK_REFERENCE.findall(text)


def test_notebook_reference_finder():
    text = "see ``notebooks/04_detectors``, ``06_reproduce`` and notebooks/01_machine_sounds.ipynb"
    assert notebook_references(text) == ["04_detectors", "06_reproduce", "01_machine_sounds"]
    assert notebook_references("ch04_auc_gmm, section_00_source, 2024_01_x") == []


def test_every_cited_notebook_exists():
    # Docstrings, book pages and the README name only notebooks that exist.
    files = [*sorted((ROOT / "soundad").rglob("*.py")), *sorted((ROOT / "book").glob("*.md")),
             ROOT / "README.md"]
    wrong = [
        f"{path.relative_to(ROOT)}:{number}: {name}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for name in notebook_references(line)
        if name not in STEMS
    ]
    assert not wrong, f"references to notebooks that do not exist (have: {STEMS}):\n" + "\n".join(wrong)


# ----------------------------------------------------------------------------- execution
@pytest.mark.slow
def test_every_notebook_runs_with_ci_parameters():
    paths = ensure_executed()
    timings = json.loads((EXECUTED / "timings.json").read_text())
    for stem, path in paths.items():
        assert path.is_file(), f"{stem} was not executed"
        assert not _has_error(path), f"{stem} has an error output"
        assert stem in timings and timings[stem] > 0
    print("notebook execution times [s]:", {s: timings[s] for s in STEMS})


def _outputs(path: Path):
    nb = _read(path)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_executed_notebook_shows_data_figures_and_tables(stem):
    path = ensure_executed()[stem]
    outputs = _outputs(path)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{stem}: no figure was drawn"
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "Data used in this chapter:" in text, f"{stem}: the notebook must print which data it used"
    tables = [o for o in outputs if "text/html" in o.get("data", {}) and "<table" in "".join(o["data"]["text/html"])]
    assert tables, f"{stem}: expected at least one table"


def _glued(stem: str) -> dict:
    return {k: _value(v) for k, v in glued_values(ensure_executed()[stem]).items()}


def _auc(value) -> float:
    assert isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 1.0, f"not an AUC: {value!r}"
    return value


@pytest.mark.slow
def test_chapter01_results():
    g = _glued("01_machine_sounds")
    assert g["ch01_n_clips"] == g["ch01_n_train"] + g["ch01_n_test"]
    assert g["ch01_n_train"] > 0 and g["ch01_n_test"] > 0 and g["ch01_n_groups"] >= 1
    assert g["ch01_snr_error_db"] < 1e-3  # the mixing formula hits the target SNR
    assert g["ch01_mix_package_diff"] < 1e-4  # soundad.data.mix_at_snr matches the inline derivation


@pytest.mark.slow
def test_chapter02_results():
    g = _glued("02_mel_images")
    assert g["ch02_mel_max_diff_db"] < 1e-2  # hand-made mel matches soundad.features.compute_mel
    assert g["ch02_n_windows"] == 1 + (g["ch02_n_frames"] - 64) // 32
    assert g["ch02_image_size"] > 0


@pytest.mark.slow
def test_chapter03_results():
    g = _glued("03_imagenet_features")
    _auc(g["ch03_auc_imagenet"])
    _auc(g["ch03_auc_random"])
    assert g["ch03_feature_dim"] > 0


@pytest.mark.slow
def test_chapter04_results():
    g = _glued("04_one_class_detectors")
    detectors = ci_parameters(ROOT)["04_one_class_detectors"].get("DETECTORS") or [
        "gmm", "ocsvm", "knn", "mahalanobis", "iforest"]
    for name in detectors:
        _auc(g[f"ch04_auc_{name}"])
        _auc(g[f"ch04_pauc_{name}"])
    assert g["ch04_n_detectors"] == len(detectors)
    assert g["ch04_best_detector"] in detectors
    assert abs(g["ch04_auc_by_hand"] - g["ch04_auc_gmm"]) < 1e-9  # counting pairs == soundad's AUC
    assert g["ch04_sweep_rows"] >= 2


@pytest.mark.slow
def test_chapter05_results():
    g = _glued("05_autoencoders")
    for key in ("ch05_auc_conv_ae", "ch05_auc_dense_ae", "ch05_auc_transfer"):
        _auc(g[key])


@pytest.mark.slow
def test_chapter06_results():
    g = _glued("06_reproduction")
    verdicts = {"supported", "contradicted", "inconclusive", "not testable here"}
    for i in range(g["ch06_n_checks"]):
        assert g[f"ch06_check{i}_verdict"] in verdicts
        assert g[f"ch06_synth_check{i}_verdict"] in verdicts
    # Offline there is no ResNet with ImageNet weights: the backbone check cannot be decided.
    backbone_rows = [i for i in range(g["ch06_n_checks"])
                     if g[f"ch06_check{i}_sentence"].startswith("Check 2 ")]
    assert backbone_rows and g[f"ch06_check{backbone_rows[0]}_verdict"] == "not testable here"
    assert g["ch06_repeats"] == ci_parameters(ROOT)["06_reproduction"]["REPEATS"]
    assert g["ch06_published_rows"] > 0
    assert 0 < g["ch06_projected_hours_gpu_minutes"] < 60 * g["ch06_projected_hours_cpu"]
    hours = g["ch06_projected_hours_cpu"]
    assert math.isfinite(hours) and hours > 0
