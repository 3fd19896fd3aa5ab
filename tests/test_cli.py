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
    options = [a for a in sub._actions if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]
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


# --------------------------------------------------------------------------- options from the settings objects
def _config_classes():
    from soundad.backbones.config import BackboneConfig
    from soundad.features import ImageConfig, MelConfig, WindowConfig

    return (MelConfig, WindowConfig, ImageConfig, BackboneConfig)


def _all_actions():
    for name, sub in _subparsers(build_parser()).items():
        for action in sub._actions:
            yield name, action


def test_every_cli_default_equals_its_dataclass_default():
    import dataclasses

    derived = [(name, action) for name, action in _all_actions() if hasattr(action, "config_field")]
    assert len(derived) > 40  # mel, window, image and backbone fields on extract, reproduce and bench
    for name, action in derived:
        cls, field = action.config_field
        default = {f.name: f.default for f in dataclasses.fields(cls)}[field]
        assert action.default == default, (name, action.option_strings, action.default, default)
        assert type(action.default) is type(default), (name, action.option_strings)
    # the feature settings are complete on every command that makes windows
    for command in ("extract", "reproduce", "bench"):
        fields = {action.config_field for n, action in derived if n == command}
        for cls in _config_classes()[:3]:
            assert {(cls, f.name) for f in dataclasses.fields(cls)} <= fields, (command, cls.__name__)
    # no hand-written option shadows a derived one (e.g. a second --image-size with its own default);
    # the one exception is the grid's list of weights (reproduce --weights imagenet,random)
    from soundad.cli.arguments import csv_list

    derived_dests = {action.dest for _, action in derived}
    for name, action in _all_actions():
        if action.dest in derived_dests and not hasattr(action, "config_field"):
            assert (name, action.dest, action.type) == ("reproduce", "weights", csv_list), (name, action.dest)


def test_parsed_defaults_build_the_default_configs():
    from soundad.backbones.config import BackboneConfig
    from soundad.cli.settings import backbone_config, feature_configs
    from soundad.features import ImageConfig, MelConfig, WindowConfig

    args = build_parser().parse_args(["extract", "--data", "d", "--out", "o"])
    assert feature_configs(args) == {"mel": MelConfig(), "window": WindowConfig(), "image": ImageConfig()}
    assert backbone_config(args) == BackboneConfig()


def test_non_default_options_reach_the_configs():
    from soundad.cli.settings import backbone_config, feature_configs

    args = build_parser().parse_args([
        "extract", "--data", "d", "--out", "o", "--n-mels", "64", "--hop-length", "256", "--window-length", "32",
        "--window-hop", "8", "--image-size", "96", "--image-colormap", "gray", "--backbone", "resnet18",
        "--weights", "random", "--no-fuse-bn", "--batch-size", "4", "--compile-mode", "default",
    ])
    configs = feature_configs(args)
    assert (configs["mel"].n_mels, configs["mel"].hop_length) == (64, 256)
    assert (configs["window"].length, configs["window"].hop) == (32, 8)
    assert (configs["image"].size, configs["image"].colormap) == (96, "gray")
    backbone = backbone_config(args)
    assert (backbone.name, backbone.weights, backbone.fuse_bn, backbone.batch_size) == ("resnet18", "random", False, 4)
    assert backbone.compile_mode == "default" and backbone.channels_last is True


def test_config_validation_names_the_option():
    from soundad.cli.settings import feature_configs
    from soundad.errors import ParameterError

    args = build_parser().parse_args(["reproduce", "--data", "d", "--out", "o", "--n-mels", "0"])
    with pytest.raises(ParameterError, match=r"^--n-mels must be a positive integer, got 0"):
        feature_configs(args)
    args = build_parser().parse_args(["bench", "--fmax", "9000"])
    with pytest.raises(ParameterError, match=r"--fmax=9000.0 Hz is above the Nyquist"):
        feature_configs(args)


@pytest.fixture
def two_clips(tmp_path):
    """One normal and one abnormal real MIMII clip (the embedded sample), in MIMII's layout."""
    import shutil

    from soundad.data import embedded_sample_root

    sample = embedded_sample_root() / "0dB" / "fan" / "id_00"
    root = tmp_path / "two"
    for label in ("normal", "abnormal"):
        source = sorted((sample / label).iterdir())[0]
        target = root / "0dB" / "fan" / "id_00" / label / source.name
        target.parent.mkdir(parents=True)
        shutil.copy(source, target)
    return root


def test_extract_n_mels_reaches_extract_features(two_clips, tmp_path, monkeypatch, capsys):
    import numpy as np

    import soundad.extract
    from soundad.features import ImageConfig, MelConfig, WindowConfig

    real, seen = soundad.extract.extract_features, []

    def spy(clips, **kwargs):
        seen.append(kwargs)
        return real(clips, **kwargs)

    monkeypatch.setattr(soundad.extract, "extract_features", spy)
    rc = main(["extract", "--data", str(two_clips), "--out", str(tmp_path / "f"), "--weights", "random",
               "--n-mels", "64", "--window-hop", "64", "--image-size", "32", "--device", "cpu", "-q"])
    assert rc == 0, capsys.readouterr().err
    (kwargs,) = seen
    assert kwargs["mel"] == MelConfig(n_mels=64)
    assert kwargs["window"] == WindowConfig(hop=64) and kwargs["image"] == ImageConfig(size=32)
    assert kwargs["config"].weights == "random" and kwargs["config"].device == "cpu"
    assert np.load(tmp_path / "f" / "features.npy").shape[0] >= 2


def test_reproduce_and_bench_pass_the_configs_on(monkeypatch):
    import soundad.bench
    import soundad.reproduce
    from soundad.cli.bench_command import cmd_bench
    from soundad.cli.reproduce_command import run_grid_from_args
    from soundad.features import ImageConfig, MelConfig, WindowConfig

    class Stop(Exception):
        pass

    seen = {}

    def capture(key):
        def fake(*args, **kwargs):
            seen[key] = kwargs
            raise Stop

        return fake

    monkeypatch.setattr(soundad.reproduce, "run_grid", capture("grid"))
    monkeypatch.setattr(soundad.bench, "run_bench", capture("bench"))
    args = build_parser().parse_args(["reproduce", "--data", "d", "--out", "o", "--n-mels", "64",
                                      "--window-length", "32", "--batch-size", "2", "--front-end", "torch"])
    with pytest.raises(Stop):
        run_grid_from_args(args, None)
    grid = seen["grid"]
    assert grid["mel"] == MelConfig(n_mels=64) and grid["window"] == WindowConfig(length=32)
    assert grid["image"] == ImageConfig() and (grid["batch_size"], grid["front_end"]) == (2, "torch")
    with pytest.raises(Stop):
        cmd_bench(build_parser().parse_args(["bench", "--hop-length", "256", "--image-size", "64"]))
    bench = seen["bench"]
    assert bench["mel"] == MelConfig(hop_length=256) and bench["image"] == ImageConfig(size=64)
    assert bench["backbones"] == soundad.bench.BENCH_BACKBONES and bench["device"] == "auto"



def test_reproduce_backbone_config_keeps_the_default_weights(monkeypatch, tmp_path):
    """reproduce's --weights (a list, dest ``weights``) is no BackboneConfig field option: not read into one."""
    import soundad.cli.settings
    import soundad.reproduce
    from soundad.backbones import BackboneConfig
    from soundad.cli.reproduce_command import run_grid_from_args
    from soundad.preflight import check_command

    built = []
    real = soundad.cli.settings.config_from_args

    def spy(cls, *args, **kwargs):
        config = real(cls, *args, **kwargs)
        if cls is BackboneConfig:
            built.append(config)
        return config

    monkeypatch.setattr(soundad.cli.settings, "config_from_args", spy)
    monkeypatch.setattr(soundad.reproduce, "run_grid", lambda *args, **kwargs: None)
    args = build_parser().parse_args(["reproduce", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"),
                                      "--weights", "imagenet,random", "--device", "cpu", "--batch-size", "3"])
    check_command(args)  # the preflight builds the command's BackboneConfig too
    run_grid_from_args(args, None)
    assert len(built) == 2
    for config in built:
        assert config == BackboneConfig(device="cpu", batch_size=3)
        assert config.weights == BackboneConfig().weights == "imagenet"


# --------------------------------------------------------------------------- option names
def test_singular_options_take_one_value_and_plural_ones_a_list():
    from soundad.cli.arguments import csv_list, layer_list

    kinds: dict[str, set[str]] = {}
    for name, action in _all_actions():
        for option in action.option_strings:
            if option.startswith("--") and action.help != argparse.SUPPRESS:
                kinds.setdefault(option, set()).add("list" if action.type in (csv_list, layer_list) else "one")
    lists = {option for option, kind in kinds.items() if "list" in kind}
    assert lists >= {"--backbones", "--layers", "--detectors", "--baselines", "--snrs", "--model-ids", "--machines"}
    for option in lists:
        assert option.endswith("s"), option  # a list is plural
        if option != "--weights":  # the same word for one and many: one in extract, a list in reproduce
            assert kinds[option] == {"list"}, option
    for option in ("--backbone", "--layer", "--snr", "--model-id", "--machine"):
        assert kinds[option] == {"one"}, option


def test_old_spellings_still_parse():
    parser = build_parser()
    assert parser.parse_args(["synth", "o", "--ids", "id_00,id_02"]).model_ids == ("id_00", "id_02")
    assert parser.parse_args(["synth", "o", "--model-ids", "id_04"]).model_ids == ("id_04",)
    assert parser.parse_args(["download", "d", "--id", "id_02"]).model_id == "id_02"
    assert parser.parse_args(["download", "d", "--model-id", "id_04"]).model_id == "id_04"
    assert parser.parse_args(["bench", "--backbone", "resnet18"]).backbones == ("resnet18",)
    assert parser.parse_args(["bench", "--backbones", "resnet18,alexnet"]).backbones == ("resnet18", "alexnet")
    assert parser.parse_args(["bench"]).backbones is None  # run_bench's BENCH_BACKBONES


def test_bench_backbone_with_a_list_points_to_backbones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--backbone", "resnet18,alexnet"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "takes one name" in err and "use --backbones resnet18,alexnet" in err


def test_config_options_helper_on_a_toy_dataclass():
    import dataclasses

    from soundad.cli.config_options import add_config_options, config_from_args, parameter_docs
    from soundad.errors import ParameterError

    @dataclasses.dataclass(frozen=True)
    class Toy:
        """A toy.

        Parameters
        ----------
        rate, depth : float > 0 [Hz], default=1.5, 2.0
            How fast and how deep.
        mode : {"a", "b", None}, default="a"
            Which mode.
        loud : bool, default=True
            Shout.
        """

        rate: float = 1.5
        depth: float = 2.0
        mode: str | None = "a"
        loud: bool = True
        count: int = dataclasses.field(default=3, metadata={"help": "how many (from the metadata)"})

    docs = parameter_docs(Toy)
    assert docs["rate"] == docs["depth"] == ('float > 0 [Hz], default=1.5, 2.0', "How fast and how deep.")
    parser = argparse.ArgumentParser()
    actions = {a.dest: a for a in add_config_options(parser, Toy, prefix="toy-")}
    assert actions["toy_mode"].choices == ("a", "b") and actions["toy_rate"].type is float
    assert actions["toy_count"].help == "how many (from the metadata)" and actions["toy_count"].type is int
    assert "[Hz]" in actions["toy_rate"].help
    assert config_from_args(Toy, parser.parse_args([]), prefix="toy-") == Toy()
    args = parser.parse_args(["--toy-rate", "3", "--no-toy-loud", "--toy-mode", "b", "--toy-count", "7"])
    assert config_from_args(Toy, args, prefix="toy-") == Toy(rate=3.0, mode="b", loud=False, count=7)
    with pytest.raises(SystemExit):
        parser.parse_args(["--toy-mode", "c"])
    with pytest.raises(ParameterError, match="has no field"):
        add_config_options(argparse.ArgumentParser(), Toy, fields=("speed",))
