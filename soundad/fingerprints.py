"""A memo of audio files' content fingerprints, so that a warm run stats files instead of reading them.

The feature cache (:mod:`soundad.cache`) keys each clip by a *content*
fingerprint (:func:`soundad.cache.file_fingerprint`, up to 2 MiB of SHA-256
per file). Hashing is the main cost of a warm rerun: on MIMII, about as much
as decoding the file. :class:`FingerprintIndex` remembers each file's
fingerprint under the file's *identity*

    (device, inode, size, mtime_ns)

as :func:`os.stat` reports it, so a later run only calls ``stat``.

What could slip through
-----------------------
An edit that keeps the file's size *and* its modification time to the
nanosecond (``mtime_ns``) -- e.g. a tool that rewrites bytes in place and then
restores the old timestamp (``touch -r``, ``rsync --times`` from a source with
a same-size, same-time but different file, or a file system with a coarse
clock that rewrites a file within one tick) -- keeps the old fingerprint, so
stale features would be served. Renaming, copying, re-downloading or any
ordinary edit changes the inode or mtime and is caught. ``verify=True``
(``--verify-cache`` on the command line) ignores the memo, rehashes every
file and refreshes the memo.

Storage: ``cache_dir/fingerprints.json``, one JSON object
``{"<dev>:<ino>:<size>:<mtime_ns>": "<fingerprint>", ...}``. It is written
atomically (temporary file, then rename) after merging with whatever another
run wrote in the meantime, so concurrent runs never corrupt it; at worst one
run's new entries are lost and those files are hashed again next time. An
unreadable index is ignored with a warning (and rebuilt).
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path

from soundad._io import atomic_write_text
from soundad.cache import file_fingerprint

__all__ = ["FingerprintIndex", "file_identity", "INDEX_NAME"]

#: File name of the index inside the cache directory.
INDEX_NAME = "fingerprints.json"


def file_identity(path: str | os.PathLike) -> str:
    """``"<device>:<inode>:<size>:<mtime_ns>"`` of a file (follows symbolic links)."""
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _read_index(path: Path, *, quiet: bool = False) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        if not quiet:
            warnings.warn(f"fingerprint index {path} cannot be read ({err}); files will be hashed", stacklevel=3)
        return {}
    try:
        table = json.loads(text)
    except ValueError:
        table = None
    if not isinstance(table, dict) or not all(isinstance(v, str) and len(v) == 64 for v in table.values()):
        if not quiet:
            warnings.warn(f"fingerprint index {path} is malformed; it will be rebuilt", stacklevel=3)
        return {}
    return table


class FingerprintIndex:
    """Fingerprints of audio files, memoised by file identity under a cache directory.

    Parameters
    ----------
    cache_dir : str or path-like
        The feature cache directory; the index is ``cache_dir/fingerprints.json``.
    verify : bool, default=False
        Ignore remembered fingerprints: hash every file again (and record the
        result).

    Attributes
    ----------
    hits, misses : int
        Fingerprints taken from the memo / computed by hashing, so far.

    Examples
    --------
    >>> index = FingerprintIndex("/tmp/cache")  # doctest: +SKIP
    >>> fp = index.fingerprint("clip.wav")       # hashed the first time, stat-only later
    >>> index.save()                             # doctest: +SKIP
    """

    def __init__(self, cache_dir: str | os.PathLike, *, verify: bool = False):
        self.path = Path(cache_dir) / INDEX_NAME
        self.verify = bool(verify)
        self._known = _read_index(self.path)
        self._new: dict[str, str] = {}
        self._lock = threading.Lock()  # fingerprint() is called from several threads
        self.hits = self.misses = 0

    def fingerprint(self, path: str | os.PathLike) -> str:
        """The content fingerprint of ``path`` (:func:`soundad.cache.file_fingerprint`).

        Raises
        ------
        OSError
            The file cannot be stat'ed or read.
        """
        identity = file_identity(path)
        if not self.verify:
            known = self._remembered(identity)
            if known is not None:
                with self._lock:
                    self.hits += 1
                return known
        value = file_fingerprint(path)
        if file_identity(path) == identity:  # not changed while being hashed
            with self._lock:
                if self._known.get(identity) != value:
                    self._new[identity] = value
                self.misses += 1
        return value

    def known(self, path: str | os.PathLike) -> str | None:
        """The remembered fingerprint of ``path`` (one ``stat``), or None if it would need hashing.

        Always None with ``verify=True``.

        Raises
        ------
        OSError
            The file cannot be stat'ed.
        """
        if self.verify:
            return None
        return self._remembered(file_identity(path))

    def _remembered(self, identity: str) -> str | None:
        return self._known.get(identity) or self._new.get(identity)

    def save(self) -> None:
        """Merge the new fingerprints into the index on disk (atomically); nothing to do if none."""
        with self._lock:
            if not self._new:
                return
            merged = _read_index(self.path, quiet=True)  # warned about when opened
            merged.update(self._new)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(self.path, json.dumps(merged, separators=(",", ":"), sort_keys=True))
            except OSError as err:  # a lost memo only costs hashing next time
                warnings.warn(f"fingerprint index {self.path} cannot be written ({err})", stacklevel=2)
                return
            self._known = merged
            self._new = {}
