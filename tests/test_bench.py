"""The benchmark on tiny sizes (no timing assertions) and the full-reproduction projection."""

from __future__ import annotations

import json
import math

import pytest

from soundad.bench import JSON_KEYS, MIMII_CLIPS, project_full_reproduction, run_bench, windows_per_clip


def test_bench_json_has_every_key_finite_and_positive(tmp_path):
    path = tmp_path / "bench.json"
    report = run_bench(backbones=("resnet18",), device="cpu", n_clips=1, duration=3.0, image_size=32,
                       batch_size=4, repeats=1, gemm_size=128, json_path=path, progress=False)
    on_disk = json.loads(path.read_text())
    assert on_disk["meta"]["device"] == "cpu"
    record = on_disk["results"]["resnet18"]
    for key in JSON_KEYS:
        value = record[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (key, value)
    assert record["rss_clips"] == [1, 10]
    assert record["flops_per_window"] > 0
    assert set(record["checks"]) == {"pipeline/forward", "forward/gemm", "pipeline/naive", "warm/cold", "rss 10N/N"}
    assert report["results"]["resnet18"]["n_windows"] >= 1
    # where the pipeline's time goes: the two parts add up to the timed run
    assert record["pipeline_forward_s"] > 0 and record["data_path_s"] > 0
    assert record["pipeline_forward_s"] + record["data_path_s"] == pytest.approx(record["pipeline_s"])


def test_report_splits_the_pipeline_time_per_clip():
    from soundad.bench import format_report

    rec = {"gemm_gflops": 100.0, "flops_per_window": 1e9, "forward_wps": 80.0, "forward_gflops": 80.0,
           "pipeline_wps": 64.0, "naive_wps": 10.0, "warm_speedup": 50.0, "n_windows": 16, "pipeline_s": 0.25,
           "pipeline_forward_s": 0.22, "data_path_s": 0.03, "checks": {}}
    text = format_report({"meta": {"device": "cpu", "device_name": "x", "torch": "2", "torch_threads": 2,
                                   "n_clips": 2, "duration_s": 10.0, "data": "synthetic", "batch_size": 8,
                                   "image_size": 224}, "results": {"resnet18": rec}})
    line = text.splitlines()[-1].split()
    # 16 windows at 80 win/s over 2 clips = 100 ms each; 220 and 30 ms of the 250-ms run per 2 clips
    assert line == ["resnet18", "100.00", "110.00", "15.00"]


def test_cli_bench_prints_table_and_pass_fail(tmp_path, capsys):
    from soundad.cli import main

    rc = main(["bench", "--backbones", "resnet18", "--device", "cpu", "--clips", "1", "--duration", "3", "--image-size", "32",
               "--batch-size", "4", "--repeats", "1", "--no-rss", "--json", str(tmp_path / "b.json"), "-q"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "resnet18" in printed and ("PASS" in printed or "FAIL" in printed)
    assert json.loads((tmp_path / "b.json").read_text())["results"]["resnet18"]["forward_wps"] > 0


def test_windows_per_clip_follows_the_framing():
    from soundad.features import MelConfig, WindowConfig

    mel, window = MelConfig(), WindowConfig()
    frames = 1 + int(10.0 * mel.sr) // mel.hop_length  # centred STFT frames of a 10 s clip
    assert windows_per_clip(10.0) == 1 + (frames - window.length) // window.hop


def test_projection_counts_every_mimii_clip_and_divides_by_the_rate():
    per_snr = sum(n + a for n, a in MIMII_CLIPS.values())
    assert len(MIMII_CLIPS) == 16 and per_snr == 18019
    table = project_full_reproduction({"resnet18": 100.0, ("alexnet", "cuda"): 2000.0}, windows=8)
    row = table.set_index("backbone").loc["resnet18"]
    assert row["clips"] == 3 * per_snr
    assert row["windows"] == 8 * 3 * per_snr
    assert row["hours"] == pytest.approx(8 * 3 * per_snr / 100.0 / 3600.0)
    assert table.set_index("backbone").loc["alexnet", "device"] == "cuda"
    doubled = project_full_reproduction({"resnet18": 100.0}, windows=8, n_weights=2)
    assert doubled["hours"].iloc[0] == pytest.approx(2 * row["hours"])


def test_projection_rejects_a_non_positive_rate():
    from soundad.errors import ParameterError

    with pytest.raises(ParameterError):
        project_full_reproduction({"resnet18": 0.0}, windows=8)


def test_recorded_gpu_bench_ships_with_the_package_and_projects():
    from soundad.bench import JSON_KEYS, PAPER_BACKBONES, load_record, project_full_reproduction
    from soundad.errors import ParameterError

    record = load_record("h200")
    assert record["meta"]["device"] == "cuda"
    for rec in record["results"].values():
        assert set(JSON_KEYS) <= set(rec)
    rates = {(row["backbone"], "cuda"): row["windows_per_second"] for row in record["projection"]}
    assert {b for b, _ in rates} == set(PAPER_BACKBONES)
    projection = project_full_reproduction(rates)
    assert (projection["hours"] > 0).all() and len(projection) == len(PAPER_BACKBONES)
    with pytest.raises(ParameterError, match="unknown bench record"):
        load_record("tpu")


def test_synthetic_bench_clips_beyond_the_written_ones_are_links(tmp_path, monkeypatch):
    import filecmp
    import os

    from soundad.bench import pipeline

    monkeypatch.setattr(pipeline, "MAX_DISTINCT_CLIPS", 6)
    root, clips = pipeline.prepare_clips(None, n_clips=2, duration=1.0, seed=0, workdir=tmp_path)
    assert len(clips) == 20 and clips["path"].is_unique
    inodes = {os.stat(p).st_ino for p in clips["path"]}
    assert len(inodes) == 6  # six files written, fourteen more names for them
    normal = sorted(p for p in clips["path"] if "/normal/" in p)
    assert filecmp.cmp(normal[0], normal[3], shallow=False)  # 00000003 links to 00000000


def test_naive_loop_clips_default_to_at_most_sixteen(tmp_path):
    report = run_bench(backbones=("resnet18",), device="cpu", n_clips=2, duration=3.0, image_size=32,
                       batch_size=4, repeats=1, gemm_size=128, rss=False, progress=False)
    assert report["meta"]["naive_clips"] == 2 and report["meta"]["n_clips"] == 2


def test_forward_steps_time_each_option_on_top_of_the_last(tmp_path):
    from soundad.bench import forward_steps, steps_for

    rows = forward_steps("resnet18", device="cpu", batch_size=2, image_size=32, repeats=1, gemm_size=64)
    assert [r["step"] for r in rows] == [s.label for s in steps_for("cpu")]
    assert math.isnan(rows[0]["vs_previous"])
    for prev, row in zip(rows, rows[1:]):
        assert row["vs_previous"] == pytest.approx(row["windows_per_second"] / prev["windows_per_second"])
    for row in rows:
        assert row["windows_per_second"] > 0 and row["gflops"] > 0 and row["setup_s"] >= 0
        assert row["vs_gemm"] == pytest.approx(row["gflops"] / row["gemm_gflops"])


def test_cuda_steps_add_autocast_graph_replay_and_compile():
    from soundad.bench import steps_for

    steps = steps_for("cuda", compile_modes=("reduce-overhead", "max-autotune"))
    assert [s.autocast for s in steps] == [False, False, False, True, True, True, True]
    assert [s.cuda_graph for s in steps].index(True) == 4
    assert [s.compile_mode for s in steps][-2:] == ["reduce-overhead", "max-autotune"]
    assert not any(s.cpu_fusion for s in steps)


def test_cli_bench_steps_prints_the_ladder(tmp_path, capsys):
    from soundad.cli import main

    rc = main(["bench", "--steps", "--backbones", "resnet18", "--device", "cpu", "--image-size", "32",
               "--batch-size", "2", "--repeats", "1", "--json", str(tmp_path / "s.json"), "-q"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "+ BatchNorm folded" in printed and "x GEMM" in printed
    rows = json.loads((tmp_path / "s.json").read_text())["steps"]
    assert [r["backbone"] for r in rows] == ["resnet18"] * 4


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")
def test_forward_steps_on_cuda():
    from soundad.bench import forward_steps

    rows = forward_steps("resnet18", device="cuda", batch_size=8, image_size=64, repeats=1, compile_modes=())
    assert len(rows) == 5 and all(r["windows_per_second"] > 0 for r in rows)


def test_bench_records_its_cuda_options_and_ignores_them_on_cpu(tmp_path):
    with pytest.warns(UserWarning, match="CUDA only"):
        report = run_bench(backbones=("resnet18",), device="cpu", n_clips=1, duration=3.0, image_size=32,
                           batch_size=4, repeats=1, gemm_size=64, rss=False, autocast=True, progress=False)
    assert report["meta"]["autocast"] is False and report["meta"]["compile_mode"] is None


def test_a_failing_compile_step_is_reported_not_raised(monkeypatch):
    from soundad.bench import ForwardStep, format_steps, forward_steps, steps
    from soundad.bench.steps import steps_for as real_steps_for

    def broken(*args, **kwargs):
        raise RuntimeError("no C compiler")

    ladder = real_steps_for("cpu") + (ForwardStep("+ torch.compile(default)", compile_mode="default"),)
    monkeypatch.setattr(steps, "steps_for", lambda *a, **k: ladder)
    import soundad.cuda_forward

    monkeypatch.setattr(soundad.cuda_forward, "make_forward", broken)
    rows = forward_steps("resnet18", device="cpu", batch_size=2, image_size=32, repeats=1, gemm_size=64)
    assert rows[-1]["error"] == "RuntimeError: no C compiler" and math.isnan(rows[-1]["windows_per_second"])
    assert all(r["error"] is None for r in rows[:-1])
    assert "failed: RuntimeError: no C compiler" in format_steps(rows)


def test_paper_backbones_projection_sums_each_device_and_paces_the_gpu_by_its_pipeline():
    from soundad.bench import PAPER_BACKBONES, load_record, project_paper_backbones

    paper = project_paper_backbones(batch_size=2, image_size=64)
    table = paper.table
    on_cpu = table["device"].str.startswith("cpu")
    assert sorted(table.loc[on_cpu, "backbone"]) == sorted(PAPER_BACKBONES) and (~on_cpu).sum() == 5
    assert paper.hours_cpu == pytest.approx(table.loc[on_cpu, "hours"].sum())
    assert paper.hours_gpu == pytest.approx(table.loc[~on_cpu, "hours"].sum())
    record = load_record("h200")["results"]["resnet18"]
    assert paper.gpu_pipeline_wps == record["pipeline_wps"] and paper.gpu_forward_wps == record["forward_wps"]
    # every backbone at the pipeline's pace: the same windows over a rate that is the same for all
    windows = table.loc[~on_cpu, "windows"].sum()
    assert paper.gpu_pipeline_minutes == pytest.approx(60 * windows / record["pipeline_wps"] / 3600)
