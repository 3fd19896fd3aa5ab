"""Pick the data a notebook runs on: real MIMII, a subset, the embedded sample, or synthetic (chapter 01).

``resolve_data("auto")`` tries, in order:

1. ``$SOUNDAD_DATA``, a directory in MIMII's layout (a full download, or the
   40-clip sample CI uses);
2. the MIMII subset (fan id_00 at 0 dB, 50 normal + 50 abnormal clips,
   fetched once into the cache with range requests) — skipped quickly when
   offline (a 3 s probe, :func:`soundad.network.is_reachable`), or when
   ``$SOUNDAD_OFFLINE`` forbids downloads (:func:`soundad.network.offline`:
   unset, ``0``, ``false``, ``no`` and ``off`` allow them);
3. the embedded real MIMII sample shipped inside the package (fan id_00 at
   0 dB, microphone 0, 20 normal + 20 abnormal clips; see
   :mod:`soundad.data.embedded`), so that offline runs use real clips too;
4. the built-in synthetic machine sounds, generated once into the cache —
   only where the caller needs what the real sources lack: ``need="snrs"``
   (several SNRs) or ``need="machines"`` (several machine types). The
   source's :attr:`DataSource.description` then says why it is synthetic.

The cache directory is ``$SOUNDAD_CACHE`` or ``~/.cache/soundad``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from soundad.errors import DataError, DownloadError, ParameterError

from soundad.network import OFFLINE_ENV, is_reachable, offline

from .archives import mimii_base_url
from .embedded import EMBEDDED_NAME, embedded_sample_root
from .groups import normalise_snr
from .layout import MACHINES, SNRS, read_layout
from .subset import fetch_mimii_subset, subset_complete, subset_marker, subset_settings
from .synth import MANIFEST_NAME, write_synthetic_dataset

__all__ = [
    "DATA_ENV",
    "OFFLINE_ENV",
    "SUBSET_DEFAULTS",
    "SYNTHETIC_DEFAULTS",
    "NEEDS",
    "DataSource",
    "default_cache_dir",
    "resolve_data",
]

#: Environment variable naming a MIMII-layout directory to use.
DATA_ENV = "SOUNDAD_DATA"
#: Environment variable naming the cache directory.
CACHE_ENV = "SOUNDAD_CACHE"

#: The synthetic set ``"auto"`` falls back to: small enough for a laptop CPU.
SYNTHETIC_DEFAULTS = {
    "machines": MACHINES,
    "snrs": SNRS,
    "model_ids": ("id_00",),
    "n_normal": 30,
    "n_abnormal": 10,
    "duration": 10.0,
    "sr": 16000,
}
#: The MIMII subset ``"auto"`` tries to fetch.
SUBSET_DEFAULTS = {"snr": "0dB", "machine": "fan", "model_id": "id_00", "n_normal": 50, "n_abnormal": 50}

_KINDS = ("env", "mimii-subset", "embedded", "synthetic", "path")

#: What a caller can ask ``resolve_data("auto", need=...)`` for, and what it means.
NEEDS = {"snrs": "several SNRs", "machines": "several machine types"}
_NEED_COLUMNS = {"snrs": "snr", "machines": "machine"}


@dataclass(frozen=True)
class DataSource:
    """Where a run's clips come from.

    Attributes
    ----------
    root : Path
        Directory in MIMII's layout (see :func:`read_layout`).
    name : str
        Short label for titles, e.g. ``"synthetic"`` or
        ``"MIMII subset (fan id_00, 0 dB)"``.
    kind : {"env", "mimii-subset", "embedded", "synthetic", "path"}
        How it was found (``"embedded"``: the real MIMII sample shipped in
        the package).
    description : str
        One sentence for a notebook to print: what the clips are and, for
        synthetic data chosen by ``need``, why the real sources were not used.
    """

    root: Path
    name: str
    kind: str
    description: str = ""

    def __post_init__(self):
        if not self.description:
            default = {
                "synthetic": f"synthetic machine sounds ({self.name}), not MIMII recordings",
                "mimii-subset": f"{self.name}: real MIMII clips fetched from Zenodo record 3384388",
            }.get(self.kind, self.name)
            object.__setattr__(self, "description", default)

    def clips(self) -> pd.DataFrame:
        """The clip table of :attr:`root` (:func:`read_layout`)."""
        return read_layout(self.root)


def default_cache_dir() -> Path:
    """``$SOUNDAD_CACHE`` if set, else ``~/.cache/soundad``."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/soundad").expanduser()


def resolve_data(
    data: str | os.PathLike | DataSource = "auto",
    *,
    cache_dir: str | os.PathLike | None = None,
    seed: int = 0,
    synthetic: Mapping | None = None,
    subset: Mapping | None = None,
    base_url: str | None = None,
    timeout: float = 3.0,
    progress: bool = False,
    need: str | Sequence[str] | None = None,
) -> DataSource:
    """Find (or make) the data a notebook or run uses.

    Parameters
    ----------
    data : str, path-like or DataSource, default="auto"
        - ``"auto"``: ``$SOUNDAD_DATA``, else the MIMII subset if the network
          allows (or it is cached), else the embedded real MIMII sample; a
          ``need`` those cannot meet gives synthetic data (see module docs);
        - ``"embedded"``: the embedded real MIMII sample;
        - ``"synthetic"``: the synthetic set, generated once into the cache;
        - ``"mimii-subset"``: the MIMII subset; download errors are raised;
        - ``"env"``: ``$SOUNDAD_DATA`` (an error if unset);
        - any other string or path: that directory, in MIMII's layout;
        - a :class:`DataSource` is returned unchanged.
    cache_dir : str or path-like or None, default=None
        ``None`` uses :func:`default_cache_dir`. Data lives in ``<cache>/data``.
    seed : int, default=0
        Seed of the synthetic data.
    synthetic : mapping or None, default=None
        Overrides of :data:`SYNTHETIC_DEFAULTS` (keyword arguments of
        :func:`write_synthetic_dataset`).
    subset : mapping or None, default=None
        Overrides of :data:`SUBSET_DEFAULTS` (keyword arguments of
        :func:`fetch_mimii_subset`).
    base_url : str or None, default=None
        MIMII mirror, as in :func:`fetch_mimii_subset`.
    timeout : float [s], default=3.0
        How long ``"auto"`` waits for the network before falling back.
    progress : bool, default=False
        Show progress bars while downloading or generating.
    need : {"snrs", "machines"}, sequence of them, or None, default=None
        ``"auto"`` only: what the caller's analysis needs beyond one group,
        ``"snrs"`` for several SNRs, ``"machines"`` for several machine
        types. A source lacking it is passed over; the embedded sample and
        the MIMII subset hold one SNR and one machine, so a need falls
        through to synthetic data (unless ``$SOUNDAD_DATA`` meets it), and
        the description says so.

    Returns
    -------
    source : DataSource

    Raises
    ------
    DataError
        If a given path (or ``$SOUNDAD_DATA``) does not exist or holds no clips.
    DownloadError
        For ``data="mimii-subset"`` when the download fails.
    ParameterError
        For a ``data`` of the wrong type or unknown override keys.
    """
    if isinstance(data, DataSource):
        return data
    if not isinstance(data, (str, os.PathLike)):
        raise ParameterError(f"data must be 'auto', 'synthetic', 'mimii-subset', 'env', a path or a DataSource, got {data!r}")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    synth_kw = _merge(SYNTHETIC_DEFAULTS, synthetic, "synthetic")
    subset_kw = _merge(SUBSET_DEFAULTS, subset, "subset")
    needs = _needs(need)
    if isinstance(data, str) and data == "auto":
        return _auto(cache, needs, synth_kw, subset_kw, seed=seed, base_url=base_url, timeout=timeout,
                     progress=progress)
    if needs:
        raise ParameterError(f"need={need!r} applies to data='auto' only, not data={data!r}")
    return _named(data, cache, synth_kw, subset_kw, seed=seed, base_url=base_url, progress=progress)


def _named(data, cache: Path, synth_kw: dict, subset_kw: dict, *, seed: int, base_url, progress: bool) -> DataSource:
    """The source ``data`` names: "embedded", "synthetic", "mimii-subset", "env", or a path."""
    if isinstance(data, str) and data == "embedded":
        return _embedded()
    if isinstance(data, str) and data == "synthetic":
        return _synthetic(cache, synth_kw, seed=seed, progress=progress)
    if isinstance(data, str) and data == "mimii-subset":
        root = fetch_mimii_subset(_subset_dir(cache), base_url=base_url, progress=progress, **subset_kw)
        return DataSource(root=root, name=_subset_name(subset_kw), kind="mimii-subset")
    if isinstance(data, str) and data == "env":
        env = os.environ.get(DATA_ENV)
        if not env:
            raise DataError(f"data='env' but ${DATA_ENV} is not set; set it to a directory in MIMII's layout")
        return _from_path(env, kind="env")
    return _from_path(data, kind="path")


def _auto(cache: Path, needs: Sequence[str], synth_kw: dict, subset_kw: dict, *, seed: int, base_url,
          timeout: float, progress: bool) -> DataSource:
    """``data="auto"``: the first source that meets ``needs`` (see the module docstring)."""
    env = os.environ.get(DATA_ENV)
    passed_over = []
    if env:
        source = _from_path(env, kind="env")
        if not needs or _meets(source, needs):  # no needs: _from_path's read was the only check
            return source
        passed_over.append(f"${DATA_ENV} ({source.name})")
    if not needs:  # the subset and the embedded sample hold one SNR and one machine
        source = _try_subset(cache, subset_kw, base_url=base_url, timeout=timeout, progress=progress)
        if source is not None:
            return source
        return _embedded()
    passed_over.append("the embedded real MIMII sample (one machine, one SNR)")
    source = _synthetic(cache, synth_kw, seed=seed, progress=progress)
    why = " and ".join(NEEDS[n] for n in needs)
    return dataclasses.replace(source, description=(
        f"synthetic machine sounds ({source.name}): this analysis needs {why}, which "
        f"{' and '.join(passed_over)} lack(s); the numbers are not MIMII's"))


def _needs(need) -> tuple[str, ...]:
    if need is None:
        return ()
    values = (need,) if isinstance(need, str) else tuple(need)
    bad = [v for v in values if v not in NEEDS]
    if bad:
        raise ParameterError(f"need={need!r}; expected some of {', '.join(map(repr, NEEDS))}")
    return values


def _meets(source: DataSource, needs: Sequence[str]) -> bool:
    clips = read_layout(source.root)
    return all(clips[_NEED_COLUMNS[n]].nunique() >= 2 for n in needs)


def _embedded() -> DataSource:
    root = embedded_sample_root()
    return DataSource(root=root, name=EMBEDDED_NAME, kind="embedded", description=(
        "the embedded real MIMII sample shipped with soundad: fan id_00 at 0 dB, microphone 0, "
        "20 normal + 20 abnormal clips of 10 s (MIMII, Purohit et al. 2019, © Hitachi, Ltd., CC BY-SA 4.0)"))


def _merge(defaults: Mapping, overrides: Mapping | None, what: str) -> dict:
    merged = dict(defaults)
    if overrides:
        unknown = sorted(set(overrides) - set(defaults))
        if unknown:
            raise ParameterError(f"unknown {what} setting(s) {unknown}; expected some of {sorted(defaults)}")
        merged.update(overrides)
    return merged


def _from_path(path, *, kind: str) -> DataSource:
    root = Path(path).expanduser()
    clips = read_layout(root)  # raises DataError for a missing/empty directory
    return DataSource(root=root.resolve(), name=_describe(root, clips), kind=kind)


def _subset_dir(cache: Path) -> Path:
    return cache / "data" / "mimii-subset"


def _subset_name(kw: Mapping) -> str:
    snr = normalise_snr(kw["snr"])
    return f"MIMII subset ({kw['machine']} {kw['model_id']}, {snr[:-2]} dB)"


def _try_subset(cache: Path, kw: dict, *, base_url, timeout: float, progress: bool) -> DataSource | None:
    dest = _subset_dir(cache)
    settings = subset_settings(kw["snr"], kw["machine"], kw["model_id"], kw["n_normal"], kw["n_abnormal"])
    if subset_complete(subset_marker(dest, kw["snr"], kw["machine"], kw["model_id"]), dest, settings):
        return DataSource(root=dest.resolve(), name=_subset_name(kw), kind="mimii-subset")
    if offline():
        warnings.warn(f"data='auto': not fetching the MIMII subset because ${OFFLINE_ENV} is set; using local data",
                      stacklevel=3)
        return None
    url = mimii_base_url(base_url) + settings["archive"]
    if not is_reachable(url, timeout=timeout):
        warnings.warn(f"data='auto': {url} did not answer within {timeout:g} s (offline?); using local data",
                      stacklevel=3)
        return None
    try:
        root = fetch_mimii_subset(dest, base_url=base_url, progress=progress, **kw)
    except (DownloadError, DataError) as exc:
        warnings.warn(f"data='auto': could not fetch the MIMII subset ({exc}); using local data", stacklevel=3)
        return None
    return DataSource(root=root.resolve(), name=_subset_name(kw), kind="mimii-subset")


def _synthetic(cache: Path, kw: dict, *, seed: int, progress: bool) -> DataSource:
    key = json.dumps({**{k: list(v) if isinstance(v, (tuple, list)) else v for k, v in kw.items()}, "seed": seed}, sort_keys=True)
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    root = write_synthetic_dataset(cache / "data" / f"synthetic-{digest}", seed=seed, progress=progress, **kw)
    return DataSource(root=Path(root).resolve(), name="synthetic", kind="synthetic")


def _describe(root: Path, clips: pd.DataFrame) -> str:
    machines = sorted(clips["machine"].unique())
    models = clips[["machine", "model_id"]].drop_duplicates()
    layouts = sorted(s for s in clips["snr"].unique() if not str(s).endswith("dB"))  # DCASE: the layout's name
    snrs = sorted(set(clips["snr"]) - set(layouts), key=lambda s: int(s[:-2]))
    if len(models) == 1:
        what = f"{machines[0]} {models['model_id'].iloc[0]}"
    else:
        what = f"{len(machines)} machine type{'s' * (len(machines) > 1)}, {len(models)} models"
    where = ", ".join([*(["/".join(s[:-2] for s in snrs) + " dB"] if snrs else []), *layouts])
    label = "synthetic" if (Path(root) / MANIFEST_NAME).exists() else Path(root).resolve().name
    return f"{label} ({what}, {where})"
