"""The network rules every download shares: when not to try, and whether a server answers.

- :func:`offline`: ``$SOUNDAD_OFFLINE`` set to anything but ``""``, ``"0"``,
  ``"false"``, ``"no"`` or ``"off"`` (any case) forbids every download attempt
  (datasets and model weights alike).
- :func:`is_reachable`: whether a server accepts a TCP connection within a
  few seconds, without hanging on a slow name lookup.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

__all__ = ["OFFLINE_ENV", "env_flag", "is_reachable", "offline"]

#: Environment variable that, when set to a true value, keeps soundad off the network.
OFFLINE_ENV = "SOUNDAD_OFFLINE"
_FALSE = ("", "0", "false", "no", "off")


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is switched on.

    Unset, ``""``, ``0``, ``false``, ``no`` and ``off`` (any case) are off;
    anything else is on. Every ``SOUNDAD_*`` switch reads its value here.
    """
    return os.environ.get(name, "").strip().lower() not in _FALSE


def offline() -> bool:
    """True when ``$SOUNDAD_OFFLINE`` forbids downloads (unset, ``0``, ``false``, ``no``, ``off`` allow them)."""
    return env_flag(OFFLINE_ENV)


def is_reachable(url: str, *, timeout: float = 3.0) -> bool:
    """True if the host of ``url`` accepts a TCP connection within ``timeout`` seconds.

    ``file://`` URLs are reachable when the path exists. The connection is
    opened in a daemon thread, so that a hanging DNS lookup (which socket
    timeouts do not cover) cannot stall the caller beyond ``timeout``.
    """
    parts = urlparse(url)
    if parts.scheme == "file":
        return os.path.exists(parts.path)
    try:  # a malformed port ("abc", 99999) is an unreachable URL, not an error
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    if not host:
        return False
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except (OSError, ValueError):  # a bad host name raises UnicodeError, a ValueError
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])
