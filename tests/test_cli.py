"""The command line: a real run's JSON/CSV, presets, and one-line errors with exit code 2."""

import csv
import json
import subprocess
import sys

import pytest


def fedsim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fedsim", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_run_writes_json_and_csv(tmp_path):
    cfg = {"seed": 1, "rounds": 2, "dataset": {"name": "digits"},
           "clients": {"num_clients": 4}, "partition": {"name": "dirichlet", "alpha": 0.5}}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    p = fedsim("run", "--config", str(tmp_path / "c.json"), "--rounds", "3",
               "--out", str(tmp_path / "run.json"), "--csv", str(tmp_path / "run.csv"))
    assert p.returncode == 0, p.stderr
    assert "round    3/3" in p.stderr  # progress on stderr
    d = json.loads((tmp_path / "run.json").read_text())
    assert [r["round"] for r in d["rounds"]] == [1, 2, 3]
    r = d["rounds"][-1]
    assert 0 <= r["global"]["accuracy"] <= 1 and r["global"]["loss"] > 0
    c = r["clients"][0]
    for key in ("id", "num_examples", "train_loss", "val_accuracy", "update_norm"):
        assert key in c
    counts = [cl["label_counts"] for cl in d["partition"]["clients"]]
    assert len(counts) == 4 and sum(map(sum, counts)) == sum(
        cl["num_examples"] for cl in d["partition"]["clients"])
    rows = list(csv.DictReader((tmp_path / "run.csv").open()))
    assert len(rows) == 3 * 4
    assert float(rows[-1]["global_accuracy"]) == pytest.approx(r["global"]["accuracy"])


def test_regression_run_reports_mse(tmp_path):
    p = fedsim("run", "--preset", "article-regression", "--rounds", "2", "--out", "-", "--quiet")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert "mse" in d["rounds"][0]["global"] and "val_mse" in d["rounds"][0]["clients"][0]


def test_presets_are_listed_and_all_valid():
    p = fedsim("presets")
    assert p.returncode == 0 and "label-skew" in p.stdout
    from fedsim.presets import PRESETS

    for preset in PRESETS.values():
        preset.build()


@pytest.mark.parametrize("content, fragment", [
    ('{"clients": {"num_clients": -3}}', "clients.num_clients: got -3"),
    ("not json", "not valid JSON"),
    ('{"partition": {"name": "weird"}}', "partition.name: got 'weird'; allowed: one of"),
    ('{"aggregation": {"name": "median"}, "privacy": {"secure_aggregation": {"enabled": true}}}',
     "aggregation.name"),
    ('{"dataset": {"name": "breast_cancer"}, "clients": {"num_clients": 400}}',
     "clients.num_clients"),
    ('{"seed": 1, "rounds": 2, "extra": 5}', "extra: unknown key"),
])
def test_bad_config_is_one_line_exit_2_no_traceback(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    p = fedsim("run", "--config", str(path), "--quiet")
    assert p.returncode == 2
    assert fragment in p.stderr
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_missing_file_and_bad_flags_exit_2(tmp_path):
    p = fedsim("run", "--config", str(tmp_path / "nope.json"))
    assert p.returncode == 2 and "cannot read" in p.stderr and "Traceback" not in p.stderr
    p = fedsim("run", "--preset", "iid", "--rounds", "zero")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    p = fedsim("run", "--preset", "unknown")
    assert p.returncode == 2 and "--preset: got 'unknown'" in p.stderr


def test_unwritable_output_fails_before_running(tmp_path):
    p = fedsim("run", "--preset", "iid", "--out", str(tmp_path / "missing" / "run.json"))
    assert p.returncode == 2 and "--out: folder" in p.stderr
    assert "importing TensorFlow" not in p.stderr  # rejected before the slow part
