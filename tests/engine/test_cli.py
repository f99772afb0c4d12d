"""The command line: a real run's JSON/CSV, presets, and one-line errors with exit code 2."""

import csv
import json
import re
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


DEEP = "[" * 100_000 + "]" * 100_000
LONG_LIST = "[" + ",".join(["1"] * 100_000) + "]"  # 200 kB: read, then echoed cut short
BIG_LIST = "[" + ",".join(["1"] * 700_000) + "]"  # the 1.4 MB seed list from the issue

# (id, file content, a fragment the one-line error must contain). Every row must fail with
# exit 2, one line on stderr, no traceback, before TensorFlow is imported.
BAD_CONFIGS = [
    ("negative", '{"clients": {"num_clients": -3}}', "clients.num_clients: got -3"),
    ("not-json", "not json", "not valid JSON"),
    ("unknown-choice", '{"partition": {"name": "weird"}}',
     "partition.name: got 'weird'; allowed: one of"),
    ("secagg-median", '{"aggregation": {"name": "median"}, '
     '"privacy": {"secure_aggregation": {"enabled": true}}}', "aggregation.name"),
    ("too-many-clients", '{"dataset": {"name": "breast_cancer"}, "clients": {"num_clients": 400}}',
     "clients.num_clients"),
    ("unknown-key", '{"seed": 1, "rounds": 2, "extra": 5}', "extra: unknown key"),
    # numbers JSON allows but Python cannot hold, and tokens JSON does not allow
    ("400-digit-int-as-float", '{"training": {"lr": 1' + "0" * 399 + "}}",
     "training.lr: got a 400-digit integer"),
    ("5000-digit-seed", '{"seed": ' + "7" * 5000 + "}", "seed: got a 5,000-digit integer"),
    ("float-overflow", '{"training": {"lr": 1e400}}', "training.lr: got 1e400"),
    ("nan-token", '{"rounds": NaN}', "rounds: got NaN"),
    ("infinity-token", '{"training": {"lr": -Infinity}}', "training.lr: got -Infinity"),
    ("deep-nesting", DEEP, "nested 100,000 levels deep; allowed: at most 32"),
    ("long-list-seed", '{"seed": ' + LONG_LIST + "}", "seed: got [1, 1, 1"),
    ("oversized-file", '{"seed": ' + BIG_LIST + "}", "is too large: more than 262,144 bytes"),
    # shapes that used to be accepted silently
    ("top-level-null", "null", "must be a JSON object"),
    ("top-level-list", "[1, 2]", "must be a JSON object"),
    ("top-level-number", "3", "got a number"),
    ("null-section", '{"privacy": null}', "privacy: got null; allowed: a JSON object"),
    ("null-subsection", '{"privacy": {"dp": null}}', "privacy.dp: got null"),
    ("duplicate-key", '{"rounds": 3, "rounds": 30}', "rounds: duplicate key"),
    ("nested-duplicate", '{"training": {"lr": 0.1, "lr": 1.0}}', "training.lr: duplicate key"),
    ("fractional-rounds", '{"rounds": 10.5}', "rounds: got 10.5"),
    ("not-utf8", b'{"seed": "\xff\xfe"}', "not UTF-8"),
    # checks that need the data split or the privacy pipeline, still before TensorFlow
    ("classes-per-client", '{"partition": {"name": "pathological", "classes_per_client": 11}}',
     "partition.classes_per_client"),
    ("tiny-alpha", '{"partition": {"name": "dirichlet", "alpha": 1e-12}}', "partition.alpha"),
    ("he-layer", '{"privacy": {"he": {"scheme": "paillier", "layer": 7}}}',
     "privacy.he.layer: got 7; allowed: an index of a weight tensor, 0 to 3"),
    ("tiny-epsilon", '{"privacy": {"dp": {"mode": "central", "target_epsilon": 1e-300}}}',
     "privacy.dp.target_epsilon"),
    ("krum-f", '{"aggregation": {"name": "krum", "krum_byzantine": 9}}',
     "aggregation.krum_byzantine: got 9"),
    ("neighbors-bound", '{"privacy": {"secure_aggregation": {"enabled": true, '
     '"neighbors": 100000}}}', "privacy.secure_aggregation.neighbors: got 100000"),
]


@pytest.mark.parametrize("name, content, fragment",
                         [pytest.param(*c, id=c[0]) if type(c) is tuple else c
                          for c in BAD_CONFIGS])
def test_bad_config_is_one_line_exit_2_no_traceback(tmp_path, name, content, fragment):
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    p = fedsim("run", "--config", str(path), "--out", str(tmp_path / "run.json"))
    assert p.returncode == 2, p.stderr[-2000:]
    assert fragment in p.stderr
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr[-2000:]
    assert len(p.stderr) < 600  # echoed values are cut short
    assert "importing TensorFlow" not in p.stderr  # rejected before the slow part
    assert not (tmp_path / "run.json").exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["bad.json"]  # no temp files left


@pytest.mark.parametrize("source", ["/dev/zero", "folder"])
def test_unbounded_or_odd_config_sources_are_refused(tmp_path, source):
    path = str(tmp_path) if source == "folder" else source
    p = fedsim("run", "--config", path, "--quiet")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert ("too large" if source == "/dev/zero" else "is a folder") in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_integral_float_rounds_is_accepted_as_an_integer(tmp_path):
    """Decided: JSON has one number type, so 10.0 is the integer 10 (10.5 is an error above)."""
    path = tmp_path / "c.json"
    path.write_text('{"rounds": 10.0, "clients": {"num_clients": 4.0}}')
    p = fedsim("show-config", "--config", str(path))
    assert p.returncode == 0, p.stderr
    cfg = json.loads(p.stdout)
    assert cfg["rounds"] == 10 and isinstance(cfg["rounds"], int)
    assert cfg["clients"]["num_clients"] == 4


def test_null_leaves_keep_their_meaning(tmp_path):
    """Decided: a null *section* is an error (above); a null *leaf* that documents null
    (no ε target, the server optimizer's default lr) is accepted."""
    path = tmp_path / "c.json"
    path.write_text('{"privacy": {"dp": {"target_epsilon": null}}, '
                    '"aggregation": {"server_lr": null}}')
    p = fedsim("show-config", "--config", str(path))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["privacy"]["dp"]["target_epsilon"] is None


def test_missing_file_and_bad_flags_exit_2(tmp_path):
    p = fedsim("run", "--config", str(tmp_path / "nope.json"))
    assert p.returncode == 2 and "cannot read" in p.stderr and "Traceback" not in p.stderr
    p = fedsim("run", "--preset", "iid", "--rounds", "zero")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    p = fedsim("run", "--preset", "unknown")
    assert p.returncode == 2 and "--preset: got 'unknown'" in p.stderr


@pytest.mark.parametrize("flag, where, fragment", [
    ("--out", "missing/run.json", "--out: folder"),
    ("--out", ".", "is a folder; allowed: a file path"),
    ("--csv", "/proc/run.csv", "--csv: cannot write in '/proc'"),
])
def test_unwritable_output_fails_before_running(tmp_path, flag, where, fragment):
    target = where if where.startswith("/") else str(tmp_path / where)
    p = fedsim("run", "--preset", "iid", flag, target)
    assert p.returncode == 2 and fragment in p.stderr, p.stderr
    assert "importing TensorFlow" not in p.stderr  # rejected before the slow part
    assert len(p.stderr.strip().splitlines()) == 1


TINY = {"seed": 2, "rounds": 2, "dataset": {"name": "2d", "num_samples": 200},
        "clients": {"num_clients": 3}, "model": {"name": "mlp", "hidden": 8}}


def _strict_json(text: str):
    def no_constants(name):
        raise AssertionError(f"non-JSON token {name} in the output")

    return json.loads(text, parse_constant=no_constants)


def test_outputs_are_strict_json_and_atomic(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(TINY))
    p = fedsim("run", "--config", str(tmp_path / "c.json"), "--quiet")
    assert p.returncode == 0, p.stderr
    summary = _strict_json(p.stdout)
    assert summary["rounds"] == 2 and 0 <= summary["accuracy"] <= 1
    (tmp_path / "run.json").write_text('{"old": true}')
    p = fedsim("run", "--config", str(tmp_path / "c.json"), "--quiet",
               "--out", str(tmp_path / "run.json"))
    assert p.returncode == 0, p.stderr
    assert len(_strict_json((tmp_path / "run.json").read_text())["rounds"]) == 2
    assert sorted(f.name for f in tmp_path.iterdir()) == ["c.json", "run.json"]


def test_divergence_stops_with_one_line_and_writes_nothing(tmp_path):
    cfg = {**TINY, "rounds": 5, "training": {"lr": 10.0},
           "aggregation": {"server_lr": 100.0}}
    cfg["dataset"] = {"name": "digits"}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    p = fedsim("run", "--config", str(tmp_path / "c.json"), "--quiet",
               "--out", str(tmp_path / "run.json"))
    assert p.returncode == 2, p.stderr
    assert "diverged in round" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run.json").exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["c.json"]


def test_file_size_limit_keeps_the_previous_file_and_names_the_path(tmp_path):
    """A real RLIMIT_FSIZE: the write fails with EFBIG; the old file survives intact."""
    import resource

    # ~200 kB of results against a 64 kB limit (TensorFlow's own AutoGraph files fit in it)
    cfg = {**TINY, "rounds": 30, "clients": {"num_clients": 10}}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    out = tmp_path / "run.json"
    out.write_text('{"old": true}')

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    p = subprocess.run([sys.executable, "-m", "fedsim", "run", "--config",
                        str(tmp_path / "c.json"), "--quiet", "--out", str(out)],
                       capture_output=True, text=True, preexec_fn=limit)
    assert p.returncode == 2, p.stderr
    assert f"--out: could not write {str(out)!r}: File too large" in p.stderr
    assert "None" not in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert out.read_text() == '{"old": true}'
    assert sorted(f.name for f in tmp_path.iterdir()) == ["c.json", "run.json"]


def test_ctrl_c_exits_130_with_one_line_and_writes_nothing(tmp_path):
    """A real SIGINT in the middle of training."""
    import signal
    import time

    cfg = {**TINY, "rounds": 10_000}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    out = tmp_path / "run.json"
    out.write_text('{"old": true}')
    proc = subprocess.Popen([sys.executable, "-m", "fedsim", "run", "--config",
                             str(tmp_path / "c.json"), "--out", str(out)],
                            stderr=subprocess.PIPE, text=True)
    lines = []
    deadline = time.time() + 180
    while time.time() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if line.startswith("round    3/"):
            break
        assert line, "".join(lines)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    rest_lines = [ln for ln in rest.splitlines() if not ln.startswith("round ")]
    assert len(rest_lines) == 1, rest
    assert re.fullmatch(r"fedsim: interrupted after round \d+; nothing written", rest_lines[0])
    assert int(re.search(r"round (\d+);", rest_lines[0]).group(1)) >= 3
    assert "Traceback" not in rest
    assert out.read_text() == '{"old": true}'
    assert sorted(f.name for f in tmp_path.iterdir()) == ["c.json", "run.json"]


def test_no_noise_is_allowed_and_says_epsilon_is_infinite(tmp_path):
    """z = 0 is kept (the app shows clipping alone), but the run JSON says ε is infinite
    instead of a bare null that reads as "not computed"."""
    cfg = tmp_path / "c.json"
    cfg.write_text('{"rounds": 1, "dataset": {"name": "2d", "num_samples": 200}, '
                   '"clients": {"num_clients": 4}, '
                   '"privacy": {"dp": {"mode": "central", "noise_multiplier": 0}}}')
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "fedsim", "run", "--config", str(cfg),
                           "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    priv = json.loads(out.read_text())["rounds"][0]["privacy"]
    assert priv["epsilon"] == "inf" and "infinite" in priv["note"]
