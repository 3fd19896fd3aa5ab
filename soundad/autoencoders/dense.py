"""The MIMII / DCASE 2020 dense autoencoder baseline as a detector (chapter 05)."""

from __future__ import annotations

import numpy as np

from soundad.autoencoders.base import TRAINING_RULES, AutoencoderDetector
from soundad.autoencoders.networks import DenseAutoencoder
from soundad.detectors import validate_features
from soundad.params import InstanceOf, Interval

__all__ = ["DenseAutoencoderDetector"]


class DenseAutoencoderDetector(AutoencoderDetector):
    """The MIMII / DCASE 2020 baseline: a dense autoencoder on stacked log-mel frames.

    Parameters
    ----------
    hidden : tuple of int, default=(64, 64)
        Encoder layer sizes (decoder mirrors them): 320-64-64-8-64-64-320.
    latent : int >= 1, default=8
        Bottleneck size.
    max_epochs : int >= 1, default=30
        Most passes over the training frames (the baseline used 50-100 on a GPU).
    batch_size : int >= 1, default=256
    learning_rate : float > 0, default=1e-3
        Adam learning rate.
    validation_fraction : float in [0, 1), default=0.1
        Part of the normal training data held back for early stopping
        (0 = no early stopping, train for ``max_epochs``).
    patience : int >= 1, default=5
        Epochs without a better validation loss before stopping.
    contamination : float in (0, 0.5], default=0.1
        Fraction of training samples flagged by ``predict``; sets ``offset_``.
    random_state : int >= 0 or None, default=0
        Seed of the split, the weight initialisation and the batch order.
        Training is deterministic on CPU for a fixed seed.
    device : {"auto", "cpu", "cuda"}, default="auto"
    progress : bool, default=True
        Show a tqdm bar with the training and validation loss.

    Attributes
    ----------
    network_ : DenseAutoencoder
        The trained network (weights of the best validation epoch).
    mean_, std_ : np.ndarray [shape=(n_features,)]
        Per-feature standardisation learned in ``fit``.
    history_ : list of dict
        ``epoch``, ``train_loss``, ``val_loss`` per epoch (standardised MSE).
    n_epochs_, best_epoch_ : int
    offset_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(500, 320)).astype("float32")
    >>> ae = DenseAutoencoderDetector(max_epochs=2, progress=False).fit(X)
    >>> ae.score_samples(X[:4]).shape
    (4,)
    """

    _name = "dense AE"
    parameter_rules = {
        "hidden": [InstanceOf((tuple, list), "a tuple of layer sizes")],
        "latent": [Interval(int, 1, None, closed="left")],
        **TRAINING_RULES,
    }

    def __init__(
        self,
        *,
        hidden=(64, 64),
        latent=8,
        max_epochs=30,
        batch_size=256,
        learning_rate=1e-3,
        validation_fraction=0.1,
        patience=5,
        contamination=0.1,
        random_state=0,
        device="auto",
        progress=True,
    ):
        self.hidden = hidden
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
        X = validate_features(self, X, reset=reset)
        return np.ascontiguousarray(X, dtype=np.float32)

    def _stat_axes(self):
        return (0,)

    def _build_network(self, shape):
        return DenseAutoencoder(shape[0], hidden=tuple(self.hidden), latent=self.latent)

