"""HTTP requests that respect a server's limits (chapter 01, downloads).

Zenodo, where MIMII lives, answers range requests but limits a client to about
60 requests a minute (its responses carry ``X-RateLimit-Limit: 60``); above
that it answers ``429 Too Many Requests`` with a ``Retry-After`` header, and a
busy server answers ``503``. :func:`open_url` waits and tries again in both
cases: as long as ``Retry-After`` says (at most :data:`MAX_WAIT` seconds), or,
without the header, with exponential backoff (1, 2, 4, ... s, capped), for at
most ``max_tries`` tries and :data:`MAX_TOTAL_WAIT` seconds in all. Each wait
is announced through ``on_wait`` (the download's progress line).

Zenodo also sends ``ETag: "md5:<hex>"`` for its files; :func:`etag_md5`
reads it, so that a download can be checked against it.
"""

from __future__ import annotations

import email.utils
import re
import time
import urllib.error
import urllib.request
from typing import Callable, Mapping

from soundad.errors import DownloadError

__all__ = ["MAX_TOTAL_WAIT", "MAX_WAIT", "RETRY_STATUSES", "RateLimitedError", "backoff_seconds", "etag_md5",
           "open_url", "retry_after_seconds"]

#: Statuses that mean "come back later".
RETRY_STATUSES = (429, 503)
#: Longest single wait [s], whatever ``Retry-After`` asks for.
MAX_WAIT = 120.0
#: Longest total wait [s] for one request before giving up.
MAX_TOTAL_WAIT = 600.0

_ETAG_MD5 = re.compile(r'^(?:W/)?"?md5:([0-9a-fA-F]{32})"?$')


class RateLimitedError(DownloadError):
    """The server kept answering 429/503 after every allowed retry."""


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_seconds(attempt: int, retry_after: float | None, *, base: float = 1.0, cap: float = MAX_WAIT) -> float:
    """Wait before try ``attempt + 1`` (attempt counts from 0): ``Retry-After`` if given, else ``base * 2**attempt``."""
    wait = retry_after if retry_after is not None else base * 2.0**attempt
    return float(min(max(wait, 0.0), cap))


def etag_md5(headers: Mapping[str, str]) -> str | None:
    """The md5 in an ``ETag: "md5:<hex>"`` header (Zenodo's form), lower-case; None otherwise."""
    match = _ETAG_MD5.match((headers.get("ETag") or "").strip())
    return match.group(1).lower() if match else None


def open_url(
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    max_tries: int = 8,
    on_wait: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
):
    """``urllib.request.urlopen`` that waits out 429 and 503 answers (see the module docstring).

    Returns
    -------
    http.client.HTTPResponse

    Raises
    ------
    urllib.error.HTTPError
        Any other error status (for the caller to word).
    RateLimitedError
        Still 429/503 after ``max_tries`` tries or :data:`MAX_TOTAL_WAIT` seconds.
    urllib.error.URLError, OSError
        Network failures, as urlopen raises them.
    """
    waited = 0.0
    for attempt in range(max_tries):
        try:
            return urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers)), timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_STATUSES:
                raise
            wait = backoff_seconds(attempt, retry_after_seconds(exc.headers.get("Retry-After")))
            exc.close()
            if attempt + 1 == max_tries or waited + wait > MAX_TOTAL_WAIT:
                raise RateLimitedError(
                    f"{url}: the server still answers HTTP {exc.code} ({exc.reason}) after {attempt + 1} tries "
                    f"and {waited:.0f} s of waiting; try again later (what was fetched is kept)"
                ) from None
            if on_wait is not None:
                on_wait(f"HTTP {exc.code}: waiting {wait:.0f} s (try {attempt + 2} of {max_tries})")
            sleep(wait)
            waited += wait
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
