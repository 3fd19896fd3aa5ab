"""An on-disk cache of per-clip window features (chapter 03).

Extracting features is the slow step of the whole study (a frozen CNN on every
mel window of every clip), and its result depends only on the audio file and
on the settings. So :func:`soundad.extract.extract_features` stores one
``.npy`` file per (clip, settings) and reuses it.

Key of an entry: SHA-256 of

- the *settings*: every parameter that changes the numbers -- ``MelConfig``,
  ``WindowConfig``, ``ImageConfig``, the channel, the backbone, its weights
  (tag and exact checkpoint name), the layer(s), the numerics (device type,
  half precision, BatchNorm folding, memory format) and the soundad, torch and
  torchvision versions, derived from the config objects in one place
  (:meth:`soundad.extract_settings.ExtractionSettings.cache_settings`) and
  hashed by :func:`settings_digest`;
- the *audio file's identity*: its size and the SHA-256 of its first and last
  MiB. A content hash, not the path and modification time, so the cache
  survives moving, copying or re-downloading the data set and cannot be fooled
  by a file rewritten within the same second. Reading at most 2 MiB per clip
  costs a few milliseconds; MIMII clips (2.5 MB) are then almost fully hashed.
  A change in the middle of a large file that keeps its size would go
  unnoticed -- the price of not reading whole files.

Layout::

    cache_dir/
      <settings digest[:16]>/
        settings.json            # the settings, readable; feature_dim once known
        <clip digest[:2]>/<clip digest>.npy   # float32 [shape=(n_windows, D)]
        <clip digest[:2]>/<clip digest>.sha256  # SHA-256 of the .npy file's bytes
        packs/<run key>.pack, .json  # whole runs, for a rerun of the same clips (soundad.cache_packs)

Every file is written atomically (:func:`soundad._io.atomic_path`). Beside
each entry, ``<clip digest>.sha256`` holds the SHA-256 of its bytes, written
after the entry and checked on every read: an entry changed on disk (even into
another valid array, e.g. zeros), one that cannot be read, is not a 2-D float32
array, has the wrong number of windows or the wrong feature dimension, or holds
non-finite values is reported with a warning, deleted and recomputed. Entries
without a checksum (from soundad before checksums, or a write interrupted
between the two files) are recomputed with one note per cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from soundad._io import atomic_write_bytes, atomic_write_text
from soundad.params import check_int

__all__ = ["FeatureCache", "file_fingerprint", "settings_digest", "CHUNK_BYTES"]

#: Bytes hashed at each end of an audio file.
CHUNK_BYTES = 1 << 20


def file_fingerprint(path: str | os.PathLike, *, chunk_bytes: int = CHUNK_BYTES) -> str:
    """Content fingerprint of a file: its size and the SHA-256 of its first and last ``chunk_bytes``.

    Parameters
    ----------
    path : str or path-like
    chunk_bytes : int > 0 [bytes], default=1 MiB

    Returns
    -------
    str
        64 hex digits. Files up to ``2 * chunk_bytes`` are hashed whole.
    """
    chunk_bytes = check_int("chunk_bytes", chunk_bytes, low=1)
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256(f"size={size};".encode())
    with open(path, "rb") as handle:
        if size <= 2 * chunk_bytes:
            digest.update(handle.read())
        else:
            digest.update(handle.read(chunk_bytes))
            handle.seek(size - chunk_bytes)
            digest.update(handle.read(chunk_bytes))
    return digest.hexdigest()


def plain_settings(value: Any) -> Any:
    """Settings as JSON-able plain data (dataclasses become dicts with their class name)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"__class__": type(value).__name__}
        out.update({f.name: plain_settings(getattr(value, f.name)) for f in dataclasses.fields(value)})
        return out
    if isinstance(value, Mapping):
        return {str(k): plain_settings(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [plain_settings(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def settings_digest(settings: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of ``settings`` (64 hex digits)."""
    text = json.dumps(plain_settings(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class FeatureCache:
    """Per-clip feature files for one combination of settings.

    Parameters
    ----------
    cache_dir : str or path-like
        Root directory (created on first write).
    settings : mapping
        Everything that changes the features (see the module docstring);
        dataclasses are allowed as values.

    Attributes
    ----------
    directory : Path
        ``cache_dir / settings_digest[:16]``.
    feature_dim : int or None
        ``D`` recorded by an earlier write, if any.
    """

    def __init__(self, cache_dir: str | os.PathLike, settings: Mapping[str, Any]):
        self.settings = plain_settings(settings)
        self.digest = settings_digest(settings)
        self.directory = Path(cache_dir) / self.digest[:16]
        self.feature_dim: int | None = None
        meta = self.directory / "settings.json"
        if meta.is_file():
            try:
                recorded = json.loads(meta.read_text(encoding="utf-8"))
                dim = recorded.get("feature_dim")
                self.feature_dim = int(dim) if dim is not None else None
            except (OSError, ValueError, TypeError, AttributeError):
                warnings.warn(f"feature cache: unreadable {meta}; rewriting it", stacklevel=2)
                try:  # now, not at the next save: a run served wholly from the cache saves nothing
                    atomic_write_text(meta, json.dumps(self.settings, indent=1, sort_keys=True))
                except OSError:
                    pass
        self._noted_unchecked = False

    def entry_path(self, fingerprint: str) -> Path:
        """Where the features of the audio file with this fingerprint live."""
        key = hashlib.sha256(f"{self.digest}:{fingerprint}".encode()).hexdigest()
        return self.directory / key[:2] / f"{key}.npy"

    def load(self, fingerprint: str, *, n_windows: int | None = None) -> np.ndarray | None:
        """The cached features, or ``None`` on a miss or a corrupt entry.

        Parameters
        ----------
        fingerprint : str
            From :func:`file_fingerprint`.
        n_windows : int or None
            Expected number of rows, if known.

        Returns
        -------
        np.ndarray [shape=(n_windows, D), dtype=float32] or None
            A corrupt entry (unreadable, wrong shape or dtype, non-finite)
            triggers a warning and is deleted.
        """
        path = self.entry_path(fingerprint)
        if not path.is_file():
            return None
        array, problem = _read_entry(path, n_windows=n_windows, feature_dim=self.feature_dim)
        if problem == _NO_CHECKSUM:
            if not self._noted_unchecked:  # one note per cache, not one per entry
                self._noted_unchecked = True
                warnings.warn(f"feature cache {self.directory}: entries without a checksum (written by an older "
                              "soundad, or interrupted) are recomputed", stacklevel=2)
        elif problem is not None:
            warnings.warn(f"feature cache entry {path} {problem}; recomputing it", stacklevel=2)
        if problem is not None:
            for stale in (path, _checksum_path(path)):
                try:
                    stale.unlink()
                except OSError:
                    pass
            return None
        return array

    def save(self, fingerprint: str, features: np.ndarray) -> Path:
        """Write ``features`` [shape=(n_windows, D)] atomically; return the entry's path."""
        features = np.ascontiguousarray(features, dtype=np.float32)
        if features.ndim != 2:
            raise ValueError(f"features must be 2-D (n_windows, D), got shape {features.shape}")
        if self.feature_dim is None:
            self.feature_dim = int(features.shape[1])
            record = dict(self.settings)
            record["feature_dim"] = self.feature_dim
            atomic_write_text(self.directory / "settings.json", json.dumps(record, indent=1, sort_keys=True))
        path = self.entry_path(fingerprint)
        buffer = io.BytesIO()
        np.save(buffer, features, allow_pickle=False)
        data = buffer.getvalue()
        atomic_write_bytes(path, data)
        # Written second: an entry whose checksum is missing or stale is recomputed, never served.
        atomic_write_text(_checksum_path(path), hashlib.sha256(data).hexdigest())
        return path


_NO_CHECKSUM = "has no checksum"


def _checksum_path(entry: Path) -> Path:
    return entry.with_suffix(".sha256")


def _read_entry(path: Path, *, n_windows: int | None, feature_dim: int | None) -> tuple[np.ndarray | None, str | None]:
    """A cache entry's array and None, or None and what is wrong with the entry."""
    problem = None
    array = None
    try:
        data = path.read_bytes()
        recorded = _checksum_path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None, _NO_CHECKSUM
    except (OSError, UnicodeDecodeError) as err:
        return None, f"cannot be read ({err})"
    if hashlib.sha256(data).hexdigest() != recorded:
        return None, "does not match its SHA-256 checksum (changed or damaged since it was written)"
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        return None, f"cannot be read ({err})"
    if array.ndim != 2 or array.dtype != np.float32:
        problem = f"holds a {array.dtype} array of shape {array.shape}, expected float32 (n_windows, D)"
    elif n_windows is not None and array.shape[0] != n_windows:
        problem = f"has {array.shape[0]} windows, expected {n_windows}"
    elif feature_dim is not None and array.shape[1] != feature_dim:
        problem = f"has feature dimension {array.shape[1]}, expected {feature_dim}"
    elif not np.all(np.isfinite(array)):
        problem = "contains NaN or infinite values"
    return (None, problem) if problem else (array, None)
