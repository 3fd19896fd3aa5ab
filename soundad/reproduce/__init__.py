"""The reproduction grid of Müller et al. (2021): every method on every group (chapter 06).

:func:`run_grid` runs, over every (snr, machine, model_id) group the data holds,

- each *transfer-learning method* (a backbone config — name, weights, layer —
  and a detector): the features of all windows are extracted once per backbone
  config through the feature cache; each detector is fitted on the group's
  normal **training** windows only, scores the **test** windows, and a clip's
  score is the mean of its window scores;
- each *autoencoder baseline*: the conv autoencoder on mel windows and the
  dense autoencoder on stacked log-mel frames, trained on the same normal
  training clips;

and evaluates AUC and pAUC, each with a 95 % bootstrap interval, per group
with :func:`soundad.evaluate.evaluate_scores`. ``notebooks/06_reproduction.ipynb``
runs it on the real sample and on synthetic sounds.

Backbones
---------
``models=[BackboneConfig(...), ...]`` lists the backbones, each with its own
weights, layer and execution options; ``backbones=`` × ``weights=`` ×
``layers=`` is the same as the product of those lists.

Repeats
-------
``repeats=K`` splits every group K times: repeat 0 with ``seed``, repeat
``r`` with :func:`repeat_seed` ``(seed, r)``, a seed derived from ``seed``
by ``numpy.random.SeedSequence([seed, r])``. That seed also seeds the
repeat's detectors and autoencoders. Features are extracted once per
backbone config; only detectors and autoencoders rerun.

Resuming
--------
The unit of work is a *cell*: one method on one group in one repeat. Each
finished cell is written atomically under ``OUT/cells/`` with a fingerprint
of everything that determines its scores (:mod:`soundad.reproduce.cells`).
A rerun with the same arguments skips every cell whose file is present,
readable and has the same fingerprint, so an interrupted run picks up where
it stopped; features come back from the feature cache. ``results.csv``,
``scores.csv``, ``summary.md`` and the figures are assembled from the cells
at the end of every run.

Outputs (under ``out``)
-----------------------
``results.csv``
    One row per (snr, machine, model_id, repeat, method): ``data, seed, split,
    snr, machine, model_id, repeat, method, backbone, weights, layer, detector,
    auc, auc_lo, auc_hi, pauc, pauc_lo, pauc_hi, n_train, n_train_windows,
    n_test, n_normal_test, n_abnormal_test, status``; ``*_lo``/``*_hi`` bound
    the 95 % bootstrap interval over the group's test clips (``n_boot``
    resamples, seeded by ``seed``). Baselines fill ``backbone`` with their own
    name (``"conv_ae"``), ``weights="none"``, ``layer="-"`` and
    ``detector="reconstruction"``. A group that cannot be evaluated (its test
    set lacks a class) keeps a row with empty ``auc``/``pauc`` and ``status``
    saying why.
``scores.csv``
    One row per (method, repeat, test clip): the clip's labels and its anomaly
    score; the input of :func:`soundad.evaluate.compare` and
    :func:`soundad.claims.check_claims`.
``summary.md``
    Mean AUC/pAUC per method overall, per machine and per SNR, each written
    ``0.72 [0.55, 0.88]`` (see :mod:`soundad.report`), and the spread over
    repeats.
``figures/``
    AUC heatmaps (machine × SNR, one panel per method), ROC curves and score
    histograms, as PNG (:func:`soundad.report.draw_figures`).
``dcase_scores.csv``, ``dcase_summary.csv``
    DCASE layouts only (:mod:`soundad.dcase_scores`).

Modules
-------
===========================================  ===============================================
:mod:`~soundad.reproduce.plan`               :class:`Method`, :class:`GridPlan`, groups and
                                             repeats: which cells to run
:mod:`~soundad.reproduce.cells`              the cell store (path, read, atomic write, fingerprint)
:mod:`~soundad.reproduce.tasks`              one cell's work: a detector or a baseline on a group
:mod:`~soundad.reproduce.tables`             cells → scores.csv → results.csv
:mod:`~soundad.reproduce.grid`               :func:`run_grid`, the pipeline of those steps
===========================================  ===============================================
"""

from __future__ import annotations

from .plan import GridPlan, Method, make_plan, repeat_seed
from .grid import run_grid

__all__ = ["GridPlan", "Method", "make_plan", "repeat_seed", "run_grid"]
