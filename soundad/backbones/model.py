"""The frozen feature extractor: :class:`Backbone` and :func:`load_backbone` (chapter 03).

:func:`load_backbone` returns a :class:`Backbone`: a ``torch.nn.Module`` that
maps a batch of normalised images ``(N, 3, H, W)`` to feature vectors
``(N, D)``. It is built in named steps:

1. :func:`as_config` -- the settings, as one :class:`BackboneConfig`;
2. ``_recipe`` -- layers, weights, preprocessing and device, checked before any work;
3. :func:`soundad.backbones.get_model` -- the classification network with its weights;
4. ``_cut`` -- cut at the named layer(s) with torchvision's ``create_feature_extractor``,
   BatchNorm folded into the convolutions (:func:`plain_same_padding` first for
   EfficientNet-Lite);
5. ``_assemble`` -- the frozen :class:`Backbone`, on its device, its feature
   size measured, and on a CPU traced into a fused graph.

Every 4-D output is global-average-pooled over its spatial axes, so any
layer, or several layers concatenated, gives one vector per image.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from soundad.backbones.config import DEFAULT_BACKBONE, BackboneConfig, changed_keywords
from soundad.backbones.device import fused_graph_applies, onednn_fusion, onednn_graph_available, resolve_device
from soundad.backbones.layers import check_feature_nodes, feature_extractor, layer_names
from soundad.backbones.registry import check_backbone_name, get_model, get_model_weights, resolve_weights
from soundad.backbones.weights import LiteWeights
from soundad.errors import ParameterError
from soundad.params import BOOLEAN, InstanceOf, check_int, check_number, check_value

__all__ = ["Backbone", "as_config", "load_backbone", "plain_same_padding"]


class Backbone(nn.Module):
    """A frozen network cut at one or more layers, pooled to vectors.

    Built by :func:`load_backbone`. Call it on normalised images
    ``(N, 3, input_size, input_size)`` (see
    :func:`soundad.features.windows_to_images` with ``mean=backbone.mean,
    std=backbone.std``) to get float32 features ``(N, feature_dim)``: each
    4-D layer output is averaged over its spatial axes, several layers are
    concatenated in the order given.

    Attributes
    ----------
    name : str
        Backbone name, e.g. ``"resnet18"``.
    weights_tag : str
        ``"imagenet"`` or ``"random"``.
    weights_name : str
        The exact checkpoint, e.g. ``"ResNet18_Weights.IMAGENET1K_V1"``.
    layer : str
        The layer(s) cut at, joined with ``"+"``.
    layers : tuple of str
    feature_dim : int
        ``D``, the length of a feature vector.
    mean, std : tuple of 3 floats
        Normalisation of the weights (for images in ``[0, 1]``).
    input_size : int [pixels]
        Side of the square input image.
    seed : int
        Seed of the random initialisation (meaningful for ``"random"``).
    """

    def __init__(self, body, *, name, weights_tag, weights_name, layers, mean, std, input_size, seed):
        super().__init__()
        self.body = body
        self.name = name
        self.weights_tag = weights_tag
        self.weights_name = weights_name
        self.layers = tuple(layers)
        self.layer = "+".join(self.layers)
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.input_size = int(input_size)
        self.seed = seed
        self.feature_dim = 0
        # (TorchScript module, channels_last) once fuse_for_cpu() ran; a tuple, so that
        # nn.Module does not register the traced copy as a submodule (state_dict, .to()).
        self._fused: tuple = ()

    @property
    def cpu_fused(self) -> bool:
        """True once :meth:`fuse_for_cpu` has built the fused CPU graph."""
        return bool(self._fused)

    def fuse_for_cpu(self, *, channels_last: bool = True) -> "Backbone":
        """Trace the network once so that oneDNN can fuse its operations on CPU.

        The forward pass is traced with TorchScript, frozen (weights become
        constants) and run with oneDNN graph fusion, which merges each
        convolution with the element-wise operations after it (bias, ReLU/ReLU6,
        residual additions) into one kernel: fewer passes over the activations,
        which is what limits a CPU. Measured on 2 cores, batch 8, 224 px,
        windows/s eager -> fused: EfficientNet-Lite0 126 -> 177, ResNet-18
        54 -> 57, ResNet-50 23 -> 26, SqueezeNet 1.1 258 -> 300; the features
        were bit-identical in every case measured.

        The fused graph is used for float32 CPU inputs of the traced image
        size without autograd (``torch.inference_mode()`` / ``torch.no_grad()``);
        anything else (a GPU, float16, gradients for a saliency map, another
        image size) runs the ordinary module. The first two or three calls
        with a new batch size are slower: TorchScript profiles them before it
        optimises.

        Parameters
        ----------
        channels_last : bool, default=True
            Trace with a channels-last example image, the layout the
            pipeline feeds (see :func:`load_backbone`).

        Returns
        -------
        Backbone
            ``self``, for chaining. If this torch build lacks oneDNN graph
            fusion (e.g. on ARM) the module stays eager; if tracing fails it
            stays eager and a :class:`RuntimeWarning` says why.
        """
        if self._fused or not onednn_graph_available():
            return self
        example = self._zero_images(1, channels_last=channels_last)
        try:
            with warnings.catch_warnings():
                # torch.jit is in maintenance mode and says so on each call; it is still
                # the route to oneDNN's fused graph kernels in eager PyTorch.
                warnings.simplefilter("ignore")
                with torch.no_grad():
                    traced = torch.jit.trace(self, example, check_trace=False)
                    fused = torch.jit.freeze(traced.eval())
        except Exception as err:  # noqa: BLE001 - any tracing failure leaves the eager module
            warnings.warn(f"{self.name}: CPU graph fusion unavailable ({type(err).__name__}: {err}); "
                          "running the unfused network", RuntimeWarning, stacklevel=2)
            return self
        self._fused = (fused, bool(channels_last))
        return self

    def warm_up(self, batch_size: int, *, calls: int = 3) -> None:
        """Run ``calls`` forward passes of zero images at ``batch_size``, results discarded.

        With the fused CPU graph (:meth:`fuse_for_cpu`), TorchScript profiles
        the first two calls at each new batch size and optimises on the third:
        those calls take about 2.7 x as long (EfficientNet-Lite0, batch 8, 2
        cores: 128, 123, 53, then 46 ms). Paying that once, when the model is
        prepared, keeps a run's steady rate from the first batch. Without the
        fused graph this does nothing.
        """
        if not self._fused:
            return
        # the layout the fused graph was traced for, and is fed
        example = self._zero_images(batch_size, channels_last=self._fused[1])
        with torch.inference_mode():
            for _ in range(calls):
                self(example)

    def _zero_images(self, n: int, *, channels_last: bool) -> torch.Tensor:
        images = torch.zeros((int(n), 3, self.input_size, self.input_size))
        return images.contiguous(memory_format=torch.channels_last) if channels_last else images

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self._fused and fused_graph_applies(images, self.input_size):
            with onednn_fusion():
                return self._fused[0](images)
        outputs = self.body(images)
        parts = []
        for key in self.layers:
            out = outputs[key]
            if out.ndim == 4:
                out = out.mean(dim=(2, 3))
            elif out.ndim == 3:
                out = out.mean(dim=1)
            parts.append(out.flatten(1))
        feats = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return feats.float()

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, weights={self.weights_name!r}, layer={self.layer!r}, "
            f"feature_dim={self.feature_dim}, input_size={self.input_size}"
        )




def plain_same_padding(model: nn.Module) -> None:
    """Swap efficientnet-lite's TensorFlow-style "same" convolutions for plain ``nn.Conv2d``.

    The package pads inside a custom ``Conv2d`` subclass, which ``torch.fx``
    traces into a bare ``F.conv2d`` call -- so BatchNorm cannot be folded into
    it. Here each such convolution becomes an ``nn.Conv2d`` with the same
    weights (its symmetric padding built in, or preceded by an
    ``nn.ZeroPad2d`` where TensorFlow pads asymmetrically). Same arithmetic;
    with BatchNorm folded the forward pass ran about 1.3x faster on 2 CPU cores.
    In place, after the weights are loaded.
    """
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            pad = getattr(child, "static_padding", None)
            if not isinstance(child, nn.Conv2d) or type(child) is nn.Conv2d or pad is None:
                continue
            left, right, top, bottom = pad.padding if isinstance(pad, nn.ZeroPad2d) else (0, 0, 0, 0)
            symmetric = left == right and top == bottom
            conv = nn.Conv2d(
                child.in_channels, child.out_channels, child.kernel_size, stride=child.stride,
                padding=(top, left) if symmetric else 0, dilation=child.dilation, groups=child.groups,
                bias=child.bias is not None,
            )
            conv.weight = child.weight
            if child.bias is not None:
                conv.bias = child.bias
            conv.eval()
            replacement = conv if symmetric else nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)
            setattr(parent, child_name, replacement)


def as_config(name: str | BackboneConfig = DEFAULT_BACKBONE, **keywords) -> BackboneConfig:
    """The :class:`BackboneConfig` that :func:`load_backbone` works from.

    ``name`` itself when it is a config (then the keywords must keep
    :func:`load_backbone`'s defaults: the config holds those settings), else
    a config built from ``name`` and the keywords (``weights``, ``layer``,
    ``device``, ``channels_last``, ``fuse_bn``, ``cpu_fusion``). The config's
    other fields (``batch_size``, ``half``, ``autocast`` ...) are how
    :func:`soundad.extract.extract_features` runs the backbone, not part of it.
    """
    if not isinstance(name, BackboneConfig):
        check_value("name", name, InstanceOf((str,), "a backbone name or a BackboneConfig"))
        return BackboneConfig(name=name, **keywords)
    defaults = {key: parameter.default for key, parameter in inspect.signature(load_backbone).parameters.items()}
    given = list(changed_keywords(keywords, defaults))
    if given:
        raise ParameterError(
            f"load_backbone(config) takes {', '.join(given)} from the config, not as keywords; "
            f"pass config.replace({given[0]}=...) instead"
        )
    return name


@dataclass(frozen=True)
class _Recipe:
    """What :func:`load_backbone` resolved from a config before building anything."""

    name: str
    layers: list
    tag: str
    weights_name: str
    mean: tuple
    std: tuple
    input_size: int
    device: torch.device


def _recipe(config: BackboneConfig) -> _Recipe:
    """Check the name, layers, weights, switches and device; find the preprocessing of the weights."""
    name = check_backbone_name(config.name)
    for flag in ("channels_last", "fuse_bn", "cpu_fusion"):
        check_value(flag, getattr(config, flag), BOOLEAN)
    layers = layer_names(name, config.layer)
    tag, enum, weights_name = resolve_weights(name, config.weights)
    mean, std, input_size = get_model_weights(name).preprocessing(enum)
    device = resolve_device(config.device)
    if device.type == "cpu":
        from soundad._allocator import reuse_freed_memory

        reuse_freed_memory()  # CPU activations: reuse freed blocks instead of fresh pages each layer
    return _Recipe(name, layers, tag, weights_name, mean, std, input_size, device)


def _cut(model: nn.Module, recipe: _Recipe, *, fuse_bn: bool) -> nn.Module:
    """The network cut at the recipe's layers, BatchNorm folded into the convolutions if ``fuse_bn``."""
    if fuse_bn and isinstance(get_model_weights(recipe.name), LiteWeights):
        plain_same_padding(model)
    body = feature_extractor(model, recipe.name, recipe.layers)
    body.eval()
    if fuse_bn:
        from torch.fx.experimental.optimization import fuse

        body = fuse(body, inplace=True, no_trace=True)
    return body


def _assemble(body: nn.Module, recipe: _Recipe, config: BackboneConfig, *, seed: int) -> Backbone:
    """The frozen :class:`Backbone` on its device, its feature size measured, CPU-fused if asked."""
    backbone = Backbone(
        body, name=recipe.name, weights_tag=recipe.tag, weights_name=recipe.weights_name,
        layers=recipe.layers, mean=recipe.mean, std=recipe.std, input_size=recipe.input_size, seed=seed,
    )
    backbone.requires_grad_(False)
    backbone.eval()
    if config.channels_last:
        backbone = backbone.to(memory_format=torch.channels_last)
    backbone = backbone.to(recipe.device)
    with torch.inference_mode():  # D does not depend on the image size; a small probe is quick
        probe = torch.zeros((1, 3, 64, 64), device=recipe.device)
        check_feature_nodes(backbone.body(probe.to(memory_format=torch.channels_last)), backbone.layers,
                            recipe.name)
        backbone.feature_dim = int(backbone(probe).shape[1])
    if config.cpu_fusion and recipe.device.type == "cpu":
        backbone.fuse_for_cpu(channels_last=config.channels_last)
    return backbone


def load_backbone(
    name: str | BackboneConfig = DEFAULT_BACKBONE,
    *,
    weights: Any = "imagenet",
    layer: str | Sequence[str] | None = None,
    device: Any = "cpu",
    seed: int = 0,
    channels_last: bool = True,
    fuse_bn: bool = True,
    cpu_fusion: bool = True,
    timeout: float = 10.0,
) -> Backbone:
    """Load a frozen backbone that maps normalised images to feature vectors.

    Parameters
    ----------
    name : str or BackboneConfig, default=DEFAULT_BACKBONE
        One of :data:`soundad.backbones.BACKBONES`, or a :class:`BackboneConfig`
        that holds the name and the settings below but ``seed`` and ``timeout``.
    weights : str, WeightsEnum or None, default="imagenet"
        ``"imagenet"``/``"DEFAULT"``, ``"random"``/``None``, a weights enum
        member name (``"IMAGENET1K_V2"``) or member (see :func:`resolve_weights`).
    layer : str, list of str or None, default=None
        Where to cut: a node or module name (:func:`soundad.backbones.list_layers`,
        e.g. ``"layer3"``), several joined by ``"+"`` or in a list, whose pooled
        outputs are concatenated, or a preset (``"intermediate"``).
        ``None``: :data:`soundad.backbones.DEFAULT_LAYERS`.
    device : str or torch.device, default="cpu"
        ``"auto"`` picks CUDA, then MPS, then CPU.
    seed : int >= 0, default=0
        Seed of the random initialisation (global torch RNG untouched).
    channels_last : bool, default=True
        Channels-last weights: faster convolutions with oneDNN and cuDNN
        (ResNet-18 on 2 cores: 64 instead of 43 images/s; EfficientNet-Lite0:
        46 instead of 28); feed channels-last images. Float rounding only.
    fuse_bn : bool, default=True
        Fold each BatchNorm into the convolution before it
        (``torch.fx.experimental.optimization.fuse``; ResNet-18 64 -> 70
        images/s on 2 cores). Float rounding only (~3e-6 on ResNet-18).
    cpu_fusion : bool, default=True
        On a CPU, a traced graph in which oneDNN fuses each convolution with
        the operations after it (:meth:`Backbone.fuse_for_cpu`;
        EfficientNet-Lite0 126 -> 177 windows/s on 2 cores). Identical
        features in every case measured. Ignored on a GPU.
    timeout : float > 0 [s], default=10.0
        Network timeout when a torchvision checkpoint must be downloaded.

    Returns
    -------
    Backbone
        In eval mode with ``requires_grad=False``; images
        ``(N, 3, input_size, input_size)`` give float32 ``(N, feature_dim)``.

    Raises
    ------
    ParameterError
        Unknown backbone (lists the choices), weights or layer (lists layers).
    WeightsUnavailableError
        Pretrained weights neither cached nor downloadable.

    Examples
    --------
    >>> bb = load_backbone("resnet18", weights="random")
    >>> bb.feature_dim, bb.layer
    (512, 'layer4')
    >>> load_backbone(BackboneConfig("resnet18", weights="random", device="cpu")).feature_dim
    512
    """
    config = as_config(name, weights=weights, layer=layer, device=device, channels_last=channels_last,
                             fuse_bn=fuse_bn, cpu_fusion=cpu_fusion)
    seed = check_int("seed", seed, low=0)
    timeout = check_number("timeout", timeout, low=0, closed="neither")
    recipe = _recipe(config)
    model = get_model(recipe.name, weights=config.weights, seed=seed, timeout=timeout)
    return _assemble(_cut(model, recipe, fuse_bn=config.fuse_bn), recipe, config, seed=seed)
