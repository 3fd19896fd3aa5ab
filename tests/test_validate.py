"""soundad.validate: the checks the command line runs before any work."""

from __future__ import annotations

import pytest
import torch

import soundad.validate as validate
from soundad.errors import ParameterError


def test_seed_range():
    assert validate.check_seed(0) == 0 and validate.check_seed(2**32 - 1) == 2**32 - 1
    for bad in (-1, 2**32, 1.5, True, "3"):
        with pytest.raises(ParameterError, match="from 0 to 4294967295"):
            validate.check_seed(bad)


def test_image_size_bounds_per_backbone():
    validate.check_image_size(32, backbones=["resnet18"], batch_size=1, device="cpu")
    with pytest.raises(ParameterError, match="alexnet needs images of at least 63 px"):
        validate.check_image_size(40, backbones=["resnet18", "alexnet"], batch_size=1, device="cpu")
    with pytest.raises(ParameterError, match="above the maximum of 1024 px"):
        validate.check_image_size(1025, backbones=["resnet18"], batch_size=1, device="cpu")
    validate.check_image_size(None, backbones=["efficientnet_lite0"], batch_size=8, device="cpu")  # 224


def test_image_size_memory_estimate(monkeypatch):
    monkeypatch.setattr(validate, "available_memory", lambda device: 2 * 2**30)  # 2 GiB free
    validate.check_image_size(224, backbones=["resnet18"], batch_size=8, device="cpu")  # ~0.15 GiB
    with pytest.raises(ParameterError, match=r"needs about 3\.1 GiB .* only 2\.0 GiB is free on cpu; use a smaller "
                                             r"--batch-size or --image-size"):
        validate.check_image_size(1024, backbones=["resnet18"], batch_size=8, device="cpu")
    assert validate.activation_bytes(batch_size=8, size=1024) == 8 * 1024**2 * 400


def test_available_memory_is_positive():
    assert validate.available_memory("cpu") > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_devices_this_build_lacks():
    with pytest.raises(ParameterError, match="--device cuda: this torch build"):
        validate.check_device("cuda")
    assert validate.check_device("cpu") == "cpu" and validate.check_device("auto") == "auto"
    with pytest.raises(ParameterError, match="is not a device"):
        validate.check_device("tpu")


def test_mps_only_where_built():
    backend = getattr(torch.backends, "mps", None)
    if backend is not None and backend.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(ParameterError, match="--device mps"):
        validate.check_device("mps")


def test_writable_dir(tmp_path):
    assert validate.check_writable_dir(tmp_path / "new" / "deeper", option="--out") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # nothing created, the probe file removed
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "f").write_text("x")
    with pytest.raises(ParameterError, match="--out '.*f' is a file, expected a directory"):
        validate.check_writable_dir(tmp_path / "f", option="--out")
    with pytest.raises(ParameterError, match="cannot be created: '.*f' is a file, not a directory"):
        validate.check_writable_dir(tmp_path / "f" / "sub", option="--out")


def test_backbone_names():
    validate.check_backbone_names(["resnet18", "efficientnet_lite0"])
    with pytest.raises(ParameterError, match="unknown backbone\\(s\\) foo, bar"):
        validate.check_backbone_names(["foo", "resnet18", "bar"])


def test_extract_features_checks_image_size_with_python_names():
    from soundad.extract import extract_features
    from soundad.features import ImageConfig

    with pytest.raises(ParameterError, match=r"ImageConfig.size 7: efficientnet_lite0 needs images of at least 32 px; "
                                             r"use ImageConfig.size 32 or more"):
        extract_features(["never-read.wav"], image=ImageConfig(size=7), device="cpu", progress=False)
