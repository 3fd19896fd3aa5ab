"""Whole-run snapshots of the feature cache, so that a warm rerun reads one file (chapter 03).

The feature cache (:mod:`soundad.cache`) holds one entry per clip. A warm rerun
of a thousand clips then opens, checks and stacks a thousand small files, which
on a GPU costs about as much as computing them. A *pack* stores the stacked
result of one run -- every window's features of the same clips, in order,
under the same settings -- as a single file:

    cache_dir/<settings digest[:16]>/packs/<run key>.pack   float32 [shape=(N, D)], in .npy format
    cache_dir/<settings digest[:16]>/packs/<run key>.json   clip row counts, SHA-256 of the array

The *run key* is the SHA-256 of the settings digest and the clips' content
fingerprints in order (:mod:`soundad.fingerprints` gives those by ``stat``
alone). A rerun whose every file is in the fingerprint memo looks its run key
up before anything else; on a hit it reads one array, checks its SHA-256 and
shape, and is done: no audio header, no per-clip entry, no model.

Packs are written after a run that used a cache and whose clips all have the
expected sample rate (a pack hit skips the header check that warns about other
rates). The JSON file is written last, so a pack interrupted while being
written is never read. A pack that fails its checks is reported, deleted and
ignored (the per-clip entries are still there). At most :data:`MAX_PACKS`
packs are kept per setting; the least recently used go first. They duplicate
the per-clip entries on disk: delete ``packs/`` at any time to get the space
back, at the price of a slower next rerun.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from soundad._io import atomic_path, atomic_write_text
from soundad.cache import FeatureCache

__all__ = ["MAX_PACKS", "PackStore", "run_key"]

#: Packs kept per setting (least recently used deleted first).
MAX_PACKS = 64


def run_key(cache: FeatureCache, fingerprints: Sequence[str]) -> str:
    """SHA-256 of the cache's settings digest and the clips' fingerprints, in order (64 hex digits)."""
    digest = hashlib.sha256(cache.digest.encode())
    for fingerprint in fingerprints:
        digest.update(b"\n" + fingerprint.encode())
    return digest.hexdigest()


class PackStore:
    """The packs of one :class:`~soundad.cache.FeatureCache` (one setting)."""

    def __init__(self, cache: FeatureCache, *, max_packs: int = MAX_PACKS):
        self.directory = cache.directory / "packs"
        self.max_packs = int(max_packs)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.pack", self.directory / f"{key}.json"

    def load(self, key: str) -> tuple[np.ndarray, list[int]] | None:
        """``(features [shape=(N, D), float32], rows per clip)`` of the pack ``key``, or None.

        A pack that cannot be read, does not match its checksum or its row
        counts is reported with a warning and deleted.
        """
        array_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            return self._drop(key, f"has an unreadable record ({err})")
        if not isinstance(meta, dict):
            return self._drop(key, "has a record that is not a JSON object")
        try:
            features = _read_array(array_path)
        except (OSError, ValueError) as err:
            return self._drop(key, f"cannot be read ({err})")
        counts = meta.get("counts")
        if _sha256(features) != meta.get("sha256"):
            return self._drop(key, "does not match its SHA-256 checksum (changed or damaged since it was written)")
        if not isinstance(counts, list) or sum(counts) != len(features):
            return self._drop(key, "has row counts that do not add up to its array")
        with contextlib.suppress(OSError):  # a read-only cache still serves its packs
            os.utime(meta_path)  # recently used: pruned last
        return features, [int(c) for c in counts]

    def save(self, key: str, features: np.ndarray, counts: Sequence[int]) -> None:
        """Write a pack (array first, then its record); a failed write only warns."""
        features = np.ascontiguousarray(features, dtype=np.float32)
        array_path, meta_path = self._paths(key)
        meta = {"counts": [int(c) for c in counts], "sha256": _sha256(features)}
        try:
            with atomic_path(array_path) as tmp, open(tmp, "wb") as handle:  # np.save(path) would add ".npy"
                np.save(handle, features, allow_pickle=False)
            atomic_write_text(meta_path, json.dumps(meta))
        except OSError as err:
            warnings.warn(f"feature cache pack {array_path} cannot be written ({err}); the next rerun reads "
                          "the per-clip entries instead", stacklevel=2)
            return
        self.prune()

    def prune(self) -> None:
        """Delete the least recently used packs beyond ``max_packs``."""
        records = sorted(self.directory.glob("*.json"), key=_mtime, reverse=True)
        for meta_path in records[self.max_packs:]:
            self._remove(meta_path.stem)

    def _drop(self, key: str, problem: str) -> None:
        warnings.warn(f"feature cache pack {self.directory / key}.pack {problem}; reading the per-clip entries "
                      "instead", stacklevel=3)
        self._remove(key)
        return None

    def _remove(self, key: str) -> None:
        for path in reversed(self._paths(key)):  # the record first: a half-removed pack is never read
            try:
                path.unlink()
            except OSError:
                pass


def _sha256(features: np.ndarray) -> str:
    """SHA-256 of a C-contiguous array's bytes (read in place, no copy)."""
    return hashlib.sha256(features.reshape(-1).view(np.uint8)).hexdigest()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _read_array(path: Path) -> np.ndarray:
    """A 2-D float32 ``.npy`` file (no pickles); ValueError if it holds anything else."""
    features = np.load(path, allow_pickle=False)
    if features.ndim != 2 or features.dtype != np.float32:
        raise ValueError(f"holds a {features.dtype} array of shape {features.shape}, expected float32 (N, D)")
    return np.ascontiguousarray(features)
