"""soundad: acoustic anomaly detection for machine sounds with ImageNet transfer learning.

The package mirrors the book, one module per stage:

========================  =======================================  =========
stage                     module                                   chapter
========================  =======================================  =========
machine sounds, MIMII     :mod:`soundad.data`                      01
mel windows as images     :mod:`soundad.features`                  02
frozen ImageNet CNNs      :mod:`soundad.backbones`,                03
                          :mod:`soundad.extract`
one-class detectors       :mod:`soundad.detectors`                 04
autoencoder baselines     :mod:`soundad.autoencoders`              05
scores, AUC, plots        :mod:`soundad.evaluate`,                 04-06
                          :mod:`soundad.plots`
the grid, CLI, benchmark  :mod:`soundad.reproduce`,                06
                          :mod:`soundad.cli`, :mod:`soundad.bench`
========================  =======================================  =========

Submodules are imported on demand, so ``import soundad`` stays cheap (no torch).
"""

__version__ = "0.1.0"
