"""Executors the reproduction grid's cells can run on (``soundad reproduce --workers / --dask-scheduler``).

:func:`soundad.reproduce.run_grid` accepts any :class:`concurrent.futures.Executor`.
This module builds the two the command line offers, without a scheduler of
soundad's own:

- ``workers=N``: N local processes (``spawn``: torch's thread pools do not
  survive ``fork``);
- ``dask_scheduler=ADDRESS``: a running Dask distributed cluster, through
  ``Client(ADDRESS).get_executor()`` (e.g. ``dask scheduler`` plus ``dask worker``
  on each machine, or dask-jobqueue's ``SLURMCluster``). Dask is imported only
  then; it is the optional extra ``soundad[dask]``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
from typing import Iterator

from soundad.errors import ParameterError

__all__ = ["grid_executor"]


@contextlib.contextmanager
def grid_executor(*, workers: int | None = None, dask_scheduler: str | None = None,
                  timeout: float = 30.0) -> Iterator[concurrent.futures.Executor | None]:
    """An executor for ``run_grid(executor=...)``, shut down on exit; ``None`` for a serial run.

    Parameters
    ----------
    workers : int >= 1 or None
        Local worker processes; ``None`` or 1 runs serially (yields ``None``).
    dask_scheduler : str or None
        Address of a Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    timeout : float > 0 [s], default=30
        How long to wait for the Dask scheduler to answer.

    Raises
    ------
    ParameterError
        Both options given, dask not installed, or the scheduler unreachable.
    """
    if workers is not None and dask_scheduler is not None:
        raise ParameterError("give either --workers or --dask-scheduler, not both")
    if dask_scheduler is not None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise ParameterError(
                "--dask-scheduler needs dask.distributed, which is not installed; "
                "install it with: pip install 'soundad[dask]'"
            ) from None
        try:
            client = Client(dask_scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as err:
            raise ParameterError(f"cannot reach the Dask scheduler at {dask_scheduler!r}: {err}") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    if workers is None or workers <= 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=int(workers), mp_context=context) as pool:
        yield pool
