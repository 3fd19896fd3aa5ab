"""Exceptions raised by soundad.

Every error names the offending file or parameter and says what was expected,
so that a student can fix the call without reading the source.
"""


class SoundadError(Exception):
    """Base class of every error soundad raises on purpose."""


class ParameterError(SoundadError, ValueError):
    """A function argument is out of range or of the wrong kind."""


class DataError(SoundadError, ValueError):
    """A data file or directory is missing, corrupt or not in the expected layout."""


class DownloadError(SoundadError, OSError):
    """A download failed, or its checksum did not match."""


class WeightsUnavailableError(SoundadError, RuntimeError):
    """Pretrained weights are neither cached nor downloadable."""
