"""Autoencoder baselines (chapter 05, ``notebooks/05_autoencoders``).

Before transfer learning, the usual way to find anomalous machine sounds was to
train an autoencoder on normal sounds only and use its reconstruction error as
the anomaly score: what it never saw, it reconstructs badly. Two baselines:

* :class:`DenseAutoencoderDetector`: the MIMII / DCASE 2020 baseline, a small
  fully connected autoencoder on 5 stacked log-mel frames (320 values, from
  :func:`dense_ae_frames`): 320-64-64-8-64-64-320 with ReLU, MSE loss; the
  clip score is the mean frame error (:func:`soundad.detectors.clip_scores`).
* :class:`ConvAutoencoderDetector`: a convolutional autoencoder on whole mel
  windows ``(n_mels, length)``, the comparison baseline of Müller et al. (2021).

Both are scikit-learn style: ``fit(X)`` on normal data, then
``score_samples(X)`` = **minus** the per-sample reconstruction error (higher =
more normal, like every detector in :mod:`soundad.detectors`), so
:func:`soundad.detectors.anomaly_scores` turns them into anomaly scores
unchanged. Training is seeded without touching torch's global random state,
deterministic on CPU, stops early on a held-back part of the normal data and
shows the loss in a tqdm progress bar.

Notes
-----
* On CUDA the dense autoencoder was seen to repeat exactly, but the conv
  autoencoder's scores can differ in the 4th-5th digit between two fits
  (cuDNN picks non-deterministic convolution kernels); AUCs are unaffected
  in practice.
* These networks are tiny: on a busy CPU, ``torch.set_num_threads(1)`` can
  train them several times faster than the default thread count.

Modules
-------
=====================================  =========================================
:mod:`~soundad.autoencoders.frames`     :func:`dense_ae_frames`, :data:`DENSE_AE_MEL`
:mod:`~soundad.autoencoders.networks`   :class:`DenseAutoencoder`,
                                        :class:`ConvAutoencoder` (torch modules)
:mod:`~soundad.autoencoders.base`       :class:`AutoencoderDetector` (training
                                        loop, scoring), :data:`TRAINING_RULES`
:mod:`~soundad.autoencoders.dense`      :class:`DenseAutoencoderDetector`
:mod:`~soundad.autoencoders.conv`       :class:`ConvAutoencoderDetector`
=====================================  =========================================

Everything is importable from :mod:`soundad.autoencoders` itself.
"""

from __future__ import annotations

from soundad.autoencoders.base import TRAINING_RULES, AutoencoderDetector
from soundad.autoencoders.conv import ConvAutoencoderDetector
from soundad.autoencoders.dense import DenseAutoencoderDetector
from soundad.autoencoders.frames import DENSE_AE_MEL, dense_ae_frames
from soundad.autoencoders.inputs import BASELINES, baseline_inputs, stack_inputs
from soundad.autoencoders.networks import ConvAutoencoder, DenseAutoencoder
from soundad.backbones import resolve_device

__all__ = [
    "AutoencoderDetector",
    "BASELINES",
    "ConvAutoencoder",
    "ConvAutoencoderDetector",
    "DENSE_AE_MEL",
    "DenseAutoencoder",
    "DenseAutoencoderDetector",
    "TRAINING_RULES",
    "baseline_inputs",
    "dense_ae_frames",
    "resolve_device",
    "stack_inputs",
]
