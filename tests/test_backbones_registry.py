"""The backbone registry (soundad.backbones.registry), the offline rule for weights, load_backbone(config)."""

from __future__ import annotations

import ast
import functools
import hashlib
import http.server
import threading
import types
from pathlib import Path

import pytest
import torch

import soundad.backbones.registry as registry
from soundad.backbones import (
    BACKBONES,
    DEFAULT_BACKBONE,
    DEFAULT_LAYERS,
    LITE_MODELS,
    TORCHVISION_BACKBONES,
    BackboneConfig,
    LiteWeights,
    TorchvisionWeights,
    check_weights_available,
    get_model,
    get_model_weights,
    list_layers,
    list_models,
    load_backbone,
    load_torchvision_state_dict,
    register,
)
from soundad.errors import ParameterError, WeightsUnavailableError

PACKAGE = Path(registry.__file__).parent

EXPECTED = (
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "alexnet", "squeezenet1_0",
    "squeezenet1_1", "densenet121", "efficientnet_b0", "mobilenet_v3_large", "convnext_tiny",
    "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2",
)


def test_list_models_lists_every_backbone():
    assert list_models() == list(EXPECTED)
    assert BACKBONES == tuple(list_models())
    assert list(DEFAULT_LAYERS) == list_models()
    assert set(TORCHVISION_BACKBONES) | set(LITE_MODELS) == set(list_models())
    assert not set(TORCHVISION_BACKBONES) & set(LITE_MODELS)
    assert DEFAULT_BACKBONE in list_models() and BackboneConfig().name == DEFAULT_BACKBONE


def test_lite_models_are_entries_like_the_others():
    for name, size in (("efficientnet_lite0", 224), ("efficientnet_lite1", 240), ("efficientnet_lite2", 260)):
        entry = get_model_weights(name)
        assert isinstance(entry, LiteWeights) and entry is LITE_MODELS[name]
        mean, std, input_size = entry.preprocessing()
        assert input_size == size and mean == (127 / 255,) * 3 and std == (128 / 255,) * 3


def test_torchvision_entries_name_the_models_own_weights_enum():
    from torchvision.models import get_model_weights as torchvision_weights

    for name in TORCHVISION_BACKBONES:
        entry = get_model_weights(name)
        assert isinstance(entry, TorchvisionWeights)
        assert entry.enum_class() is torchvision_weights(name), name


@pytest.mark.parametrize("name", EXPECTED)
def test_get_model_builds_every_entry_with_random_weights(name):
    model = get_model(name, weights="random", seed=0)
    assert isinstance(model, torch.nn.Module) and not model.training
    if sum(p.numel() for p in model.parameters()) > 10_000_000:
        return  # building and tracing the large ones again costs seconds each
    again = get_model(name, weights=None, seed=0)  # None means random, as in torchvision
    assert torch.equal(next(iter(model.parameters())), next(iter(again.parameters())))
    assert DEFAULT_LAYERS[name] in list_layers(model)


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(ParameterError, match="unknown backbone 'vgg16'; choose one of: resnet18, .*efficientnet_lite2"):
        get_model("vgg16")


def test_registering_adds_a_backbone_everywhere_it_is_looked_up(monkeypatch):
    monkeypatch.setattr(registry, "MODELS", dict(registry.MODELS))
    # one call adds a torchvision network soundad did not know
    register("mobilenet_v3_small", weights=TorchvisionWeights("MobileNet_V3_Small_Weights"),
             default_layer="features", min_image_size=64)
    assert list_models()[-1] == "mobilenet_v3_small"
    assert get_model_weights("mobilenet_v3_small").enum == "MobileNet_V3_Small_Weights"
    backbone = load_backbone("mobilenet_v3_small", weights="random", cpu_fusion=False)
    assert (backbone.layer, backbone.feature_dim, backbone.input_size) == ("features", 576, 224)
    from soundad.validate import check_image_size

    with pytest.raises(ParameterError, match="mobilenet_v3_small needs images of at least 64 px"):
        check_image_size(32, backbones=["mobilenet_v3_small"], batch_size=1, device="cpu")
    with pytest.raises(ParameterError, match="already registered"):
        register("resnet18", weights=TorchvisionWeights("ResNet18_Weights"), default_layer="layer4")


def test_a_registered_backbone_is_in_the_derived_lists_and_a_grid_plan(monkeypatch):
    import soundad.backbones
    import soundad.backbones.layers as layers
    from soundad.reproduce.plan import resolve_models

    before = soundad.backbones.BACKBONES
    monkeypatch.setattr(registry, "MODELS", dict(registry.MODELS))
    register("mobilenet_v3_small", weights=TorchvisionWeights("MobileNet_V3_Small_Weights"),
             default_layer="features")
    assert soundad.backbones.BACKBONES == (*before, "mobilenet_v3_small") == registry.BACKBONES
    assert "mobilenet_v3_small" in soundad.backbones.TORCHVISION_BACKBONES
    assert "mobilenet_v3_small" not in soundad.backbones.LITE_MODELS
    assert soundad.backbones.DEFAULT_LAYERS["mobilenet_v3_small"] == layers.DEFAULT_LAYERS["mobilenet_v3_small"]
    assert layers.DEFAULT_LAYERS["mobilenet_v3_small"] == "features"
    models = resolve_models(models=None, backbones=["mobilenet_v3_small"], weights=["random"], layers=None,
                            device="cpu", batch_size=None, front_end="auto")
    assert [(m.name, m.weights, m.layer) for m in models] == [("mobilenet_v3_small", "random", None)]
    given = (BackboneConfig(name="mobilenet_v3_small", weights="random"),)
    assert resolve_models(models=given, backbones=None, weights=None, layers=None, device="cpu",
                          batch_size=None, front_end="auto") == given
    with pytest.raises(ParameterError, match="backbones='vgg16'"):
        resolve_models(models=None, backbones=["vgg16"], weights=["random"], layers=None, device="cpu",
                       batch_size=None, front_end="auto")


def test_the_derived_lists_drop_a_registration_that_is_undone():
    import soundad.backbones

    assert soundad.backbones.BACKBONES == EXPECTED and list(soundad.backbones.DEFAULT_LAYERS) == list(EXPECTED)


def _string_literals(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_a_backbone_name_is_spelled_only_where_it_is_registered():
    # DEFAULT_BACKBONE and the layer presets refer to a backbone by name; nothing else in the
    # package may, so that no `if name == "..."` branch can stand in for a registry entry.
    allowed = {"registry.py": set(EXPECTED), "config.py": {DEFAULT_BACKBONE}, "layers.py": {"efficientnet_lite0"}}
    for path in sorted(PACKAGE.glob("*.py")):
        spelled = _string_literals(path) & set(EXPECTED)
        assert spelled <= allowed.get(path.name, set()), f"{path.name} spells {sorted(spelled)}"


# ------------------------------------------------------------------ offline rule


@pytest.fixture
def loopback_checkpoint(tmp_path, monkeypatch):
    """A small checkpoint served over HTTP on 127.0.0.1, an empty torch hub cache; yields its weights entry."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    root = tmp_path / "www"
    root.mkdir()
    tmp = root / "tmp.pth"
    torch.save({"w": torch.arange(4.0)}, tmp)
    path = root / f"tiny-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.pth"
    tmp.rename(path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args, **kwargs: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}/{path.name}")
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("value", ["false", "0", "off", ""])
def test_offline_false_values_allow_downloads(loopback_checkpoint, monkeypatch, value):
    monkeypatch.setenv("SOUNDAD_OFFLINE", value)
    TorchvisionWeights("ResNet18_Weights").check_available("tiny", loopback_checkpoint, timeout=3.0)
    state = load_torchvision_state_dict(loopback_checkpoint, timeout=5.0)
    assert torch.equal(state["w"], torch.arange(4.0))


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_offline_true_values_forbid_downloads(loopback_checkpoint, monkeypatch, value):
    monkeypatch.setenv("SOUNDAD_OFFLINE", value)
    with pytest.raises(WeightsUnavailableError, match="SOUNDAD_OFFLINE forbids downloads"):
        TorchvisionWeights("ResNet18_Weights").check_available("tiny", loopback_checkpoint)
    with pytest.raises(WeightsUnavailableError, match="SOUNDAD_OFFLINE forbids downloads"):
        load_torchvision_state_dict(loopback_checkpoint, timeout=5.0)
    check_weights_available("resnet18", "random")  # random weights need nothing


# ------------------------------------------------------------------ load_backbone(config)


def test_load_backbone_takes_a_config():
    config = BackboneConfig(name="resnet18", weights="random", layer="layer3", device="cpu")
    from_config = load_backbone(config, seed=2)
    from_names = load_backbone("resnet18", weights="random", layer="layer3", device="cpu", seed=2)
    assert (from_config.name, from_config.layer, from_config.weights_name) == ("resnet18", "layer3", "random")
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(from_config(x), from_names(x))


def test_load_backbone_config_settings_are_not_given_twice():
    config = BackboneConfig(name="resnet18", weights="random", device="cpu")
    with pytest.raises(ParameterError, match=r"takes layer from the config.*config.replace\(layer=\.\.\.\)"):
        load_backbone(config, layer="layer3")
    with pytest.raises(ParameterError, match="name=3; expected a backbone name or a BackboneConfig"):
        load_backbone(3)


def test_load_backbone_checks_its_arguments():
    with pytest.raises(ParameterError, match="seed=-1; expected an integer >= 0"):
        load_backbone("resnet18", weights="random", seed=-1)
    with pytest.raises(ParameterError, match="fuse_bn='yes'; expected True or False"):
        load_backbone("resnet18", weights="random", fuse_bn="yes")
