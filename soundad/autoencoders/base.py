"""Training loop and scoring shared by the autoencoder detectors (chapter 05).

:class:`AutoencoderDetector` standardises the normal training data, holds
back part of it for early stopping, trains with Adam on the MSE and scores a
sample by minus its reconstruction error. Subclasses say how ``X`` is checked
(``_check_X``), over which axes it is standardised (``_stat_axes``) and which
network is built (``_build_network``).
"""

from __future__ import annotations

import copy
import math
import threading

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from soundad.backbones import resolve_device
from soundad.detectors import CONTAMINATION, QuantileOffsetMixin
from soundad.params import BOOLEAN, Interval, Options, check_params

#: Held while torch's global RNG is seeded for a network's initial weights (see fit).
_INIT_LOCK = threading.Lock()

__all__ = ["TRAINING_RULES", "AutoencoderDetector"]

#: Parameter rules of the training settings both autoencoder detectors share.
TRAINING_RULES = {
    "max_epochs": [Interval(int, 1, None, closed="left")],
    "batch_size": [Interval(int, 1, None, closed="left")],
    "learning_rate": [Interval(float, 0, None, closed="neither")],
    "validation_fraction": [Interval(float, 0, 1, closed="left")],
    "patience": [Interval(int, 1, None, closed="left")],
    "contamination": CONTAMINATION,
    "random_state": [Interval(int, 0, None, closed="left"), None],
    "device": [Options("auto", "cpu", "cuda")],
    "progress": [BOOLEAN],
}


class AutoencoderDetector(QuantileOffsetMixin, OutlierMixin, BaseEstimator):
    """Shared training loop and scoring of the autoencoder detectors."""

    _name = "autoencoder"

    # -- to be provided by subclasses ------------------------------------- #
    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        raise NotImplementedError

    def _stat_axes(self) -> tuple[int, ...]:
        raise NotImplementedError

    def _build_network(self, shape: tuple[int, ...]) -> nn.Module:
        raise NotImplementedError

    # -- training ---------------------------------------------------------- #
    def _batches(self, X: np.ndarray, indices: np.ndarray):
        for start in range(0, len(indices), self.batch_size):
            batch = torch.from_numpy(X[indices[start : start + self.batch_size]])
            yield ((batch.to(self.device_) - self._mean_t) / self._std_t)

    def _mean_loss(self, X: np.ndarray, indices: np.ndarray) -> float:
        total = 0.0
        with torch.no_grad():
            for batch in self._batches(X, indices):
                total += F.mse_loss(self.network_(batch), batch, reduction="sum").item()
        return total / (len(indices) * int(np.prod(X.shape[1:])))

    def fit(self, X, y=None):
        """Train on normal data, stopping early on a held-back part of it.

        Parameters
        ----------
        X : array-like
            Normal training samples (see the class docstring for the shape).
        y : ignored

        Returns
        -------
        self
        """
        check_params(self)
        X = self._check_X(X, reset=True)
        rng = np.random.default_rng(self.random_state)
        torch_seed = int(rng.integers(2**31 - 1))
        self.device_ = resolve_device(self.device, mps=False)
        self._learn_standardisation(X)
        train_idx, val_idx = self._hold_out(X.shape[0], rng)
        # Weight initialisation draws from torch's process-wide RNG: seed it under a lock, so that
        # two fits in threads of one process (a Dask worker's threads) cannot reseed each other.
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            network = self._build_network(X.shape[1:])
        self.network_ = network.to(self.device_)
        generator = torch.Generator().manual_seed(torch_seed)
        self._train(X, train_idx, val_idx, generator)
        self._set_offset(X)
        return self

    def _learn_standardisation(self, X: np.ndarray) -> None:
        """``mean_``, ``std_`` over :meth:`_stat_axes` of all normal training data."""
        axes = self._stat_axes()
        mean = X.mean(axis=axes, dtype=np.float64)
        std = X.std(axis=axes, dtype=np.float64)
        std = np.where(std > 1e-8 * max(1.0, float(np.abs(mean).max())), std, 1.0)
        self.mean_ = mean.astype(np.float32)
        self.std_ = std.astype(np.float32)
        self._restore_tensors()

    def _hold_out(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation (early stopping) indices of ``n`` samples."""
        order = rng.permutation(n)
        n_val = int(round(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 1:
            return order, np.array([], dtype=np.int64)
        return order[n_val:], np.sort(order[:n_val])

    def _train_epoch(self, X, train_idx, generator, optimiser) -> float:
        """One pass over the training samples in a seeded order; mean training loss."""
        self.network_.train()
        perm = train_idx[torch.randperm(len(train_idx), generator=generator).numpy()]
        total, count = 0.0, 0
        for batch in self._batches(X, perm):
            optimiser.zero_grad()
            loss = F.mse_loss(self.network_(batch), batch)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
            count += len(batch)
        return total / count

    def _train(self, X, train_idx, val_idx, generator) -> None:
        """Adam on the MSE until ``max_epochs`` or ``patience``; keeps the best validation epoch."""
        optimiser = torch.optim.Adam(self.network_.parameters(), lr=self.learning_rate)
        self.history_ = []
        best_loss, best_state, waited = math.inf, None, 0
        self.best_epoch_ = 0
        bar = tqdm(range(1, self.max_epochs + 1), desc=self._name, unit="epoch", disable=not self.progress, leave=False)
        for epoch in bar:
            train_loss = self._train_epoch(X, train_idx, generator, optimiser)
            self.network_.eval()
            val_loss = self._mean_loss(X, val_idx) if len(val_idx) else train_loss
            self.history_.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
            bar.set_postfix(loss=f"{train_loss:.4f}", val_loss=f"{val_loss:.4f}")
            if val_loss < best_loss:
                best_loss, waited, self.best_epoch_ = val_loss, 0, epoch
                best_state = copy.deepcopy(self.network_.state_dict())
            else:
                waited += 1
                if waited >= self.patience:
                    break
        bar.close()
        self.network_.load_state_dict(best_state)
        self.network_.eval()
        self.n_epochs_ = len(self.history_)
        self.best_loss_ = float(best_loss)

    def reconstruct(self, X) -> np.ndarray:
        """Reconstruction of ``X`` in the input's units (de-standardised).

        Parameters
        ----------
        X : array-like, same shape rules as ``fit``

        Returns
        -------
        np.ndarray, same shape as ``X``, float32
        """
        check_is_fitted(self, "network_")
        X = self._check_X(X, reset=False)
        out = []
        with torch.no_grad():
            for batch in self._batches(X, np.arange(X.shape[0])):
                out.append((self.network_(batch) * self._std_t + self._mean_t).cpu().numpy())
        return np.concatenate(out) if out else np.empty_like(X)

    def score_samples(self, X) -> np.ndarray:
        """Minus the reconstruction error (MSE over a sample's values, standardised units).

        Higher = more normal, like every detector in :mod:`soundad.detectors`;
        :func:`soundad.detectors.anomaly_scores` gives the error itself.

        Parameters
        ----------
        X : array-like, same shape rules as ``fit``

        Returns
        -------
        scores : np.ndarray [shape=(n_samples,)] float64
        """
        check_is_fitted(self, "network_")
        X = self._check_X(X, reset=False)
        errors = []
        with torch.no_grad():
            for batch in self._batches(X, np.arange(X.shape[0])):
                err = (self.network_(batch) - batch).pow(2).reshape(len(batch), -1).mean(dim=1)
                errors.append(err.cpu().numpy())
        errors = np.concatenate(errors) if errors else np.empty(0, dtype=np.float32)
        return -errors.astype(np.float64)

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_mean_t", "_std_t"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "mean_" in state:
            self._restore_tensors()

    def _restore_tensors(self):
        """Standardisation statistics as tensors on ``device_``, shaped to broadcast."""
        shape = (-1,) if self._stat_axes() == (0,) else (-1, 1)
        self._mean_t = torch.from_numpy(self.mean_.reshape(shape)).to(self.device_)
        self._std_t = torch.from_numpy(self.std_.reshape(shape)).to(self.device_)

