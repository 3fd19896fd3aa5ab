"""Tests for soundad.extract_settings: one resolved settings object per run, and a cache key that stays put.

The literal dictionaries and digests below were captured from soundad's
extraction code *before* it was split into the settings / cache / loader /
loop modules. They guard the feature cache's key: if one of them changes,
every cache written so far is silently orphaned (recomputed), so a change
here must be deliberate.

One was: the torch front end became the CPU default (it is faster there), and
its features differ from the librosa front end's by float32 rounding, so the
default CPU key gained ``"front_end": "torch"``. The librosa keys are kept
below: a run that asks for ``front_end="librosa"`` still finds the entries
written before.
"""

import dataclasses

import pytest
import torch

import soundad
from soundad.backbones import BackboneConfig, onednn_graph_available
from soundad.cache import plain_settings, settings_digest
from soundad.errors import ParameterError
from soundad.extract_settings import ExtractionSettings, default_batch_size, layer_label, resolve_settings
from soundad.features import ImageConfig, MelConfig, WindowConfig

#: Versions pinned for the digest snapshots (the real ones are checked separately).
FIXED_VERSIONS = {"soundad": "0.0.test", "torch": "9.9", "torchvision": "8.8"}

MEL = {"__class__": "MelConfig", "fmax": 8000.0, "fmin": 0.0, "hop_length": 512, "n_fft": 1024, "n_mels": 128,
       "power": 2.0, "sr": 16000, "top_db": 80.0}
WINDOW = {"__class__": "WindowConfig", "hop": 32, "length": 64}
IMAGE = {"__class__": "ImageConfig", "colormap": "viridis", "size": 224, "vmax": 0.0, "vmin": -80.0}

LIBROSA_CPU = {
    "backbone": "efficientnet_lite0", "channel": 0, "image": IMAGE, "layer": "_swish_1", "mel": MEL,
    "numerics": {"channels_last": True, "cpu_fusion": True, "device_type": "cpu", "fuse_bn": True, "half": False},
    "weights": "imagenet", "weights_name": "efficientnet-lite0-57934424", "window": WINDOW,
}
LIBROSA_CPU_DIGEST = "303ec63cd3463ec15e6a469b5d3f3ed23c71f70fd1115b4ec2effe00265b4ba3"
DEFAULT_CPU = {**LIBROSA_CPU, "numerics": {**LIBROSA_CPU["numerics"], "front_end": "torch"}}
DEFAULT_CPU_DIGEST = "6b9133697066fc672cb3fa085f9fb7a6d0904c6e0172481f6bad434aa36bd8d8"

RESNET_LAYERS_LIBROSA_CPU = {
    "backbone": "resnet18", "channel": 1, "image": IMAGE, "layer": "layer3+layer4", "mel": MEL,
    "numerics": {"channels_last": True, "cpu_fusion": False, "device_type": "cpu", "fuse_bn": True, "half": False},
    "weights": "random", "weights_name": "random", "window": WINDOW,
}
RESNET_LAYERS_LIBROSA_CPU_DIGEST = "d695234e9e578833fee3ab126cebe66f82a26e1746526c7a335eeda2f8f410e0"
RESNET_LAYERS_CPU = {**RESNET_LAYERS_LIBROSA_CPU,
                     "numerics": {**RESNET_LAYERS_LIBROSA_CPU["numerics"], "front_end": "torch"}}
RESNET_LAYERS_CPU_DIGEST = "d9f3105d4ca765e724b371a57da593352d709db20e7389e1a7d45867387a5bc5"

LITE_CUDA = {
    "backbone": "efficientnet_lite0", "channel": "mean",
    "image": {**IMAGE, "colormap": "gray", "size": 64}, "layer": "_blocks.14", "mel": {**MEL, "n_mels": 64},
    "numerics": {"autocast": True, "channels_last": False, "compile_mode": "reduce-overhead", "cpu_fusion": False,
                 "device_type": "cuda", "front_end": "torch", "fuse_bn": False, "half": True},
    "weights": "random", "weights_name": "random", "window": {**WINDOW, "hop": 16, "length": 32},
}
LITE_CUDA_DIGEST = "cda9ad6c8187962367507332605e5f0eb1937b534250eef966701687e066541d"


def split_versions(settings):
    plain = plain_settings(settings)
    return plain, plain.pop("versions")


def pinned_digest(settings):
    return settings_digest({**settings, "versions": FIXED_VERSIONS})


@pytest.mark.parametrize("front_end, snapshot, digest", [
    ("auto", DEFAULT_CPU, DEFAULT_CPU_DIGEST),
    ("librosa", LIBROSA_CPU, LIBROSA_CPU_DIGEST),
])
def test_default_cpu_settings_match_the_snapshot(front_end, snapshot, digest):
    settings = resolve_settings(BackboneConfig(device="cpu", front_end=front_end), mel=MelConfig(),
                                window=WindowConfig(), image=ImageConfig(), channel=0).cache_settings()
    plain, versions = split_versions(settings)
    expected = {**snapshot, "numerics": {**snapshot["numerics"], "cpu_fusion": onednn_graph_available()}}
    assert plain == expected
    from importlib.metadata import version

    assert versions == {"soundad": soundad.__version__, "torch": torch.__version__,
                        "torchvision": version("torchvision")}
    if onednn_graph_available():  # the snapshot was taken where oneDNN fusion exists
        assert pinned_digest(settings) == digest


@pytest.mark.parametrize("front_end, snapshot, digest", [
    ("auto", RESNET_LAYERS_CPU, RESNET_LAYERS_CPU_DIGEST),
    ("librosa", RESNET_LAYERS_LIBROSA_CPU, RESNET_LAYERS_LIBROSA_CPU_DIGEST),
])
def test_layer_list_without_fusion_matches_the_snapshot(front_end, snapshot, digest):
    config = BackboneConfig(name="resnet18", weights="random", layer=["layer3", "layer4"], device="cpu",
                            cpu_fusion=False, front_end=front_end)
    settings = resolve_settings(config, mel=MelConfig(), window=WindowConfig(), image=ImageConfig(),
                                channel=1).cache_settings()
    assert split_versions(settings)[0] == snapshot
    assert pinned_digest(settings) == digest


def test_cuda_options_enter_the_key_only_when_on():
    # built directly: resolving a CUDA device needs a GPU, the key itself does not
    config = BackboneConfig(name="efficientnet_lite0", weights="random", layer="_blocks.14", device="cuda",
                            batch_size=128, num_workers=4, half=True, channels_last=False, fuse_bn=False,
                            front_end="torch", autocast=True, compile_mode="reduce-overhead")
    run = ExtractionSettings(backbone=config, device=torch.device("cuda"), mel=MelConfig(n_mels=64),
                             window=WindowConfig(length=32, hop=16), image=ImageConfig(size=64, colormap="gray"),
                             channel="mean", weights_tag="random", weights_name="random",
                             layer_label=layer_label("efficientnet_lite0", "_blocks.14"))
    settings = run.cache_settings()
    assert split_versions(settings)[0] == LITE_CUDA
    assert pinned_digest(settings) == LITE_CUDA_DIGEST
    plain_run = dataclasses.replace(run, backbone=config.replace(front_end="librosa", autocast=False,
                                                                  compile_mode=None))
    plain = split_versions(plain_run.cache_settings())[0]
    assert set(plain["numerics"]) == {"channels_last", "cpu_fusion", "device_type", "fuse_bn", "half"}


def test_a_preset_and_its_node_share_one_key():
    def key(layer):
        config = BackboneConfig(weights="random", layer=layer, device="cpu")
        return resolve_settings(config, mel=MelConfig(), window=WindowConfig(), image=ImageConfig(),
                                channel=0).cache_settings()

    assert settings_digest(key("intermediate")) == settings_digest(key("_blocks.14"))
    assert settings_digest(key("intermediate")) != settings_digest(key(None))


def test_resolved_settings_fill_in_the_machine_defaults():
    with pytest.warns(UserWarning, match="half=True needs a GPU"):
        run = resolve_settings(BackboneConfig(device="cpu", half=True), mel=MelConfig(), window=WindowConfig(),
                               image=ImageConfig(), channel="mean")
    assert (run.backbone.batch_size, run.backbone.num_workers, run.backbone.half) == (8, 0, False)
    assert run.backbone.front_end in ("librosa", "torch") and run.device == torch.device("cpu")
    assert (run.weights_tag, run.layer_label) == ("imagenet", "_swish_1")


@pytest.mark.parametrize("changes, message", [
    ({"batch_size": 0}, r"batch_size=0; expected an integer >= 1"),
    ({"batch_size": 2.0}, r"batch_size=2.0; expected an integer >= 1"),
    ({"num_workers": -1}, r"num_workers=-1; expected an integer >= 0"),
    ({"num_workers": True}, r"num_workers=True; expected an integer >= 0"),
    ({"name": "vgg16"}, r"unknown backbone 'vgg16'"),
    ({"front_end": "numpy"}, r"front_end='numpy'"),
])
def test_bad_backbone_settings_name_the_parameter(changes, message):
    with pytest.raises(ParameterError, match=message):
        resolve_settings(BackboneConfig(device="cpu", **changes), mel=MelConfig(), window=WindowConfig(),
                         image=ImageConfig(), channel=0)


@pytest.mark.parametrize("channel", [-1, "left", True, 1.0])
def test_bad_channel_names_the_parameter(channel):
    with pytest.raises(ParameterError, match=r"channel=.*; expected an integer >= 0 or one of 'mean'"):
        resolve_settings(BackboneConfig(device="cpu"), mel=MelConfig(), window=WindowConfig(),
                         image=ImageConfig(), channel=channel)


def test_config_must_be_a_backbone_config():
    with pytest.raises(ParameterError, match=r"config=.*expected a soundad.backbones.BackboneConfig"):
        resolve_settings({"name": "resnet18"}, mel=MelConfig(), window=WindowConfig(), image=ImageConfig(),
                         channel=0)


def test_extract_features_keywords_are_the_backbone_config_fields():
    """Every BackboneConfig field is an extract_features keyword (``name`` as ``backbone``), same default."""
    import inspect

    from soundad.extract import extract_features

    params = inspect.signature(extract_features).parameters
    for field in dataclasses.fields(BackboneConfig):
        keyword = "backbone" if field.name == "name" else field.name
        assert keyword in params, f"extract_features has no keyword for BackboneConfig.{field.name}"
        assert params[keyword].default == field.default, keyword


def test_config_and_a_conflicting_keyword_are_refused():
    from soundad.backbones import BackboneConfig
    from soundad.errors import ParameterError
    from soundad.extract import config_from, extract_features

    config = BackboneConfig(weights="random")
    assert config_from(config, {"weights": "imagenet", "batch_size": None}) is config  # defaults: fine
    with pytest.raises(ParameterError, match=r"takes batch_size from the config.*config.replace\(batch_size"):
        extract_features(["x.wav"], config=config, batch_size=8)
    with pytest.raises(ParameterError, match=r"takes backbone from the config.*config.replace\(name='resnet34'\)"):
        extract_features(["x.wav"], config=config, backbone="resnet34")
    built = config_from(None, {"name": "resnet18", "weights": "random"})
    assert built == BackboneConfig(name="resnet18", weights="random")


def test_a_backbone_registered_later_resolves_with_its_default_layer(monkeypatch):
    import soundad.backbones.registry as registry
    from soundad.backbones import TorchvisionWeights, register

    monkeypatch.setattr(registry, "MODELS", dict(registry.MODELS))  # the registration is undone afterwards
    register("mobilenet_v3_small", weights=TorchvisionWeights("MobileNet_V3_Small_Weights"),
             default_layer="features", min_image_size=64)
    run = resolve_settings(BackboneConfig(name="mobilenet_v3_small", weights="random", device="cpu"),
                           mel=MelConfig(), window=WindowConfig(), image=ImageConfig(), channel=0)
    assert (run.layer_label, run.cache_settings()["backbone"]) == ("features", "mobilenet_v3_small")
    assert layer_label("mobilenet_v3_small", "features+classifier") == "features+classifier"


def test_layer_label_joins_what_layer_names_parses():
    assert layer_label("resnet18", None) == "layer4"
    assert layer_label("resnet18", "+layer3++layer4+") == "layer3+layer4"
    assert layer_label("resnet18", ("layer3", "layer4")) == "layer3+layer4"
    with pytest.raises(ParameterError, match="one or more distinct layers"):
        layer_label("resnet18", "layer4+layer4")


def test_resolve_batch_size_defaults_by_device_and_checks_what_is_given():
    from soundad.extract_settings import resolve_batch_size

    assert resolve_batch_size(None, "cpu") == default_batch_size("cpu") == 8
    assert resolve_batch_size(None, torch.device("cpu")) == 8
    assert resolve_batch_size(3, "cpu") == 3
    with pytest.raises(ParameterError, match=r"batch_size=0; expected an integer >= 1"):
        resolve_batch_size(0, "cpu")
    with pytest.raises(ParameterError, match=r"batch_size=True; expected an integer >= 1"):
        resolve_batch_size(True, "cpu")


def test_changed_keywords_are_those_off_their_default():
    from soundad.backbones import changed_keywords

    keywords = {"weights": "random", "layer": None, "batch_size": 8, "half": False}
    assert changed_keywords(keywords) == {"weights": "random", "batch_size": 8}
    assert list(changed_keywords(keywords, {k: None for k in keywords})) == ["weights", "batch_size", "half"]
