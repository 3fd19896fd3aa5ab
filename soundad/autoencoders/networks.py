"""The two autoencoder networks, as plain torch modules (chapter 05)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ConvAutoencoder", "DenseAutoencoder"]


class DenseAutoencoder(nn.Module):
    """Fully connected autoencoder ``D-64-64-8-64-64-D`` (ReLU; linear output).

    Parameters
    ----------
    n_features : int
        Input (and output) size ``D``, 320 for the MIMII baseline.
    hidden : tuple of int, default=(64, 64)
        Encoder layer sizes; the decoder mirrors them.
    latent : int, default=8
        Bottleneck size.
    """

    def __init__(self, n_features: int, hidden=(64, 64), latent: int = 8):
        super().__init__()
        sizes = [n_features, *hidden, latent, *reversed(hidden)]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], n_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, D) -> (N, D)
        return self.net(x)


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for mel windows ``(N, n_mels, length)``.

    The window is treated as a one-channel image, zero-padded (bottom/right)
    to a multiple of ``2 ** len(channels)``, encoded by stride-2 convolutions
    (3x3, ReLU) and a linear bottleneck, decoded by stride-2 transposed
    convolutions (4x4) and cropped back to ``(n_mels, length)``.

    Parameters
    ----------
    n_mels, length : int
        Size of one window [mel bands, frames].
    channels : tuple of int, default=(16, 32, 64, 64)
        Channels of the encoder convolutions; the decoder mirrors them.
    latent : int, default=64
        Bottleneck size.
    """

    def __init__(self, n_mels: int, length: int, channels=(16, 32, 64, 64), latent: int = 64):
        super().__init__()
        factor = 2 ** len(channels)
        self.n_mels, self.length = n_mels, length
        self.padded = (math.ceil(n_mels / factor) * factor, math.ceil(length / factor) * factor)
        self.code_shape = (channels[-1], self.padded[0] // factor, self.padded[1] // factor)
        encoder: list[nn.Module] = []
        for c_in, c_out in zip((1, *channels[:-1]), channels):
            encoder += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(*encoder)
        n_code = int(np.prod(self.code_shape))
        self.to_latent = nn.Linear(n_code, latent)
        self.from_latent = nn.Sequential(nn.Linear(latent, n_code), nn.ReLU())
        decoder: list[nn.Module] = []
        outs = (*reversed(channels[:-1]), 1)
        for i, (c_in, c_out) in enumerate(zip(reversed(channels), outs)):
            decoder.append(nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1))
            if i < len(channels) - 1:
                decoder.append(nn.ReLU())
        self.decoder = nn.Sequential(*decoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, n_mels, length) -> same
        n = x.shape[0]
        x = F.pad(x[:, None], (0, self.padded[1] - self.length, 0, self.padded[0] - self.n_mels))
        code = self.to_latent(self.encoder(x).reshape(n, -1))
        out = self.decoder(self.from_latent(code).reshape(n, *self.code_shape))
        return out[:, 0, : self.n_mels, : self.length]

