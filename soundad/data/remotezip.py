"""Reading a remote zip with HTTP range requests (chapter 01, the MIMII subset).

:class:`RangeReader` is a seekable, read-only file over range requests, enough
for :mod:`zipfile`: the zip's end records and central directory cost a few
small requests, and each run of members that lie next to each other in the
zip (:func:`member_spans`) costs one streamed request. Every request goes
through :func:`soundad.data.ratelimit.open_url`, which waits out the server's
429/503 answers.
"""

from __future__ import annotations

import http.client
import re
import socket
import urllib.error
import zipfile
from typing import Sequence

from soundad.errors import DownloadError

from .ratelimit import etag_md5, open_url

__all__ = ["SPAN_GAP", "SPAN_MAX", "RangeNotSatisfiable", "RangeReader", "content_range", "member_spans",
           "probe_ranges", "request", "span_end"]

USER_AGENT = "soundad (https://github.com/; teaching package)"


def request(url: str, *, timeout: float, start: int | None = None, end: int | None = None,
             on_wait=None, max_tries: int = 8):
    headers = {"User-Agent": USER_AGENT}
    if start is not None:
        headers["Range"] = f"bytes={start}-{'' if end is None else end}"
    try:
        return open_url(url, headers=headers, timeout=timeout, on_wait=on_wait, max_tries=max_tries)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:
            raise RangeNotSatisfiable(url) from None
        raise DownloadError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
        if isinstance(exc, DownloadError):
            raise
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot reach {url}: {reason} (offline? set SOUNDAD_DATA to a local copy)") from None


class RangeNotSatisfiable(DownloadError):
    pass


def content_range(response) -> tuple[int, int, int | None] | None:
    """Parse ``Content-Range: bytes a-b/total`` into (a, b, total or None)."""
    value = response.headers.get("Content-Range", "")
    match = re.match(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", value)
    if not match:
        return None
    total = None if match.group(3) == "*" else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), total


class RangeReader:
    """A read-only, seekable file over HTTP range requests (enough for :mod:`zipfile`).

    Small reads are served from a block of ``block_size`` bytes fetched in
    one request. :meth:`open_span` starts one request for a whole span (zip
    members that lie next to each other); reads inside the span are then
    served from that response as it arrives, so a span costs one request
    however many members it holds, and each member can be written as soon as
    it is complete. A connection that breaks mid-span is reopened from the
    byte where it broke, at most ``retries`` times; then a one-line
    :class:`DownloadError` says to run again (finished members are kept).
    """

    def __init__(self, url: str, size: int, *, timeout: float, block_size: int = 64 << 10, retries: int = 2,
                 on_wait=None):
        self.url, self.size, self.timeout, self.block_size = url, size, timeout, block_size
        self.retries, self.on_wait = retries, on_wait
        self.requests = 0
        self._pos = 0
        self._buf_start = 0
        self._buf = b""
        self._span = None  # [response, next byte it delivers, end of the span]

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self.size}[whence]
        pos = base + offset
        if pos < 0:
            raise OSError(f"negative seek position {pos} in {self.url}")
        self._pos = pos
        return pos

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self._pos
        n = max(0, min(n, self.size - self._pos))
        if n == 0:
            return b""
        start, end = self._pos, self._pos + n
        if not (self._buf_start <= start and end <= self._buf_start + len(self._buf)):
            if self._span is not None and self._span[1] <= start and end <= self._span[2]:
                self._buf, self._buf_start = self._read_span(start, end), start
            else:
                fetch_end = min(self.size, start + max(n, self.block_size))
                self._buf = self._fetch(start, fetch_end)
                self._buf_start = start
        out = self._buf[start - self._buf_start : end - self._buf_start]
        self._pos = end
        return out

    def prefetch(self, start: int, length: int) -> None:
        """Fetch bytes ``[start, start + length)`` (clipped to the file) in one request, into memory."""
        end = min(self.size, start + length)
        if start < end and not (self._buf_start <= start and end <= self._buf_start + len(self._buf)):
            self._buf = self._fetch(start, end)
            self._buf_start = start

    def open_span(self, start: int, length: int) -> None:
        """Start one request for bytes ``[start, start + length)``; later reads inside it stream from it."""
        self._close_span()
        end = min(self.size, start + length)
        self._span = [self._open(start, end), start, end]

    def _open(self, start: int, end: int):
        self.requests += 1
        response = request(self.url, timeout=self.timeout, start=start, end=end - 1, on_wait=self.on_wait)
        rng = content_range(response)
        if response.status != 206 or rng is None or rng[0] != start:
            response.close()
            raise DownloadError(f"{self.url}: the server stopped answering range requests (status {response.status})")
        return response

    def _read_span(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` from the open span (skipping to ``start``), reopening a broken connection."""
        parts, breaks = [], 0
        while self._span[1] < end:
            response, at, span_end = self._span
            want = (start - at) if at < start else (end - at)
            try:
                block = response.read(min(want, 1 << 20))
            except (http.client.HTTPException, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
                block, reason = b"", exc
            else:
                reason = "the server closed the connection"
            if not block:
                breaks += 1
                if breaks > self.retries:
                    self._close_span()
                    raise DownloadError(
                        f"{self.url}: the connection broke at byte {at} of {self.size} ({reason}) "
                        f"{breaks} times; run the same command again to resume (finished clips are kept)"
                    ) from None
                response.close()
                self._span = [self._open(at, span_end), at, span_end]
                continue
            if at >= start:
                parts.append(block)
            self._span[1] = at + len(block)
        return b"".join(parts)

    def _fetch(self, start: int, end: int) -> bytes:
        with self._open(start, end) as response:
            try:
                data = response.read()
            except (http.client.HTTPException, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
                raise DownloadError(f"{self.url}: the connection broke while reading {end - start} bytes at "
                                    f"{start} ({exc}); run the same command again to resume") from None
        if len(data) != end - start:
            raise DownloadError(f"{self.url}: asked for {end - start} bytes at {start}, got {len(data)}")
        return data

    def _close_span(self) -> None:
        if self._span is not None:
            self._span[0].close()
            self._span = None

    def close(self) -> None:
        self._close_span()
        self._buf = b""


def probe_ranges(url: str, *, timeout: float, on_wait=None) -> tuple[int | None, str | None]:
    """(size of the remote file if the server honours ``Range``, else None; md5 from its ETag or None)."""
    with request(url, timeout=timeout, start=0, end=0, on_wait=on_wait) as response:
        md5 = etag_md5(response.headers)
        if response.status == 206:
            rng = content_range(response)
            if rng is not None and rng[2] is not None:
                return rng[2], md5
        return None, md5


#: Members further apart than this [bytes] start a new request (the gap is read and dropped otherwise).
SPAN_GAP = 64 << 10
#: Most bytes one range request asks for (~100 MIMII clips).
SPAN_MAX = 256 << 20


def span_end(info: zipfile.ZipInfo) -> int:
    """End of a member's bytes in the zip: local header (30 bytes + name + extra, which may differ
    from the central directory's: allow some slack), data and data descriptor."""
    return info.header_offset + 30 + len(info.orig_filename.encode("utf-8")) + len(info.extra) + 1024 + info.compress_size


def member_spans(infos: Sequence[zipfile.ZipInfo]) -> list[list[zipfile.ZipInfo]]:
    """Group members (sorted by offset) that lie next to each other into spans of one request each.

    MIMII's zips store members in folder order, so the first N clips of one
    label are one span: the default subset (50 normal + 50 abnormal) costs two
    requests instead of a hundred.
    """
    spans: list[list[zipfile.ZipInfo]] = []
    for info in sorted(infos, key=lambda i: i.header_offset):
        if spans:
            first, last = spans[-1][0], spans[-1][-1]
            if info.header_offset - span_end(last) <= SPAN_GAP and span_end(info) - first.header_offset <= SPAN_MAX:
                spans[-1].append(info)
                continue
        spans.append([info])
    return spans
