"""Where MIMII lives and what its files should be (chapter 01, downloads).

MIMII "public 1.0" (Zenodo record 3384388) is twelve zips, one per SNR and
machine type, 7-11 GB each (about 100 GB in all). :data:`MIMII_ARCHIVES`
holds each zip's md5 sum and size; :func:`mimii_url` builds a zip's URL.

The base URL is ``https://zenodo.org/records/3384388/files/``; set it with
``base_url=`` or the environment variable ``SOUNDAD_MIMII_URL`` (a mirror, or
a local server in tests).

md5 sums and sizes: Zenodo's file listing of record 3384388, as mirrored in
the ``md5sums`` file and git-annex keys of the ``datasets-mila/datasets--mimii``
repository.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from soundad.errors import DownloadError, ParameterError

from .groups import parse_snrs
from .layout import MACHINES

__all__ = [
    "MIMII_ARCHIVES",
    "STATE_DIR",
    "URL_ENV",
    "ZENODO_URL",
    "MimiiArchive",
    "check_etag",
    "extracted_marker",
    "mimii_archive_name",
    "mimii_base_url",
    "mimii_url",
    "parse_hash",
    "registry_entry",
    "snr_arg",
    "zip_folder",
]

#: Where MIMII "public 1.0" lives.
ZENODO_URL = "https://zenodo.org/records/3384388/files/"
#: Environment variable that overrides :data:`ZENODO_URL`.
URL_ENV = "SOUNDAD_MIMII_URL"
#: Folder (under a dataset root) where finished downloads are recorded.
STATE_DIR = ".soundad"


@dataclass(frozen=True)
class MimiiArchive:
    """One of MIMII's twelve zips: its file name, SNR, machine, md5 and size [bytes]."""

    name: str
    snr: str
    machine: str
    md5: str
    size: int

    @property
    def known_hash(self) -> str:
        """The checksum in pooch's ``"md5:<hex>"`` form."""
        return f"md5:{self.md5}"


def _archive(snr: str, machine: str, md5: str, size: int) -> MimiiArchive:
    return MimiiArchive(f"{int(snr[:-2])}_dB_{machine}.zip", snr, machine, md5, size)


#: The twelve zips of Zenodo record 3384388, keyed by file name.
MIMII_ARCHIVES: dict[str, MimiiArchive] = {
    a.name: a
    for a in (
        _archive("-6dB", "fan", "f02ae808a58d84b6815b7ec38ff30879", 10878096548),
        _archive("-6dB", "pump", "d20b783a0ff9c93d58f452f98c37b112", 8236951723),
        _archive("-6dB", "slider", "49913eda7d37f182cbf8ed5c984140e0", 7951254230),
        _archive("-6dB", "valve", "fdfaf185fea61b21e11952a070a4ada7", 8037536346),
        _archive("0dB", "fan", "6354d1cc2165c52168f9ef1bcd9c7c52", 10411902283),
        _archive("0dB", "pump", "488748295c3f60b25de07b58fe75b049", 7869431302),
        _archive("0dB", "slider", "4d674c21474f0646ecd75546db6c0c4e", 7508958315),
        _archive("0dB", "valve", "178478eb0d11c79080a35562bfdeee71", 7486536802),
        _archive("6dB", "fan", "0890f7d3c2fd8448634e69ff1d66dd47", 10158673161),
        _archive("6dB", "pump", "a09ba6060c10fc09cd4c8770213b0b9f", 7659077508),
        _archive("6dB", "slider", "838c2b3441858359c4704ef13a1b27ff", 7129464289),
        _archive("6dB", "valve", "fe5fb7c337cd701b1d31dc641e621892", 6915951837),
    )
}


def snr_arg(snr) -> str:
    """The canonical spelling of one SNR argument (``ParameterError`` naming ``snr`` otherwise)."""
    return parse_snrs([snr], name="snr")[0]


def mimii_archive_name(snr: str, machine: str) -> str:
    """File name of MIMII's zip for one SNR and machine, e.g. ``"-6_dB_fan.zip"``."""
    snr = snr_arg(snr)
    if machine not in MACHINES:
        raise ParameterError(f"unknown machine type {machine!r}; expected one of {MACHINES}")
    return f"{int(snr[:-2])}_dB_{machine}.zip"


def extracted_marker(dest: str | os.PathLike, name: str) -> Path:
    """The file recording that zip ``name`` was unpacked in full: ``<dest>/.soundad/<name>.extracted``."""
    return Path(dest) / STATE_DIR / f"{name}.extracted"


def zip_folder(dest: str | os.PathLike, download_dir: str | os.PathLike | None) -> Path:
    """Where downloaded zips go: ``download_dir`` (``~`` expanded), else ``<dest>/zips``."""
    return Path(download_dir).expanduser() if download_dir is not None else Path(dest) / "zips"


def mimii_url(snr: str, machine: str, *, base_url: str | None = None) -> str:
    """URL of one MIMII zip; ``base_url`` > ``$SOUNDAD_MIMII_URL`` > :data:`ZENODO_URL`."""
    return mimii_base_url(base_url) + mimii_archive_name(snr, machine)


def mimii_base_url(base_url: str | None) -> str:
    """The server holding MIMII's zips: ``base_url``, else ``$SOUNDAD_MIMII_URL``, else Zenodo (checked)."""
    url = base_url or os.environ.get(URL_ENV) or ZENODO_URL
    if not isinstance(url, str) or not re.match(r"^(https?|file)://", url):
        raise ParameterError(f"base_url must be an http(s) URL, got {url!r}")
    return url if url.endswith("/") else url + "/"


def parse_hash(known_hash: str) -> tuple[str, str]:
    """``(algorithm, hex digest)`` of ``"md5:<hex>"``, ``"sha1:"``/``"sha256:"`` or plain hex (read by length)."""
    if not isinstance(known_hash, str):
        raise ParameterError(f"known_hash must be a string like 'md5:<hex>', got {known_hash!r}")
    if ":" in known_hash:
        alg, digest = known_hash.split(":", 1)
    else:
        digest = known_hash
        alg = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(known_hash), "")
    alg, digest = alg.lower(), digest.lower()
    if alg not in {"md5", "sha1", "sha256"} or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ParameterError(f"known_hash must look like 'md5:<hex>' or 'sha256:<hex>', got {known_hash!r}")
    return alg, digest


def registry_entry(name: str, registry: Mapping[str, str | None] | None) -> tuple[str | None, int | None]:
    """``(known_hash, size)`` of zip ``name``: from ``registry`` if given (size unknown), else :data:`MIMII_ARCHIVES`."""
    if registry is None:
        if name not in MIMII_ARCHIVES:
            raise ParameterError(f"{name!r} is not one of MIMII's archives {sorted(MIMII_ARCHIVES)}")
        archive = MIMII_ARCHIVES[name]
        return archive.known_hash, archive.size
    if name not in registry:
        raise ParameterError(f"registry has no checksum for {name!r} (give None to skip the check)")
    known_hash = registry[name]
    if known_hash is None:
        warnings.warn(f"no checksum given for {name}: the download is not verified", stacklevel=3)
    return known_hash, None


def check_etag(url: str, name: str, served_md5: str | None, registry) -> None:
    """Refuse a remote zip whose ETag md5 (Zenodo sends one) differs from the registry's."""
    if served_md5 is None:
        return
    if registry is None:
        known_hash = MIMII_ARCHIVES[name].known_hash if name in MIMII_ARCHIVES else None
    else:
        known_hash = registry.get(name)
    if known_hash is None:
        return
    alg, digest = parse_hash(known_hash)
    if alg == "md5" and digest != served_md5:
        raise DownloadError(
            f"{url}: the server's ETag gives md5 {served_md5}, but {name} should have md5 {digest}; "
            "it serves another file (a changed record or a wrong --url)"
        )
