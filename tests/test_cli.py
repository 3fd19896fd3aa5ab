"""The ``soundad`` command line: help texts, synth, argument handling, error exit codes."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from soundad.cli import build_parser, main
from soundad.data import read_layout

SUBCOMMANDS = ("synth", "download", "extract", "reproduce", "bench")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in text


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help_explains_every_option(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    sub = _subparsers(build_parser())[name]
    options = [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]
    assert options, f"{name} has no options"
    for action in options:
        assert action.help and len(action.help) > 5, f"{name}: {action.dest} has no help text"
        shown = action.option_strings[-1] if action.option_strings else action.metavar
        assert shown in text, f"{name}: {shown} missing from --help"


def test_help_does_not_import_torch():
    code = (
        "import sys; from soundad.cli import build_parser; build_parser().format_help(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_synth_writes_mimii_layout_with_expected_counts(tmp_path, capsys):
    out = tmp_path / "synth"
    # "--snrs -6dB,6dB" (value starting with a minus) must work as written in the README
    rc = main(["synth", str(out), "--machines", "fan,valve", "--snrs", "-6dB,6dB", "--ids", "id_00,id_02",
               "--clips", "3", "--abnormal", "2", "--duration", "2.1"])
    assert rc == 0
    clips = read_layout(out)
    assert len(clips) == 2 * 2 * 2 * (3 + 2)
    counts = clips.groupby(["snr", "machine", "model_id", "label"]).size()
    assert set(counts.index.get_level_values("snr")) == {"-6dB", "6dB"}
    assert set(counts.index.get_level_values("machine")) == {"fan", "valve"}
    assert (counts.xs("normal", level="label") == 3).all()
    assert (counts.xs("abnormal", level="label") == 2).all()
    printed = capsys.readouterr().out
    assert f"{len(clips)} clips" in printed
    assert "valve" in printed and "-6dB" in printed


def test_synth_abnormal_defaults_to_half_of_clips(tmp_path):
    out = tmp_path / "synth"
    assert main(["synth", str(out), "--machines", "pump", "--snrs", "0dB", "--ids", "id_00", "--clips", "4",
                 "--duration", "2.1"]) == 0
    labels = read_layout(out)["label"].value_counts()
    assert labels["normal"] == 4 and labels["abnormal"] == 2


def test_soundad_error_is_one_line_with_exit_code_2(tmp_path, capsys):
    rc = main(["synth", str(tmp_path / "x"), "--machines", "drill", "--duration", "2.1"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("soundad synth: error:")
    assert "drill" in err and "Traceback" not in err


def test_console_script_error_exit_code_2_without_traceback(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "soundad.cli", "reproduce", "--data", str(empty), "--out", str(tmp_path / "run"),
         "--baselines", "none", "-q"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("soundad reproduce: error:")
    assert str(empty) in lines[0] or "empty" in lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["reproduce", "--data", "d", "--out", "o", "--train-fraction", "1.5"],
        ["reproduce", "--data", "d", "--out", "o", "--split", "sometimes"],
        ["reproduce", "--data", "d", "--out", "o", "--repeats", "0"],
        ["synth", "o", "--clips", "0"],
        ["synth", "o", "--machines", "fan,,valve"],
        ["extract", "--data", "d", "--out", "o", "--channel", "left"],
        ["bench", "--device", "tpu"],
    ],
)
def test_malformed_command_line_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_list_options_parse_into_tuples():
    args = build_parser().parse_args(
        ["reproduce", "--data", "d", "--out", "o", "--backbones", "resnet18, alexnet", "--layers", "default,layer3"]
    )
    assert args.backbones == ("resnet18", "alexnet")
    assert args.layers == (None, "layer3")
    assert args.weights == ("imagenet", "random")
    assert args.split == "auto"
    assert args.repeats == 1
    assert build_parser().parse_args(["reproduce", "--data", "d", "--out", "o", "--repeats", "10"]).repeats == 10


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:  # bind, read the port, close: nothing listens there afterwards
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("extra", [["--snrs", "0dB", "--machines", "fan"], ["--subset", "--normal", "2", "--abnormal", "2"]])
def test_download_from_an_unreachable_server_exits_2_with_one_line(tmp_path, capsys, extra):
    url = f"http://127.0.0.1:{_closed_port()}/records/3384388/files"
    rc = main(["download", str(tmp_path / "mimii"), "--url", url, *extra])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("soundad download: error:") and err.count("\n") == 1
    assert "127.0.0.1" in err
