"""The command line at its edges (issue 13): bad options, unusable directories, faults.

Each case runs the real command in a subprocess and checks that it ends with
one line on stderr, exit status 2, and no computation: never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundad.cli_errors import EXIT_PIPE, cli_advice, describe_error, run_guarded

REPO = Path(__file__).resolve().parents[1]


def _soundad(*argv, env=None, stdin=None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(REPO), SOUNDAD_OFFLINE="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "soundad.cli", *map(str, argv)], capture_output=True,
                          text=True, env=environment, timeout=300)


def _one_line_error(proc, command: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if ": warning:" not in line]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"soundad {command}: error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Four 2.1-s synthetic clips, long enough for the CLI's windows."""
    from soundad.data import write_synthetic_dataset

    return write_synthetic_dataset(tmp_path_factory.mktemp("clips"), machines=("fan",), snrs=("0dB",),
                                   model_ids=("id_00",), n_normal=3, n_abnormal=1, duration=2.1, progress=False)


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a directory")
    return path


def _extract(clips, tmp_path, *extra):
    return _soundad("extract", "--data", clips, "--out", tmp_path / "out", "--cache", tmp_path / "cache", "-q",
                    *extra)


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--image-size", "7"], "--image-size 7: efficientnet_lite0 needs images of at least 32 px"),
        (["--image-size", "5000"], "--image-size 5000 is above the maximum of 1024 px"),
        (["--device", "mps"], "--device mps: this torch build has no Apple MPS support"),
        (["--layer", "size"], "'size' of efficientnet_lite0 are not feature maps"),
        (["--layer", "no_such_layer"], "unknown layer(s) ['no_such_layer']"),
        (["--backbone", "resnet18"], "pretrained weights are not available"),
    ],
)
def test_extract_options_refused_before_any_work(clips, tmp_path, extra, expected):
    line = _one_line_error(_extract(clips, tmp_path, *extra), "extract")
    assert expected in line
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_channel_and_url_checked_up_front(clips, tmp_path):
    line = _one_line_error(_extract(clips, tmp_path, "--channel", "3"), "extract")
    assert f"--channel 3 is out of range for '{clips}" in line
    assert line.endswith("which has 1 channel(s): expected 0..0 or 'mean'")
    assert not (tmp_path / "cache").exists()
    line = _one_line_error(_soundad("download", tmp_path / "d", "--subset", "--url", "ftp://example.org/"), "download")
    assert "--url must be an http(s) URL, got 'ftp://example.org/'" in line


def test_missing_weights_advice_is_a_cli_flag(clips, tmp_path):
    line = _one_line_error(_extract(clips, tmp_path, "--backbone", "resnet18"), "extract")
    assert "--weights random" in line and "weights='random'" not in line


def test_image_size_that_would_not_fit_in_memory_is_refused(clips, tmp_path):
    line = _one_line_error(_extract(clips, tmp_path, "--image-size", "1024", "--batch-size", "100000"), "extract")
    assert "GiB" in line and "--batch-size" in line


def test_out_or_cache_a_file_is_refused_before_extraction(clips, tmp_path, a_file):
    line = _one_line_error(_soundad("extract", "--data", clips, "--out", a_file, "-q",
                                    "--cache", tmp_path / "cache"), "extract")
    assert f"--out '{a_file}' is a file" in line
    assert not (tmp_path / "cache").exists()  # nothing was extracted
    line = _one_line_error(_soundad("extract", "--data", clips, "--out", tmp_path / "o", "--cache", a_file, "-q"),
                           "extract")
    assert f"--cache '{a_file}' is a file" in line
    line = _one_line_error(_soundad("extract", "--data", clips, "--out", a_file / "sub", "-q"), "extract")
    assert "is a file, not a directory" in line


@pytest.mark.parametrize("command", ["synth", "download"])
def test_synth_and_download_into_a_file(command, a_file):
    line = _one_line_error(_soundad(command, a_file), command)
    assert "is a file, expected a directory" in line


@pytest.mark.parametrize("seed", ["4294967296", "-1"])
def test_seed_outside_numpys_range(clips, tmp_path, seed):
    line = _one_line_error(_soundad("reproduce", "--data", clips, "--out", tmp_path / "r", f"--seed={seed}", "-q"),
                           "reproduce")
    assert "--seed must be an integer from 0 to 4294967295" in line
    assert not (tmp_path / "r").exists()


def test_reproduce_checks_every_backbones_weights_first(clips, tmp_path):
    proc = _soundad("reproduce", "--data", clips, "--out", tmp_path / "r", "--backbones",
                    "efficientnet_lite0,resnet18", "--baselines", "none", "-q", "--cache", tmp_path / "cache")
    assert "resnet18-f37072fd.pth" in _one_line_error(proc, "reproduce")
    assert not (tmp_path / "cache").exists()  # efficientnet_lite0 did not run first


@pytest.mark.parametrize("option", ["--backbones", "--backbone"])
def test_bench_unknown_backbone_before_the_gemm(tmp_path, option):
    proc = _soundad("bench", option, "foo", "--json", tmp_path / "b.json")
    assert "--backbones: unknown backbone(s) foo" in _one_line_error(proc, "bench")
    assert "GFLOP" not in proc.stdout and not (tmp_path / "b.json").exists()


@pytest.mark.parametrize("extra, expected", [
    (["--n-mels", "0"], "--n-mels must be a positive integer, got 0"),
    (["--fmin", "9000"], "needs 0 <= fmin < fmax"),
    (["--image-vmin", "1"], "needs vmin < vmax"),
])
def test_bad_mel_or_image_setting_refused_before_any_work(clips, tmp_path, extra, expected):
    line = _one_line_error(_extract(clips, tmp_path, *extra), "extract")
    assert expected in line
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_windows_longer_than_the_clips_get_cli_advice(clips, tmp_path):
    line = _one_line_error(_extract(clips, tmp_path, "--window-length", "200"), "extract")
    assert "--window-length" in line and "soundad synth --duration" in line
    assert not (tmp_path / "out").exists()


def test_unknown_dataset_refused_before_any_download(tmp_path):
    line = _one_line_error(_soundad("download", tmp_path / "d", "--dataset", "dcase1999"), "download")
    assert "--dataset='dcase1999'; expected one of" in line and "'dcase2020-dev'" in line and "'mimii'" in line
    assert not (tmp_path / "d").exists()


def test_synth_refuses_clips_extract_cannot_window(tmp_path):
    line = _one_line_error(_soundad("synth", tmp_path / "s", "--duration", "0.5"), "synth")
    assert "--duration 0.5" in line and "use --duration 2.02 or more" in line
    assert not (tmp_path / "s").exists()


def test_short_clips_get_cli_advice(tmp_path):
    from soundad.data import write_synthetic_dataset

    root = write_synthetic_dataset(tmp_path / "short", machines=("fan",), snrs=("0dB",), model_ids=("id_00",),
                                   n_normal=2, n_abnormal=1, duration=1.0, progress=False)
    line = _one_line_error(_soundad("extract", "--data", root, "--out", tmp_path / "o", "-q"), "extract")
    assert "shorter than the 2.016 s" in line and "soundad synth --duration" in line
    assert "WindowConfig.length" not in line


def test_synth_overwrite_flag(tmp_path):
    out = tmp_path / "s"
    assert _soundad("synth", out, "--machines", "fan", "--snrs", "0dB", "--ids", "id_00", "--clips", "1",
                    "--duration", "2.1").returncode == 0
    line = _one_line_error(_soundad("synth", out, "--machines", "fan", "--snrs", "0dB", "--ids", "id_00",
                                    "--clips", "2", "--duration", "2.1"), "synth")
    assert "pass --overwrite" in line and "overwrite=True" not in line
    proc = _soundad("synth", out, "--machines", "fan", "--snrs", "0dB", "--ids", "id_00", "--clips", "2",
                    "--duration", "2.1", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert "3 clips under" in proc.stdout


def test_closed_pipe_exits_quietly(tmp_path):
    environment = dict(os.environ, PYTHONPATH=str(REPO), SOUNDAD_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "soundad.cli", "synth", tmp_path / "s", "--machines", "fan",
                             "--snrs", "0dB", "--ids", "id_00", "--clips", "1", "--duration", "2.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    proc.stdout.close()  # the reader is gone before the command prints: `| head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == EXIT_PIPE
    assert err == ""


def test_debug_shows_the_traceback(a_file):
    proc = _soundad("synth", a_file, "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "ParameterError" in proc.stderr


# --------------------------------------------------------------------------- read-only directories
@contextlib.contextmanager
def _immutable(path: Path):
    """``chattr +i``: even root cannot create files inside (skips where chattr cannot do it)."""
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (needs root and a file system with attributes)")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


@contextlib.contextmanager
def _read_only_mount(path: Path):
    """A read-only tmpfs (EROFS), where mounting is allowed (root with CAP_SYS_ADMIN)."""
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)


@pytest.mark.parametrize("make_read_only", [_immutable, _read_only_mount], ids=["immutable", "ro-mount"])
def test_read_only_out_or_cache_refused_before_extraction(clips, tmp_path, make_read_only):
    with make_read_only(tmp_path / "ro") as ro:
        line = _one_line_error(_soundad("extract", "--data", clips, "--out", ro / "out", "-q",
                                        "--cache", tmp_path / "cache"), "extract")
        assert "is not writable" in line and str(ro) in line
        line = _one_line_error(_soundad("reproduce", "--data", clips, "--out", tmp_path / "r", "-q",
                                        "--cache", ro), "reproduce")
        assert f"--cache '{ro}' is not writable" in line
        line = _one_line_error(_soundad("synth", ro / "s"), "synth")
        assert "is not writable" in line
        line = _one_line_error(_soundad("download", ro / "d", "--subset"), "download")
        assert f"DEST '{ro / 'd'}' is not writable (its closest existing parent is '{ro}')" in line
    assert not (tmp_path / "cache").exists()


def test_permission_bits_when_not_root(clips, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop root (the chattr and mount tests cover it)")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        line = _one_line_error(_soundad("extract", "--data", clips, "--out", ro / "o", "-q"), "extract")
        assert "is not writable" in line
    finally:
        ro.chmod(0o755)


# --------------------------------------------------------------------------- the error mapping itself
@pytest.mark.parametrize(
    "error, expected",
    [
        (OSError(errno.EROFS, "Read-only file system", "/mnt/x"), "cannot use '/mnt/x': the file system is read-only"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "f/sub"), "a file stands where a directory is needed"),
        (FileExistsError(errno.EEXIST, "File exists", "f"), "cannot use 'f'"),
        (PermissionError(errno.EACCES, "Permission denied", "/root/x"), "permission denied"),
    ],
)
def test_os_errors_become_one_line(error, expected):
    assert expected in describe_error(error)


def test_network_errors_become_one_line():
    import http.client
    import urllib.error

    line = describe_error(http.client.IncompleteRead(b"abc", 97))
    assert "connection closed after 3 bytes" in line and "run the same command again" in line
    assert "network error: timed out" in describe_error(urllib.error.URLError("timed out"))
    assert describe_error(TimeoutError("slow")).startswith("network error")


def test_bugs_keep_their_traceback():
    assert describe_error(AttributeError("'int' object has no attribute 'ndim'")) is None
    with pytest.raises(KeyError):
        run_guarded("x", lambda: {}["missing"])


def test_run_guarded_maps_and_debug_raises(capsys):
    def fail():
        raise OSError(errno.ENOSPC, "No space left on device", "/full/f.npy")

    assert run_guarded("extract", fail) == 2
    assert capsys.readouterr().err.strip() == (
        "soundad extract: error: cannot use '/full/f.npy': the disk is full; free space or choose another directory")
    with pytest.raises(OSError):
        run_guarded("extract", fail, debug=True)


def test_cli_advice_rewrites_python_arguments():
    assert cli_advice("or use weights='random'") == "or use --weights random"
    assert cli_advice("choose another directory or pass overwrite=True") == "choose another directory or pass --overwrite"


def _wav(path: Path, sr: int, seconds: float = 2.5) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, subtype="PCM_16")


@pytest.fixture
def mixed_rates(tmp_path) -> Path:
    root = tmp_path / "mixed"
    _wav(root / "0dB/fan/id_00/normal/00000000.wav", 16000)
    _wav(root / "0dB/fan/id_00/normal/00000001.wav", 44100)
    _wav(root / "0dB/fan/id_00/abnormal/00000000.wav", 8000)
    return root


def test_strict_rate_refuses_other_rates(mixed_rates, tmp_path):
    line = _one_line_error(_soundad("extract", "--data", mixed_rates, "--out", tmp_path / "o", "-q",
                                    "--strict-rate"), "extract")
    assert "2 clip(s) are not at 16000 Hz" in line and "at 8000 Hz" in line and "at 44100 Hz" in line


def test_other_rates_resampled_with_one_warning(mixed_rates, tmp_path):
    proc = _soundad("extract", "--data", mixed_rates, "--out", tmp_path / "o", "-q")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "are not at 16000 Hz" in line]
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].startswith("soundad extract: warning: 2 of 3 clips")
    assert "8000 Hz" in warnings[0] and "44100 Hz" in warnings[0] and "--strict-rate" in warnings[0]


@pytest.mark.parametrize("split, expected", [
    ("random", "has 1 normal clip(s); a split needs at least 2 (one to train on, one to test)"),
    ("mimii", "leaves none to train on; use --split random for such small sets"),
])
def test_one_normal_clip_advice_that_can_work(tmp_path, split, expected):
    from soundad.data import write_synthetic_dataset

    root = write_synthetic_dataset(tmp_path / "one", machines=("fan",), snrs=("0dB",), model_ids=("id_00",),
                                   n_normal=1, n_abnormal=1, duration=2.1)
    line = _one_line_error(_soundad("reproduce", "--data", root, "--out", tmp_path / "r", "--weights", "random",
                                    "--baselines", "none", "--split", split, "-q"), "reproduce")
    assert expected in line and "raise train_fraction" not in line


def test_cli_advice_for_detectors():
    message = ("GaussianMixtureDetector: n_components=4 needs at least as many training windows, got n_samples=3. "
               "Use fewer components or more training clips.")
    assert cli_advice(message).endswith("Use more (or longer) training clips, or leave gmm out of --detectors.")
