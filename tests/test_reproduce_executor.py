"""run_grid's cells as independent tasks on an executor: same seed, byte-identical results.csv."""

from __future__ import annotations

import concurrent.futures
import multiprocessing

import pytest

from soundad.data import write_synthetic_dataset
from soundad.errors import ParameterError
from soundad.reproduce import run_grid
from test_reproduce import tiny_settings


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth-exec")
    return write_synthetic_dataset(root, machines=("fan", "valve"), snrs=("0dB",), model_ids=("id_00",), n_normal=6,
                                   n_abnormal=3, duration=4.0, seed=0)


@pytest.fixture(scope="module")
def serial(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    cache = tmp_path_factory.mktemp("cache-exec")
    results = run_grid(synth, out=out, cache_dir=cache, seed=3, n_boot=50, figures=False, **tiny_settings())
    assert len(results.attrs["computed_cells"]) == len(results)
    return out, cache


def run_on(executor, synth, cache, out):
    results = run_grid(synth, out=out, cache_dir=cache, seed=3, n_boot=50, figures=False, executor=executor,
                       **tiny_settings())
    assert len(results.attrs["computed_cells"]) == len(results) and not results.attrs["reused_cells"]
    return (out / "results.csv").read_bytes()


def test_two_local_processes_give_identical_results(serial, synth, tmp_path):
    out, cache = serial
    context = multiprocessing.get_context("spawn")  # torch's thread pools do not survive fork
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        got = run_on(pool, synth, cache, tmp_path / "procs")
    assert got == (out / "results.csv").read_bytes()
    assert (tmp_path / "procs" / "scores.csv").read_bytes() == (out / "scores.csv").read_bytes()


def test_dask_local_cluster_gives_identical_results(serial, synth, tmp_path):
    distributed = pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed "
                                      "(pip install 'soundad[dask]')")
    out, cache = serial
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        got = run_on(client.get_executor(), synth, cache, tmp_path / "dask")
    assert got == (out / "results.csv").read_bytes()


def test_executor_must_be_an_executor(synth, tmp_path):
    with pytest.raises(ParameterError, match="concurrent.futures.Executor"):
        run_grid(synth, out=tmp_path, executor="dask://localhost", **tiny_settings())


def test_grid_executor_options(monkeypatch):
    import builtins

    from soundad.cli import build_parser
    from soundad.executors import grid_executor

    with grid_executor() as executor:
        assert executor is None
    with grid_executor(workers=1) as executor:
        assert executor is None
    with pytest.raises(ParameterError, match="not both"):
        with grid_executor(workers=2, dask_scheduler="tcp://localhost:8786"):
            pass
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("dask"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(ParameterError, match=r"pip install 'soundad\[dask\]'"):
        with grid_executor(dask_scheduler="tcp://localhost:8786"):
            pass
    args = build_parser().parse_args(["reproduce", "--data", "d", "--out", "o", "--workers", "2",
                                      "--front-end", "torch"])
    assert args.workers == 2 and args.dask_scheduler is None and args.front_end == "torch"


def test_unreachable_dask_scheduler_is_one_clear_error():
    pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")
    from soundad.executors import grid_executor

    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        with grid_executor(dask_scheduler="tcp://127.0.0.1:9", timeout=1):
            pass
