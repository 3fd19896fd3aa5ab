"""Whole-file downloads: resumable, verified, never half-written (chapter 01).

:func:`download_file` hands the file to :func:`pooch.retrieve`, which owns
the hash check and the atomic move: pooch streams into a temporary file
beside the target, compares its hash with ``known_hash`` and only then moves
it to the final name (on a mismatch it deletes it and raises).

pooch's own HTTP downloader starts every download from byte 0, and a MIMII
zip is 7-11 GB, so the bytes come from :class:`ResumableDownloader`, a pooch
downloader (the ``downloader=`` hook of :func:`pooch.retrieve`) that adds
what pooch lacks:

- resume: bytes go to ``<name>.part``, kept after an interruption; the next
  run continues from its end with an HTTP ``Range`` request (a server that
  ignores ``Range`` sends everything again, which is fine);
- rate limits: 429/503 answers are waited out (:mod:`soundad.data.ratelimit`)
  and the wait is shown on the progress line;
- Zenodo's ``ETag: "md5:<hex>"``: checked when no md5 is known;
- one-line :class:`~soundad.errors.DownloadError` messages.

When the ``.part`` file is complete the downloader moves it onto pooch's
temporary file, so no byte is copied twice. With ``known_hash=None``, pooch
hashes the finished file once more (SHA256, for a log line soundad hides).
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import socket
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import pooch

from soundad.errors import DownloadError

from .archives import parse_hash
from .ratelimit import etag_md5
from .remotezip import RangeNotSatisfiable, content_range, request

__all__ = ["ResumableDownloader", "download_file"]


def download_file(
    url: str,
    path: str | os.PathLike,
    *,
    known_hash: str | None = None,
    expected_size: int | None = None,
    timeout: float = 30.0,
    progress: bool = True,
    chunk_size: int = 1 << 20,
) -> Path:
    """Download ``url`` to ``path``: resumable, verified, never half-written.

    Parameters
    ----------
    url : str
        http(s) URL.
    path : str or path-like
        Final file name. If it exists and matches ``known_hash`` (or no hash
        is given), nothing is downloaded; if it does not match, it is
        downloaded again (with a warning) and replaced only by a download
        that passes the check.
    known_hash : str or None, default=None
        ``"md5:<hex>"`` (or ``sha1:``/``sha256:``; plain hex is read by
        length). ``None`` skips the check.
    expected_size : int or None [bytes], default=None
        Checked when given; also lets a complete ``.part`` skip the network.
    timeout : float [s], default=30.0
        Socket timeout of each request.
    progress : bool, default=True
        Show a tqdm progress bar (and rate-limit waits) on stderr.
    chunk_size : int [bytes], default=1 MiB
        Read size while streaming.

    Returns
    -------
    path : Path

    Raises
    ------
    DownloadError
        If the server cannot be reached, answers with an error, the
        connection breaks (the ``.part`` file is kept for a resume), or the
        size or checksum does not match (the download is removed; a file
        already at ``path`` is kept).
    """
    path = Path(path)
    alg_digest = parse_hash(known_hash) if known_hash is not None else None
    if path.exists():
        if alg_digest is None or pooch.file_hash(str(path), alg=alg_digest[0]) == alg_digest[1]:
            return path
        # pooch replaces it only once a download passes the check: a failed one leaves it as it was
        warnings.warn(f"{str(path)!r} does not match {known_hash}; downloading it again", stacklevel=2)
    downloader = ResumableDownloader(
        path.with_name(path.name + ".part"), expected_size=expected_size, timeout=timeout, progress=progress,
        chunk_size=chunk_size, check_etag=alg_digest is None or alg_digest[0] != "md5",
    )
    pooch_hash = None if alg_digest is None else f"{alg_digest[0]}:{alg_digest[1]}"
    try:
        with _quiet_pooch():
            pooch.retrieve(url, known_hash=pooch_hash, fname=path.name, path=path.parent, downloader=downloader)
    except DownloadError:
        raise
    except ValueError as exc:  # pooch: the hash did not match; it deleted the download
        got = re.search(r"but got ([0-9a-fA-F]+)", str(exc))
        raise DownloadError(
            f"{url}: {alg_digest[0]} checksum mismatch, expected {alg_digest[1]}, got {got.group(1) if got else '?'}; "
            "the download was removed (a corrupted transfer or a changed file)"
        ) from None
    return path


@contextmanager
def _quiet_pooch():
    """Hide pooch's INFO lines ("Downloading data from ...", a SHA256 to paste): soundad shows its own progress."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class ResumableDownloader:
    """A pooch downloader that resumes ``part`` with HTTP ``Range`` and waits out rate limits.

    Called by :func:`pooch.retrieve` as ``downloader(url, output_file, pooch)``:
    it completes ``part`` (appending to what an earlier run left), checks its
    size (``expected_size``) and, if ``check_etag``, the md5 from the server's
    ``ETag``, then moves ``part`` onto ``output_file`` for pooch to verify.
    A failed check removes ``part``; a broken connection keeps it.
    """

    def __init__(self, part: Path, *, expected_size: int | None = None, timeout: float = 30.0,
                 progress: bool = True, chunk_size: int = 1 << 20, check_etag: bool = True):
        self.part, self.expected_size, self.timeout = Path(part), expected_size, timeout
        self.progress, self.chunk_size, self.check_etag = progress, chunk_size, check_etag

    def __call__(self, url: str, output_file: str, pooch_obj=None) -> None:
        part, expected = self.part, self.expected_size
        offset = part.stat().st_size if part.exists() else 0
        if expected is not None and offset > expected:
            part.unlink()
            offset = 0
        served_md5 = None
        if expected is None or offset < expected:
            served_md5 = self._stream(url, offset)
        size = part.stat().st_size if part.exists() else 0
        if expected is not None and size != expected:
            part.unlink(missing_ok=True)
            raise DownloadError(f"{url}: got {size} bytes, expected {expected}; the partial file was removed")
        if served_md5 is not None and self.check_etag:
            got = pooch.file_hash(str(part), alg="md5")  # Zenodo's ETag: a check even where no md5 was given
            if got != served_md5:
                part.unlink()
                raise DownloadError(f"{url}: md5 {got} differs from the server's ETag md5 {served_md5}; "
                                    "the download was removed (a corrupted transfer); run again")
        os.replace(part, output_file)

    def _notice(self, message: str) -> None:
        print(f"{self.part.name[: -len('.part')]}: {message}", file=sys.stderr, flush=True)

    def _stream(self, url: str, offset: int) -> str | None:
        """Append the rest of ``url`` to ``part``; return the md5 of the server's ETag, if it sends one."""
        try:
            response = request(url, timeout=self.timeout, start=offset if offset else None,
                               on_wait=self._notice if self.progress else None)
        except RangeNotSatisfiable:
            return None  # the .part file already holds everything; the checks decide
        with response:
            served_md5 = etag_md5(response.headers)
            mode = "wb"
            if offset and response.status == 206:
                rng = content_range(response)
                if rng is None or rng[0] != offset:
                    raise DownloadError(
                        f"{url}: the server answered a resume request with range {rng}, expected one from byte {offset}")
                mode = "ab"
            elif response.status != 200:
                raise DownloadError(f"downloading {url} failed: unexpected HTTP status {response.status}")
            else:
                offset = 0  # no resume: the server sends the whole file
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            self._copy(url, response, mode, offset, total)
        if total is not None and self.part.stat().st_size < total:
            raise DownloadError(
                f"downloading {url} broke off at {self.part.stat().st_size} of {total} bytes; run again to resume")
        return served_md5

    def _copy(self, url: str, response, mode: str, offset: int, total: int | None) -> None:
        """Stream ``response`` into ``part`` (opened with ``mode``), with a progress bar from ``offset``."""
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=self.part.name[: -len(".part")])
        try:
            with open(self.part, mode) as handle:
                while block := response.read(self.chunk_size):
                    handle.write(block)
                    if bar is not None:
                        bar.update(len(block))
        except (http.client.HTTPException, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
            raise DownloadError(
                f"downloading {url} broke off ({exc!r}); run again to resume from {self.part.stat().st_size} bytes"
            ) from None
        finally:
            if bar is not None:
                bar.close()
