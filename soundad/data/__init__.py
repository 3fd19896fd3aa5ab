"""Machine sounds for anomaly detection (chapter 01).

- :mod:`~soundad.data.groups`: group columns, SNR spellings and order, the
  train/test masks (:data:`GROUP_COLUMNS`, :func:`normalise_snr`, :func:`snr_db`).
- :mod:`~soundad.data.layout`: MIMII's folder layout → a tidy clip table
  (:func:`read_layout`).
- :mod:`~soundad.data.split`: train/test splits (:func:`mimii_split`,
  :func:`random_split`).
- :mod:`~soundad.data.audio`: one channel of a WAV file as float32
  (:func:`load_audio`).
- :mod:`~soundad.data.download`: MIMII from Zenodo, whole (md5-checked by
  pooch, resumable; :func:`download_mimii`) or a few clips via HTTP range
  requests (:func:`fetch_mimii_subset`); the pieces live in
  :mod:`~soundad.data.archives`, :mod:`~soundad.data.retrieve`,
  :mod:`~soundad.data.zipmembers`, :mod:`~soundad.data.subset`,
  :mod:`~soundad.data.remotezip` and :mod:`~soundad.data.ratelimit`.
- :mod:`~soundad.data.synth`: synthetic machine sounds in MIMII's layout, for
  several SNRs and machines (:func:`write_synthetic_dataset`), built from
  :mod:`~soundad.data.signals`, :mod:`~soundad.data.machines` and
  :mod:`~soundad.data.noise`.
- :func:`is_reachable` is :func:`soundad.network.is_reachable`, re-exported.
- :mod:`~soundad.data.embedded`: the real MIMII sample shipped in the package,
  the offline default (:func:`embedded_sample_root`).
- :mod:`~soundad.data.dcase`, :mod:`~soundad.data.dcase_synth`,
  :mod:`~soundad.data.dcase_download`: the DCASE Task 2 layouts (read by
  :func:`read_layout` too), synthetic DCASE data with a domain shift, and the
  DCASE development sets from Zenodo (beyond the paper).
- :mod:`~soundad.data.selection`: the clips an experiment uses and their
  split rule (:func:`load_clips`, :func:`choose_split`, :func:`first_group`).
- :mod:`~soundad.data.source`: which data a notebook uses
  (:func:`resolve_data` → :class:`DataSource`).
"""

from .audio import check_clip_headers, load_audio
from .embedded import EMBEDDED_NAME, embedded_sample_root
from .archives import MIMII_ARCHIVES, ZENODO_URL, MimiiArchive, mimii_archive_name, mimii_url
from .download import download_mimii
from .retrieve import download_file
from .subset import fetch_mimii_subset
from .zipmembers import extract_zip
from soundad.network import is_reachable
from .groups import normalise_snr
from .layout import LABELS, LAYOUT_COLUMNS, MACHINES, MODEL_IDS, SNRS, read_layout
from .source import DataSource, default_cache_dir, resolve_data
from .groups import (
    GROUP_COLUMNS,
    parse_snrs,
    snr_db,
    snr_order,
    snr_sort_key,
    sort_by_snr,
    evaluation_mask,
    train_normal_mask,
)
from .selection import MIN_TRAIN_CLIPS, choose_split, first_group, group_status, load_clips
from .split import mimii_split, random_split
from .synth import ANOMALIES, mix_at_snr, synthesize_factory_noise, synthesize_machine_sound, write_synthetic_dataset

__all__ = [
    "ANOMALIES",
    "EMBEDDED_NAME",
    "GROUP_COLUMNS",
    "LABELS",
    "LAYOUT_COLUMNS",
    "MACHINES",
    "MIMII_ARCHIVES",
    "MODEL_IDS",
    "SNRS",
    "ZENODO_URL",
    "DataSource",
    "MimiiArchive",
    "default_cache_dir",
    "download_file",
    "download_mimii",
    "embedded_sample_root",
    "extract_zip",
    "fetch_mimii_subset",
    "is_reachable",
    "load_audio",
    "check_clip_headers",
    "mimii_archive_name",
    "mimii_split",
    "mimii_url",
    "normalise_snr",
    "random_split",
    "read_layout",
    "resolve_data",
    "mix_at_snr",
    "synthesize_factory_noise",
    "synthesize_machine_sound",
    "write_synthetic_dataset",
    "parse_snrs",
    "MIN_TRAIN_CLIPS",
    "choose_split",
    "first_group",
    "group_status",
    "load_clips",
    "snr_db",
    "snr_order",
    "snr_sort_key",
    "sort_by_snr",
    "evaluation_mask",
    "train_normal_mask",
]
