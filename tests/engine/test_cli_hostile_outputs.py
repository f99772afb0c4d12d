"""Hostile outputs and inputs of the command line (issue #27), one minimal reproduction each.

Output paths that are not regular files, a symlink planted while training runs, SIGTERM, a
full disk, ``--config`` pointing at a FIFO or a /proc file, a Flower export into a folder
whose name TOML must escape, an infinite ε in the run JSON. Every refusal is one line on
stderr (flag or field, value, what is allowed), exit code 2, no traceback, and leaves no
``.NAME.XXXXXXXX.tmp`` file behind.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import stat
import subprocess
import sys
import time
import tomllib
from collections import namedtuple
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = ("allowed: a file path (a regular file or a new name; not a device, FIFO, folder "
           "or symlink)")
TINY = {"seed": 2, "rounds": 2, "dataset": {"name": "2d", "num_samples": 200},
        "clients": {"num_clients": 3}, "model": {"name": "mlp", "hidden": 8}}


def fedsim(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "fedsim", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-2000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr[-2000:]
    return lines[0]


def temp_files(folder: Path) -> list[str]:
    return sorted(f.name for f in folder.iterdir() if f.name.endswith(".tmp"))


def _device(tmp_path: Path) -> str:
    """A character device that a regression may safely destroy. As root, the old code renamed
    its temporary file over ``/dev/null`` (a regular file from then on, for the whole machine),
    so root gets a private copy of the node in ``tmp_path``; anyone else cannot rename in
    ``/dev``, so ``/dev/null`` itself is safe."""
    if os.geteuid() != 0:
        return "/dev/null"
    path = tmp_path / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError as exc:
        pytest.skip(f"root without mknod ({exc.strerror}): no device that is safe to test on")
    return str(path)


def _special(tmp_path: Path, kind: str) -> tuple[str, Path | None]:
    """An output path of the given kind, and the file a symlink points to (must not change)."""
    victim = tmp_path / "victim.json"
    victim.write_text('{"keep": true}')
    if kind == "device":
        return _device(tmp_path), None
    if kind == "FIFO":
        os.mkfifo(tmp_path / "pipe")
        return str(tmp_path / "pipe"), None
    if kind == "folder":
        (tmp_path / "sub").mkdir()
        return str(tmp_path / "sub"), None
    link = tmp_path / "link.json"
    link.symlink_to(victim if kind == "symlink" else tmp_path / "nowhere.json")
    return str(link), victim


# --------------------------------------------------------------------------- output paths
@pytest.mark.parametrize("flag", ["--out", "--csv"])
@pytest.mark.parametrize("kind", ["device", "FIFO", "folder", "symlink", "dangling symlink"])
def test_special_output_paths_are_refused_before_training(tmp_path, flag, kind):
    path, victim = _special(tmp_path, kind)
    p = fedsim("run", "--preset", "iid", "--rounds", "1", flag, path, timeout=60)
    assert p.returncode == 2, p.stderr
    shown = "symlink" if kind.endswith("symlink") else kind
    assert one_line(p.stderr) == f"fedsim: error: {flag}: {path!r} is a {shown}; {ALLOWED}"
    assert "importing TensorFlow" not in p.stderr  # refused before the slow part
    assert os.path.islink(path) or kind != "symlink"  # the link itself is left alone...
    if victim is not None:
        assert victim.read_text() == '{"keep": true}'  # ...and nothing is written through it
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("command", ["invert", "flower run"])
def test_invert_and_flower_run_refuse_the_same_paths(tmp_path, command):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"rounds": 2, "clients": {"num_clients": 3}}))  # digits
    path, victim = _special(tmp_path, "symlink")
    p = fedsim(*command.split(), "--config", str(cfg), "--out", path, timeout=60)
    assert p.returncode == 2, p.stderr
    assert one_line(p.stderr) == f"fedsim: error: --out: {path!r} is a symlink; {ALLOWED}"
    assert victim.read_text() == '{"keep": true}'
    assert temp_files(tmp_path) == []
    device = _device(tmp_path)
    p = fedsim(*command.split(), "--config", str(cfg), "--out", device, timeout=60)
    assert p.returncode == 2
    assert one_line(p.stderr) == f"fedsim: error: --out: {device!r} is a device; {ALLOWED}"


def test_dev_null_is_named_in_the_message():
    """The issue's example, checked without running anything that could write."""
    from fedsim.outputs import OutputError, check_output_path

    with pytest.raises(OutputError) as err:
        check_output_path("--out", "/dev/null")
    assert str(err.value) == f"--out: '/dev/null' is a device; {ALLOWED}"


def test_a_symlink_planted_during_the_run_is_refused_at_the_rename(tmp_path):
    """The target is checked again right before os.replace: minutes of training lie between
    the reservation and the rename."""
    from fedsim.outputs import OutputError, OutputFiles

    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    target = tmp_path / "run.json"
    outputs = OutputFiles()
    outputs.reserve("--out", str(target), 100)
    (tmp, ) = temp_files(tmp_path)
    assert tmp.startswith(".run.json.")
    target.symlink_to(victim)  # planted "during training"
    with pytest.raises(OutputError, match=r"^--out: '.*run\.json' is a symlink; allowed"):
        outputs.write("--out", '{"rounds": []}')
    outputs.discard()
    assert victim.read_text() == "precious" and target.is_symlink()
    assert temp_files(tmp_path) == []


def test_a_swapped_temporary_file_is_not_renamed_over_the_target(tmp_path):
    """The temporary file is written through the descriptor O_EXCL created, and renamed only
    if its name still points at that file."""
    from fedsim.outputs import OutputError, OutputFiles

    target = tmp_path / "run.json"
    target.write_text("old")
    outputs = OutputFiles()
    outputs.reserve("--out", str(target), 100)
    (tmp, ) = temp_files(tmp_path)
    other = tmp_path / "other"
    other.write_text("someone else's")
    os.replace(other, tmp_path / tmp)
    with pytest.raises(OutputError, match="was replaced by another file"):
        outputs.write("--out", "new")
    outputs.discard()
    assert target.read_text() == "old"


# --------------------------------------------------------------------------- SIGTERM
def test_sigterm_exits_143_with_one_line_and_removes_its_temporary_files(tmp_path):
    """A real SIGTERM in the middle of training (as `kill`, a scheduler or `docker stop`
    send it): the same as Ctrl-C, with exit code 143."""
    cfg = {**TINY, "rounds": 10_000}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    out, table = tmp_path / "run.json", tmp_path / "run.csv"
    out.write_text('{"old": true}')
    proc = subprocess.Popen([sys.executable, "-m", "fedsim", "run", "--config",
                             str(tmp_path / "c.json"), "--out", str(out), "--csv", str(table)],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines = []
    deadline = time.time() + 180
    try:
        while time.time() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if line.startswith("round    1/"):
                break
            assert line, "".join(lines)
        assert len(temp_files(tmp_path)) == 2  # both outputs are reserved while it trains
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 143, rest
    finally:
        if proc.poll() is None:
            proc.kill()
    rest_lines = [ln for ln in rest.splitlines() if not ln.startswith("round ")]
    assert len(rest_lines) == 1, rest
    assert re.fullmatch(r"fedsim: terminated after round \d+; nothing written", rest_lines[0])
    assert "Traceback" not in rest
    assert out.read_text() == '{"old": true}'
    assert sorted(f.name for f in tmp_path.iterdir()) == ["c.json", "run.json"]


# --------------------------------------------------------------------------- free space
Usage = namedtuple("Usage", "total used free")  # what shutil.disk_usage returns


def _usage(free: int) -> Usage:
    return Usage(10**12, 10**12 - free, free)


@pytest.mark.parametrize("free", [0, 10_000])
def test_a_full_disk_is_refused_before_training(tmp_path, monkeypatch, capsys, free):
    import shutil

    from fedsim import cli

    monkeypatch.setattr(shutil, "disk_usage", lambda path: _usage(free))
    before = signal.getsignal(signal.SIGTERM)
    code = cli.main(["run", "--preset", "iid", "--out", str(tmp_path / "run.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert re.fullmatch(rf"fedsim: error: --out: only {'0 bytes' if not free else '9.8 kB'} "
                        rf"free in '.*'; the outputs of this run need about [\d.]+ kB; "
                        "allowed: a folder on a disk with enough free space",
                        one_line(err)), err
    assert "importing TensorFlow" not in err
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is before  # main() puts the handler back


def test_free_space_is_counted_for_both_outputs_on_one_disk(tmp_path, monkeypatch, capsys):
    import shutil

    from fedsim import cli
    from fedsim.presets import get_preset

    cfg = get_preset("iid").build()
    need = cli.estimate_run_bytes(cfg) + cli.estimate_run_bytes(cfg, csv_table=True)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _usage(need - 1))
    code = cli.main(["run", "--preset", "iid", "--out", str(tmp_path / "run.json"),
                     "--csv", str(tmp_path / "run.csv")])
    assert code == 2
    assert one_line(capsys.readouterr().err).startswith("fedsim: error: --csv: only ")
    assert list(tmp_path.iterdir()) == []  # the --out reservation is removed too


# --------------------------------------------------------------------------- --config sources
@pytest.mark.parametrize("path, fragment", [
    ("/proc/self/pagemap", "is too large"),  # endless, and EINVAL for odd read sizes
    ("/dev/zero", "is too large"),
    ("/proc/self/mem", "cannot read '/proc/self/mem': Input/output error"),  # a real OSError
])
def test_odd_config_files_name_the_flag_and_are_bounded(path, fragment):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    p = fedsim("run", "--config", path, "--quiet", timeout=60)
    assert p.returncode == 2
    line = one_line(p.stderr)
    assert line.startswith("fedsim: error: --config: ") and repr(path) in line
    assert fragment in line


def test_an_oserror_while_reading_the_config_names_the_flag(tmp_path, monkeypatch):
    """Any OSError from the read itself (not only from open) says which flag and file."""
    import errno

    from fedsim import jsonio
    from fedsim.errors import ConfigError

    path = tmp_path / "c.json"
    path.write_text("{}")

    def einval(fd, n):
        raise OSError(errno.EINVAL, "Invalid argument")

    with monkeypatch.context() as m:
        m.setattr(jsonio.os, "read", einval)
        with pytest.raises(ConfigError) as err:
            jsonio.read_file(str(path))
    assert str(err.value) == (f"--config: cannot read {str(path)!r}: Invalid argument; "
                              "allowed: a readable JSON file")


def test_a_fifo_config_with_no_writer_does_not_block(tmp_path):
    fifo = tmp_path / "cfg.fifo"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    p = fedsim("run", "--config", str(fifo), "--quiet", timeout=60)
    assert time.monotonic() - t0 < 45
    assert p.returncode == 2
    assert one_line(p.stderr) == (f"fedsim: error: --config: cannot read {str(fifo)!r}: it is "
                                  "a FIFO or pipe that did not finish within 5 s; allowed: a "
                                  "readable JSON file")


def test_a_pipe_config_still_works(tmp_path):
    """`--config <(jq ...)` and `--config /dev/stdin` are pipes: read, not refused."""
    p = subprocess.run([sys.executable, "-m", "fedsim", "show-config", "--config", "/dev/stdin"],
                       input='{"rounds": 7}', capture_output=True, text=True, cwd=ROOT,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["rounds"] == 7


# --------------------------------------------------------------------------- Flower TOML
HOSTILE_STRINGS = ["app_🙂", 'a "quoted" name', "back\\slash\\", "tab\tand\nnewline",
                   "\x00\x1f\x7f", "'''", '"""', "\\u0041", "\U0010ffff", "é ñ 中文"]


@pytest.mark.parametrize("value", HOSTILE_STRINGS)
def test_toml_string_round_trips(value):
    from fedsim.flower.export import toml_string

    assert tomllib.loads(f"k = {toml_string(value)}")["k"] == value


def test_toml_string_refuses_a_path_that_is_not_unicode():
    from fedsim.errors import IncompatibleConfigError
    from fedsim.flower.export import toml_string

    with pytest.raises(IncompatibleConfigError) as err:
        toml_string("app_\udcff")  # a non-UTF-8 byte, as os.fsdecode keeps it
    assert str(err.value).startswith("DIR: got 'app_\\udcff'; allowed: a path that is valid "
                                     "Unicode") and "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["app_🙂", 'app "q" \\ b'])
def test_flower_export_writes_valid_toml_for_any_folder_name(tmp_path, name):
    conf = tmp_path / "cfg.json"
    conf.write_text(json.dumps({"rounds": 2, "clients": {"num_clients": 3}}))
    app = tmp_path / name
    p = fedsim("flower", "export", "--config", str(conf), str(app), timeout=300)
    assert p.returncode == 0, p.stderr
    run = tomllib.loads((app / "pyproject.toml").read_text(encoding="utf-8"))
    run = run["tool"]["flwr"]["app"]["config"]
    assert run["data-dir"] == str(app / "data")
    assert run["result-path"] == str(app / "result.json")


def test_flower_export_fails_with_one_line_when_the_toml_does_not_read_back(tmp_path,
                                                                           monkeypatch):
    """The old writer (json.dumps: surrogate-pair escapes) is caught by the read-back check,
    before anything is written."""
    from fedsim.config import SimulationConfig
    from fedsim.errors import IncompatibleConfigError
    from fedsim.flower import export

    monkeypatch.setattr(export, "toml_string", json.dumps)
    with pytest.raises(IncompatibleConfigError) as err:
        export.export_app(SimulationConfig.from_dict({"rounds": 1}), tmp_path / "app_🙂")
    msg = str(err.value)
    assert msg.startswith("DIR: got ") and "does not read back" in msg and "\n" not in msg
    assert not (tmp_path / "app_🙂").exists()


# --------------------------------------------------------------------------- ε = ∞
def test_infinite_epsilon_is_written_as_inf_not_null(tmp_path):
    """noise_multiplier 0 means no privacy at all: "inf", never the null that means no DP."""
    cfg = {"rounds": 1, "dataset": {"name": "2d", "num_samples": 200},
           "clients": {"num_clients": 4},
           "privacy": {"dp": {"mode": "central", "noise_multiplier": 0}}}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    p = fedsim("run", "--config", str(tmp_path / "c.json"), "--quiet",
               "--out", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv"))
    assert p.returncode == 0, p.stderr
    priv = json.loads((tmp_path / "r.json").read_text())["rounds"][0]["privacy"]
    assert priv["epsilon"] == "inf" and priv["epsilon_rdp"] == "inf"
    assert "infinite" in priv["note"]
    assert (tmp_path / "r.csv").read_text().splitlines()[1].endswith(",inf")


def test_round_json_keeps_null_for_unknown_and_inf_for_infinite():
    from fedsim.engine.results import RoundResult

    r = RoundResult(round=1, sampled=(0,), dropped=(), rejected=(), clients=(),
                    global_metrics={"loss": 1.0, "accuracy": 0.5}, bytes_down=0, bytes_up=0,
                    privacy={"epsilon": math.inf, "epsilon_pld": math.nan,
                             "client_epsilons": (1.5, math.inf), "clip": math.inf,
                             "ldp.epsilon": math.inf}, trace=())
    priv = r.to_dict("classification")["privacy"]
    assert priv == {"epsilon": "inf", "epsilon_pld": None, "client_epsilons": [1.5, "inf"],
                    "clip": None, "ldp.epsilon": "inf"}
    no_dp = RoundResult(**{**r.__dict__, "privacy": {}})
    assert no_dp.to_dict("classification")["privacy"] == {}  # no DP: no ε at all
