"""The grid's cell store: paths, atomic round trip, and fingerprints from cache.settings_digest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from soundad.backbones import BackboneConfig
from soundad.cache import settings_digest
from soundad.reproduce.cells import CELL_VERSION, CellStore, cell_fingerprint
from soundad.reproduce.plan import Method, Unit, repeat_seed

METHOD = Method("resnet18", "random", "default", "gmm")
UNIT = Unit(0, ("0dB", "fan", "id_00"))
SETTINGS = {"mel": {"n_mels": 64}, "window": {"length": 32}, "image": {"size": 32}, "channel": 0, "seed": 3}


def group(split=("train", "test", "test")) -> pd.DataFrame:
    return pd.DataFrame({"clip_id": ["a", "b", "c"], "label": ["normal", "normal", "abnormal"],
                         "split": list(split), "path": ["pa", "pb", "pc"]})


def test_cell_paths_name_method_group_and_repeat(tmp_path):
    store = CellStore(tmp_path)
    assert store.path(METHOD, UNIT) == tmp_path / "cells" / "resnet18__random__gmm" / "0dB__fan__id_00.json"
    assert store.path(Method.baseline("conv_ae"), Unit(2, UNIT.key)).name == "0dB__fan__id_00__r2.json"
    assert Unit(2, UNIT.key).name == "0dB/fan/id_00 r2" and UNIT.name == "0dB/fan/id_00"


def test_written_cell_reads_back_bit_for_bit_and_only_with_its_fingerprint(tmp_path):
    store = CellStore(tmp_path)
    scores = pd.Series([0.1 + 0.2, np.pi, -1e-300], index=["c", "a", "b"])
    store.write(METHOD, UNIT, "f" * 64, scores=scores, n_train=1, n_train_windows=7, seconds=0.5)
    cell = store.read(METHOD, UNIT, "f" * 64)
    assert cell["version"] == CELL_VERSION and cell["n_train_windows"] == 7
    assert list(cell["scores"]) == ["a", "b", "c"]  # sorted by clip id
    assert [cell["scores"][k] for k in ("c", "a", "b")] == list(scores)  # exact floats
    assert store.read(METHOD, UNIT, "0" * 64) is None  # other inputs: recomputed
    assert store.read(METHOD, Unit(1, UNIT.key), "f" * 64) is None  # no file
    assert [p.name for p in store.path(METHOD, UNIT).parent.iterdir()] == ["0dB__fan__id_00.json"]  # no .part left


def test_half_written_and_old_version_cells_are_not_read(tmp_path):
    store = CellStore(tmp_path)
    path = store.path(METHOD, UNIT)
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 2, "scores": {')
    assert store.read(METHOD, UNIT, "f" * 64) is None
    old = {"version": 1, "fingerprint": "f" * 64, "scores": {"a": 1.0}}  # the fingerprint scheme before
    path.write_text(json.dumps(old))
    assert store.read(METHOD, UNIT, "f" * 64) is None


def test_fingerprint_is_the_settings_digest_of_what_determines_the_scores():
    fp = cell_fingerprint(METHOD, UNIT, group(), settings=SETTINGS, params={"n_components": 2})
    payload = {"method": {"backbone": "resnet18", "weights": "random", "layer": "default", "detector": "gmm"},
               "clips": [["a", "normal", "train"], ["b", "normal", "test"], ["c", "abnormal", "test"]],
               "settings": SETTINGS, "params": {"n_components": 2}}
    assert fp == settings_digest(payload)
    again = dict(settings=SETTINGS, params={"n_components": 2})
    assert cell_fingerprint(METHOD, UNIT, group(), **again) == fp
    assert cell_fingerprint(METHOD, UNIT, group(("test", "train", "test")), **again) != fp  # another split
    assert cell_fingerprint(METHOD, UNIT, group(), settings=SETTINGS, params={"n_components": 3}) != fp
    assert cell_fingerprint(METHOD, UNIT, group(), settings={**SETTINGS, "seed": 4}, params=again["params"]) != fp
    repeat = cell_fingerprint(METHOD, Unit(1, UNIT.key), group(), **again)
    assert repeat == settings_digest({**payload, "repeat": [1, repeat_seed(3, 1)]})


def test_fingerprint_of_a_backbone_ignores_where_it_runs_not_what_it_computes():
    def fp(model):
        return cell_fingerprint(METHOD, UNIT, group(), settings=SETTINGS, params={}, model=model)

    base = BackboneConfig(name="resnet18", weights="random")
    assert fp(base.replace(device="cuda", batch_size=64, num_workers=4)) == fp(base)
    assert fp(base.replace(half=True)) != fp(base)
    assert fp(base.replace(front_end="torch")) != fp(base)


@pytest.mark.parametrize("bad", [{"version": 2}, [], "text"])
def test_cells_of_another_shape_are_not_read(tmp_path, bad):
    store = CellStore(tmp_path)
    path = store.path(METHOD, UNIT)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(bad))
    assert store.read(METHOD, UNIT, "f" * 64) is None
