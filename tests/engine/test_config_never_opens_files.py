"""Validating a configuration never touches the file system (issue #27, finding 1): a
configuration naming any server file is checked without opening it, so no message can quote
it. The file is read only when a federation is built, by a caller that allowed the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fedsim.config import SimulationConfig

AUDIT = r"""
import json, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0] in TARGETS:
        opened.append(args[0])
TARGETS = set(json.loads(sys.argv[1]))
sys.addaudithook(hook)
from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError
for path in TARGETS:
    try:
        cfg = SimulationConfig.from_dict({"dataset": {"name": "csv", "path": path, "label": "x"}})
        assert cfg.dataset.path == path
    except ConfigError as exc:
        assert "root:" not in str(exc), str(exc)
print(json.dumps(opened))
"""


def test_validation_opens_none_of_them(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link.csv"
    link.symlink_to("/etc/passwd")
    targets = ["/etc/passwd", "/proc/self/environ", str(fifo), "/dev/zero", str(tmp_path),
               str(link)]
    out = subprocess.run([sys.executable, "-c", AUDIT, json.dumps(targets)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_audit_hook_would_have_seen_an_open(tmp_path):
    """The check above can fail: building the federation (which reads the file) is seen."""
    code = AUDIT.replace("cfg = SimulationConfig", "from fedsim.data.load import check_files\n"
                         "        cfg = SimulationConfig").replace(
        "assert cfg.dataset.path == path", "check_files(cfg)")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(["/etc/passwd"])],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["/etc/passwd"]


@pytest.mark.parametrize("path", ["/proc/self/pagemap", "/dev/zero", "/etc"])
def test_the_cli_names_dataset_path_for_files_it_cannot_use(tmp_path, path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"dataset": {"name": "csv", "path": path, "label": "x"}}))
    out = subprocess.run([sys.executable, "-m", "fedsim", "run", "--config", str(cfg)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    line = out.stderr.strip()
    assert "\n" not in line and line.startswith("fedsim: error: dataset.path"), line


def test_a_single_class_message_shows_the_value_not_numpy(tmp_path):
    from fedsim.data.csvfile import CSVOptions, CSVValueError, load_csv

    p = tmp_path / "one.csv"
    p.write_text("a,label\n" + "".join(f"{i},1\n" for i in range(30)))
    with pytest.raises(CSVValueError) as e:
        load_csv(p, CSVOptions(label="label", task="classification"))
    assert "np.str_" not in str(e.value) and "'1'" in str(e.value)


def test_a_validated_configuration_with_a_stranger_path_is_still_just_a_value():
    cfg = SimulationConfig.from_dict({"dataset": {"name": "csv", "path": "/etc/shadow"}})
    assert SimulationConfig.from_json(cfg.to_json()) == cfg
