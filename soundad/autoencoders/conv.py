"""The convolutional autoencoder on mel windows as a detector (chapter 05)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array

from soundad.autoencoders.base import TRAINING_RULES, AutoencoderDetector
from soundad.autoencoders.networks import ConvAutoencoder
from soundad.detectors import check_finite
from soundad.errors import ParameterError
from soundad.params import InstanceOf, Interval

__all__ = ["ConvAutoencoderDetector"]


class ConvAutoencoderDetector(AutoencoderDetector):
    """Convolutional autoencoder on mel windows, the baseline of Müller et al. (2021).

    Input: mel windows ``X`` of shape ``(n_windows, n_mels, length)``, e.g.
    from :func:`soundad.features.sliding_windows` (any size: windows are
    padded to a multiple of ``2 ** len(channels)`` inside the network and the
    output is cropped back). Each mel band is standardised with a mean and
    standard deviation learned in ``fit``.

    Parameters
    ----------
    channels : tuple of int, default=(16, 32, 64, 64)
        Encoder convolution channels (stride 2 each); the decoder mirrors them.
    latent : int >= 1, default=64
        Bottleneck size.
    max_epochs : int >= 1, default=20
    batch_size : int >= 1, default=64
    learning_rate : float > 0, default=1e-3
    validation_fraction : float in [0, 1), default=0.1
    patience : int >= 1, default=3
    contamination : float in (0, 0.5], default=0.1
    random_state : int >= 0 or None, default=0
    device : {"auto", "cpu", "cuda"}, default="auto"
    progress : bool, default=True
        See :class:`DenseAutoencoderDetector` for the shared parameters.

    Attributes
    ----------
    network_ : ConvAutoencoder
    mean_, std_ : np.ndarray [shape=(n_mels,)]
        Per-mel-band standardisation learned in ``fit``.
    input_shape_ : tuple of int
        ``(n_mels, length)`` seen in ``fit``.
    history_, n_epochs_, best_epoch_, offset_
        As in :class:`DenseAutoencoderDetector`.
    """

    _name = "conv AE"
    parameter_rules = {
        "channels": [InstanceOf((tuple, list), "a tuple of channel counts")],
        "latent": [Interval(int, 1, None, closed="left")],
        **TRAINING_RULES,
    }

    def __init__(
        self,
        *,
        channels=(16, 32, 64, 64),
        latent=64,
        max_epochs=20,
        batch_size=64,
        learning_rate=1e-3,
        validation_fraction=0.1,
        patience=3,
        contamination=0.1,
        random_state=0,
        device="auto",
        progress=True,
    ):
        self.channels = channels
        self.latent = latent
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _check_X(self, X, *, reset):
        X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64], ensure_all_finite=False)
        if X.ndim != 3:
            raise ParameterError(
                f"X has shape {X.shape}; expected mel windows of shape (n_windows, n_mels, length)"
            )
        if reset:
            self.input_shape_ = tuple(int(v) for v in X.shape[1:])
        elif tuple(X.shape[1:]) != self.input_shape_:
            raise ParameterError(
                f"X has windows of shape {tuple(X.shape[1:])}; the autoencoder was fitted on "
                f"{self.input_shape_} (n_mels, length)"
            )
        check_finite(X.reshape(X.shape[0], -1))
        return np.ascontiguousarray(X, dtype=np.float32)

    def _stat_axes(self):
        return (0, 2)

    def _build_network(self, shape):
        return ConvAutoencoder(shape[0], shape[1], channels=tuple(self.channels), latent=self.latent)
