"""Machine sounds: MIMII layout, splits, audio loading, downloads, synthetic data (chapter 01)."""

from .audio import load_audio
from .layout import LABELS, LAYOUT_COLUMNS, MACHINES, MODEL_IDS, SNRS, normalise_snr, read_layout
from .split import GROUP_COLUMNS, mimii_split, random_split
from .synth import ANOMALIES, synthesize_factory_noise, synthesize_machine_sound, write_synthetic_dataset
