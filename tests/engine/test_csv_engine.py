"""Dataset 'csv' end to end: config validation (before TensorFlow), the engine, and the CLI on
small CSV files the tests write (clean, messy, malformed, too large, a natural split)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fedsim import config as fconfig
from fedsim.data import load
from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError, IncompatibleConfigError


def write(tmp_path, text: str, name: str = "data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def clean_rows(n=80, seed=1):
    rng = np.random.default_rng(seed)
    out = ["age,sex,hospital,bp,outcome"]
    for i in range(n):
        age = int(rng.integers(20, 80))
        sex = "F" if rng.random() < 0.5 else "M"
        bp = round(float(rng.normal(120, 15)), 1)
        outcome = "sick" if age + rng.normal(0, 5) > 50 else "well"
        out.append(f"{age},{sex},H{i % 3},{bp},{outcome}")
    return "\n".join(out) + "\n"


def csv_cfg(path, rounds=2, clients=3, **dataset):
    return {"seed": 0, "rounds": rounds, "clients": {"num_clients": clients},
            "dataset": {"name": "csv", "path": path, **dataset}}


def cli(argv, capsys):
    from fedsim.cli import main

    rc = main(argv)
    return rc, capsys.readouterr().err


# --------------------------------------------------------------------------- config only
def checked(d: dict) -> SimulationConfig:
    """A configuration validated, then checked against its file as building a federation does
    (validation alone never opens the file)."""
    cfg = SimulationConfig.from_dict(d)
    load.check_files(cfg)
    return cfg


def test_config_validation_names_the_field(tmp_path):
    p = write(tmp_path, clean_rows())
    with pytest.raises(ConfigError, match=r"^dataset\.path: got None"):
        SimulationConfig.from_dict({"dataset": {"name": "csv"}})
    with pytest.raises(ConfigError, match=r"^dataset\.path: cannot read") as e:
        checked({"dataset": {"name": "csv", "path": str(tmp_path / "no")}})
    assert "\n" not in str(e.value)
    with pytest.raises(IncompatibleConfigError, match="partition.name.*only with dataset 'csv'"):
        SimulationConfig.from_dict({"partition": {"name": "natural"}})
    with pytest.raises(IncompatibleConfigError, match="partition_column"):
        SimulationConfig.from_dict({**csv_cfg(p), "partition": {"name": "natural"}})
    with pytest.raises(IncompatibleConfigError,
                       match=r"clients\.num_clients: got 10.*'hospital' has 3 distinct"):
        checked({**csv_cfg(p, clients=10, partition_column="hospital"),
                                    "partition": {"name": "natural"}})
    with pytest.raises(ConfigError, match=r"dataset\.label: no column 'result'.*'outcome'"):
        checked(csv_cfg(p, label="result"))
    with pytest.raises(ConfigError, match=r"dataset\.columns\[1\]: no column 'wt'"):
        checked(csv_cfg(p, columns=["age", "wt"]))
    with pytest.raises(ConfigError, match=r"dataset\.missing"):
        checked(csv_cfg(p, missing="guess"))
    with pytest.raises(ConfigError, match=r"dataset\.task_override"):
        checked(csv_cfg(p, task_override="clustering"))
    # the csv keys are ignored by the built-in data sets
    assert SimulationConfig.from_dict({"dataset": {"path": "nowhere.csv"}}).task == \
        "classification"


def test_task_is_inferred_from_the_file_and_overridable(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["x1,x2,grade,price"] + [f"{a:.3f},{b:.3f},{int(rng.integers(0, 3))},{a * 3 + b:.4f}"
                                     for a, b in rng.normal(size=(50, 2))]
    p = write(tmp_path, "\n".join(rows) + "\n")
    cfg = checked(csv_cfg(p))
    assert load.task_of(cfg) == "regression" and cfg.model_name == "mlp"  # last column: price
    cfg = checked(csv_cfg(p, label="grade"))
    assert load.task_of(cfg) == "classification"
    assert checked(csv_cfg(p, label="grade",
                                              task_override="regression")).task == "regression"
    with pytest.raises(IncompatibleConfigError, match="model.name"):
        checked({**csv_cfg(p), "model": {"name": "logistic"}})
    with pytest.raises(IncompatibleConfigError, match="model.name.*cnn"):
        checked({**csv_cfg(p, label="grade"), "model": {"name": "cnn"}})


def test_json_round_trip_and_schema(tmp_path):
    import jsonschema

    p = write(tmp_path, clean_rows())
    cfg = SimulationConfig.from_dict({
        **csv_cfg(p, label="outcome", columns=["age", "sex", "bp"], categorical=["sex"],
                  numeric=["bp"], missing="impute", partition_column="hospital",
                  task_override="classification"),
        "partition": {"name": "natural"}})
    assert SimulationConfig.from_json(cfg.to_json()) == cfg
    assert cfg.dataset.columns == ("age", "sex", "bp")
    v = jsonschema.Draft202012Validator(fconfig.config_schema())
    assert not list(v.iter_errors(cfg.to_dict()))
    bad = cfg.to_dict()
    bad["dataset"]["missing"] = "guess"
    assert any(e.validator == "enum" for e in v.iter_errors(bad))


def test_file_metadata_cache_is_keyed_on_mtime_and_size_and_bounded(tmp_path):
    p = write(tmp_path, clean_rows())
    a = load.csv_info(p)
    assert load.csv_info(p) is a  # unchanged file: not read again
    write(tmp_path, clean_rows().replace("outcome", "result"))
    os.utime(p, ns=(1, 1))
    assert load.csv_info(p) is not a and load.csv_info(p)["label"] == "result"
    for i in range(load.CSV_INFO.size + 3):
        load.csv_info(write(tmp_path, clean_rows(20), f"f{i}.csv"))
    assert len(load.CSV_INFO) == load.CSV_INFO.size
    # only metadata is kept: names, kinds, counts, never rows
    assert set(load.csv_info(p)) == {"name", "rows", "columns", "label", "task"}


# --------------------------------------------------------------------------- engine + CLI
def test_cli_clean_csv_classification(tmp_path, capsys):
    p = write(tmp_path, clean_rows())
    cfgp = tmp_path / "cfg.json"
    cfgp.write_text(json.dumps(csv_cfg(p, rounds=3, label="outcome")))
    rc, err = cli(["run", "--config", str(cfgp), "--out", str(tmp_path / "run.json")], capsys)
    assert rc == 0, err
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["config"]["dataset"]["name"] == "csv"
    assert run["partition"]["labels"] == ["sick", "well"]
    assert len(run["rounds"]) == 3 and 0 <= run["rounds"][-1]["global"]["accuracy"] <= 1
    # the hospital column is a categorical feature here (no natural split asked for)
    from fedsim.data.load import load_dataset

    ds = load_dataset(SimulationConfig.from_dict(csv_cfg(p, label="outcome")).dataset, 0)
    assert ds.feature_names == ("age", "sex=F", "sex=M", "hospital=H0", "hospital=H1",
                                "hospital=H2", "bp")


def messy_rows():
    rng = np.random.default_rng(3)
    out = ["Age,city,income,smoker,label"]
    for i in range(60):
        age = "" if i % 7 == 0 else str(int(rng.integers(20, 70)))
        city = "NA" if i % 11 == 0 else rng.choice(["Paris", "Lyon", "Nice"])
        income = "?" if i % 13 == 0 else f"{rng.normal(40, 10):.2f}"
        smoker = rng.choice(["yes", "no"])
        label = "" if i == 5 else ("1" if smoker == "yes" else "0")
        out.append(f"{age}, {city} ,{income},{smoker},{label}")
    return "\n".join(out) + "\n"


def test_cli_messy_csv_error_drop_impute(tmp_path, capsys):
    p = write(tmp_path, messy_rows(), "messy.csv")
    cfgp = tmp_path / "cfg.json"
    cfgp.write_text(json.dumps(csv_cfg(p, clients=2)))
    rc, err = cli(["run", "--config", str(cfgp), "--out", str(tmp_path / "o.json")], capsys)
    assert rc == 2 and not (tmp_path / "o.json").exists()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "messy.csv, line 2, column 'Age': missing value" in err and "impute" in err
    from fedsim.data.load import load_csv_data

    for policy, rows in (("drop", None), ("impute", 59)):
        cfg = SimulationConfig.from_dict(csv_cfg(p, clients=2, missing=policy))
        d = load_csv_data(cfg.dataset, cfg.seed)
        assert d.report["dropped_missing_label"] == 1
        if rows:
            assert d.report["rows_used"] == rows
            assert "city=(missing)" in d.dataset.feature_names
        else:
            assert d.report["rows_used"] < 50
        assert not np.isnan(d.dataset.x_train).any()
        cfgp.write_text(json.dumps(csv_cfg(p, clients=2, missing=policy)))
        rc, err = cli(["run", "--config", str(cfgp), "--rounds", "2", "--out",
                       str(tmp_path / "o.json")], capsys)
        assert rc == 0, err


def test_cli_regression_csv_reports_mse(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=200)
    p = write(tmp_path, "a,b,c,y\n" + "".join(f"{r[0]:.4f},{r[1]:.4f},{r[2]:.4f},{t:.4f}\n"
                                              for r, t in zip(x, y)))
    cfgp = tmp_path / "cfg.json"
    cfgp.write_text(json.dumps({**csv_cfg(p, rounds=15, clients=4),
                                "training": {"lr": 0.05, "local_epochs": 2}}))
    rc, err = cli(["run", "--config", str(cfgp), "--out", str(tmp_path / "o.json")], capsys)
    assert rc == 0, err
    run = json.loads((tmp_path / "o.json").read_text())
    mse = [r["global"]["mse"] for r in run["rounds"]]
    assert mse[-1] < 0.1 < run["initial"]["mse"]  # standardized target: a mean predictor ≈ 1


@pytest.mark.parametrize("content, fragment", [
    (b"a,b,y\n1,2,0\n3,4,1\n5,6,7,1\n", "bad.csv, line 4: 4 fields where the header has 3"),
    (b"a,,y\n1,2,0\n", "bad.csv, line 1: column 2 has no name"),
    (b"a,b,y\n1,2,0\n\xff\xfe,1,1\n", "bad.csv, line 3: byte 0xff is not UTF-8"),
    (b"a,b,a\n1,2,3\n", "bad.csv, line 1, column 'a': the header names this column twice"),
])
def test_cli_malformed_csv_is_one_line_exit_2(tmp_path, content, fragment):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    cfgp = tmp_path / "cfg.json"
    cfgp.write_text(json.dumps(csv_cfg(str(p))))
    out = subprocess.run([sys.executable, "-m", "fedsim", "run", "--config", str(cfgp),
                          "--out", str(tmp_path / "o.json")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert fragment in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "o.json").exists()


def test_cli_too_large_csv_exit_2(tmp_path, capsys):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:  # 21 MB, refused from its size before it is read
        fh.write(b"a,y\n")
        fh.truncate(21 * 2**20)
    cfgp = tmp_path / "cfg.json"
    cfgp.write_text(json.dumps(csv_cfg(str(big))))
    rc, err = cli(["run", "--config", str(cfgp), "--out", str(tmp_path / "o.json")], capsys)
    assert rc == 2 and "big.csv: the file is 21.0 MB; the limit is 20 MB" in err
    many = tmp_path / "many.csv"
    many.write_text("a,y\n" + "1,0\n" * 200_001)
    cfgp.write_text(json.dumps(csv_cfg(str(many))))
    rc, err = cli(["run", "--config", str(cfgp), "--out", str(tmp_path / "o.json")], capsys)
    assert rc == 2 and "more than 200,000 data rows" in err and err.count("\n") == 1


def breast_cancer_csv(path, hospitals=4):
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    rng = np.random.default_rng(0)
    cols = [c.replace(" ", "_") for c in d.feature_names]
    with open(path, "w") as fh:
        fh.write(",".join(cols + ["hospital", "diagnosis"]) + "\n")
        for x, y in zip(d.data, d.target):
            fh.write(",".join(f"{v:.5g}" for v in x) +
                     f",site-{rng.integers(0, hospitals)},{d.target_names[y]}\n")
    return str(path)


def test_natural_split_by_hospital_converges(tmp_path):
    """`python -m fedsim run` on breast cancer as a CSV, one client per hospital."""
    p = breast_cancer_csv(tmp_path / "bc.csv")
    cfg = {**csv_cfg(p, rounds=15, clients=4, label="diagnosis", partition_column="hospital"),
           "partition": {"name": "natural"}}
    cfgp = tmp_path / "cfg.json"
    cfgp.write_text(json.dumps(cfg))
    out = subprocess.run([sys.executable, "-m", "fedsim", "run", "--config", str(cfgp),
                          "--out", str(tmp_path / "run.json")], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["partition"]["labels"] == ["benign", "malignant"]
    # each client holds exactly its hospital's rows of the training pool
    from fedsim.engine.simulation import build_federation

    fed = build_federation(SimulationConfig.from_dict(cfg))
    from fedsim.data.load import load_csv_data

    csv = load_csv_data(SimulationConfig.from_dict(cfg).dataset, 0)
    assert csv.client_names == ("site-0", "site-1", "site-2", "site-3")
    sizes = [c["num_examples"] for c in run["partition"]["clients"]]
    assert sizes == [len(i) for i in csv.client_indices] == [len(i) for i in fed.partition.indices]
    assert sum(sizes) == len(csv.dataset.x_train) and "hospital" not in str(
        csv.dataset.feature_names)
    acc = [r["global"]["accuracy"] for r in run["rounds"]]
    assert acc[-1] >= 0.9, acc


def test_csv_of_a_builtin_set_gives_the_same_arrays(tmp_path):
    """breast_cancer written as a CSV (label 0/1) loads to exactly the built-in arrays: the
    same test split, the same training-pool standardization."""
    from sklearn.datasets import load_breast_cancer

    from fedsim.data.load import load_dataset

    d = load_breast_cancer()
    p = tmp_path / "bc01.csv"
    p.write_text(",".join(f"f{i}" for i in range(30)) + ",target\n" + "".join(
        ",".join(repr(float(v)) for v in x) + f",{y}\n" for x, y in zip(d.data, d.target)))
    a = load_dataset(SimulationConfig.from_dict(csv_cfg(str(p))).dataset, 0)
    b = load_dataset(SimulationConfig.from_dict({"dataset": {"name": "breast_cancer"}}).dataset,
                     0)
    np.testing.assert_allclose(a.x_train, b.x_train, atol=1e-6)
    np.testing.assert_allclose(a.x_test, b.x_test, atol=1e-6)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert a.task == "classification" and a.num_classes == 2
