"""fedsim.data.csvfile: a user's CSV as a fedsim Dataset (clean, messy, malformed, too large)."""

from __future__ import annotations

import numpy as np
import pytest

from fedsim.config import PartitionConfig
from fedsim.data.csvfile import (CSVColumnError, CSVData, CSVOptions, CSVParseError,
                                 CSVTooLargeError, CSVValueError, inspect_csv, load_csv)
from fedsim.data.partition import partition_pool
from fedsim.errors import ConfigError


def write(tmp_path, text: str, name: str = "data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def clean_rows(n=60):
    rng = np.random.default_rng(1)
    out = ["age,sex,hospital,bp,outcome"]
    for i in range(n):
        age = int(rng.integers(20, 80))
        sex = "F" if rng.random() < 0.5 else "M"
        hosp = f"H{i % 3}"
        bp = round(float(rng.normal(120, 15)), 1)
        outcome = "sick" if age + rng.normal(0, 10) > 50 else "well"
        out.append(f"{age},{sex},{hosp},{bp},{outcome}")
    return "\n".join(out) + "\n"


def test_clean_classification_with_natural_partition(tmp_path):
    p = write(tmp_path, clean_rows())
    d = load_csv(p, CSVOptions(label="outcome", partition_column="hospital"), seed=0)
    ds = d.dataset
    assert isinstance(d, CSVData) and ds.task == "classification" and ds.num_classes == 2
    assert ds.class_names == ("sick", "well")
    # numeric columns standardized with the training pool's statistics; one-hot columns 0/1
    assert ds.feature_names == ("age", "sex=F", "sex=M", "bp")
    np.testing.assert_allclose(ds.x_train[:, [0, 3]].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train[:, [0, 3]].std(0), 1, atol=1e-4)
    assert set(np.unique(ds.x_train[:, 1:3])) == {0.0, 1.0}
    assert np.all(ds.x_train[:, 1:3].sum(1) == 1)
    assert len(ds.x_train) + len(ds.x_test) == 60 and len(ds.x_test) == 12
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert not ds.x_train.flags.writeable
    # natural partition: one client per hospital, disjoint, covering the training pool
    assert d.client_names == ("H0", "H1", "H2")
    allidx = np.concatenate(d.client_indices)
    assert sorted(allidx.tolist()) == list(range(len(ds.x_train)))
    part = partition_pool(ds.y_train, ds.num_features, 3, PartitionConfig(name="natural", min_samples=2),
                          0.2, 0, d.client_indices, d.client_names)
    assert part.num_clients == 3 and all(m.sum() >= 1 for m in part.val_mask)
    # the same seed gives the same split and encoding
    again = load_csv(p, CSVOptions(label="outcome", partition_column="hospital"), seed=0)
    np.testing.assert_array_equal(again.dataset.x_train, ds.x_train)


def test_regression_inferred_and_overridable(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["x1,x2,y"] + [f"{a:.3f},{b:.3f},{2 * a - b + rng.normal(0, .1):.4f}"
                          for a, b in rng.normal(size=(50, 2))]
    p = write(tmp_path, "\n".join(rows))
    d = load_csv(p)  # label defaults to the last column
    assert d.dataset.task == "regression" and d.dataset.num_classes == 1
    assert abs(float(d.dataset.y_train.mean())) < 1e-5  # standardized target
    assert d.dataset.y_train.dtype == np.float32
    # a few integer labels: classification unless told otherwise
    rows = ["x,grade"] + [f"{i},{i % 3}" for i in range(40)]
    p2 = write(tmp_path, "\n".join(rows), "grades.csv")
    assert load_csv(p2).dataset.task == "classification"
    assert load_csv(p2, CSVOptions(task="regression")).dataset.task == "regression"
    info = inspect_csv(p2)
    assert info["label"] == "grade" and info["task"] == "classification" and info["rows"] == 40


def test_column_selection_and_types(tmp_path):
    p = write(tmp_path, clean_rows())
    d = load_csv(p, CSVOptions(label="outcome", columns=("age", "hospital"),
                               categorical=("age",)))
    assert [c.name for c in d.columns] == ["age", "hospital"]
    assert d.columns[0].kind == "categorical" and d.columns[1].kind == "categorical"
    with pytest.raises(CSVColumnError, match="no column 'weight'"):
        load_csv(p, CSVOptions(label="outcome", columns=("weight",)))
    with pytest.raises(CSVColumnError, match="no column 'result' for the label"):
        load_csv(p, CSVOptions(label="result"))
    with pytest.raises(CSVColumnError, match="both the label and the partition"):
        load_csv(p, CSVOptions(label="outcome", partition_column="outcome"))


MESSY = """id , temp ,city,label
1, 36.6 ,Rome,a
2,,Oslo,b

3,37.1,NA,a
4,38.0,Rome,
5,36.9,Oslo,b
6,37.4,Rome,a
7,?,Oslo,b
8,36.8,Rome,a
9,37.9,Oslo,b
10,36.5,Rome,a
11,37.2,Oslo,b
12,37.0,Rome,a
13,36.7,Oslo,b
14,37.3,Rome,a
"""


def test_messy_missing_values_error_names_line_and_column(tmp_path):
    p = write(tmp_path, MESSY, "messy.csv")
    with pytest.raises(CSVValueError) as err:
        load_csv(p, CSVOptions(columns=("temp", "city")))
    assert str(err.value).startswith("messy.csv, line 3, column 'temp': missing value")
    assert err.value.line == 3 and err.value.column == "temp"
    assert isinstance(err.value, ConfigError)


def test_messy_drop_and_impute(tmp_path):
    p = write(tmp_path, MESSY, "messy.csv")
    dropped = load_csv(p, CSVOptions(columns=("temp", "city"), missing="drop"))
    r = dropped.report
    assert r["rows_read"] == 14 and r["dropped_missing_label"] == 1  # blank line skipped
    assert r["dropped_missing_values"] == 3 and r["rows_used"] == 10
    imputed = load_csv(p, CSVOptions(columns=("temp", "city"), missing="impute"))
    assert imputed.report["imputed"] == {"temp": 2, "city": 1}
    assert imputed.report["rows_used"] == 13  # only the unlabeled row is dropped
    assert "city=(missing)" in imputed.dataset.feature_names
    assert np.isfinite(imputed.dataset.x_train).all()


def test_not_a_number_in_a_numeric_column(tmp_path):
    rows = ["a,b,y"] + [f"{i},{i * 2},{i % 2}" for i in range(30)]
    rows[8] = "7,fourteen,1"  # line 9
    p = write(tmp_path, "\n".join(rows))
    with pytest.raises(CSVValueError) as err:
        load_csv(p)
    msg = str(err.value)
    assert msg.startswith("data.csv, line 9, column 'b': 'fourteen' is not a number")
    assert "\n" not in msg
    # declared categorical, the same column is fine
    d = load_csv(p, CSVOptions(categorical=("b",), max_categories=100))
    assert d.columns[1].kind == "categorical"


@pytest.mark.parametrize("text, line, needle", [
    ("a,b,y\n1,2,0\n3,4,1,5\n", 3, "4 fields where the header has 3"),
    ('a,b,y\n1,2,0\n"3,4,1\n', None, "not valid CSV"),
    ("a,,y\n1,2,0\n", 1, "column 2 has no name"),
    ("a,a,y\n1,2,0\n", 1, "names this column twice"),
    ("", None, "empty"),
    ("a,b,y\n", None, "no data rows"),
])
def test_malformed(tmp_path, text, line, needle):
    p = write(tmp_path, text, "bad.csv")
    with pytest.raises(CSVParseError) as err:
        load_csv(p)
    assert needle in str(err.value) and str(err.value).startswith("bad.csv")
    if line is not None:
        assert err.value.line == line and f"line {line}" in str(err.value)


def test_binary_and_non_utf8(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"a,b\n1,2\n\xff\xfe,3\n")
    with pytest.raises(CSVParseError, match=r"x.csv, line 3: byte 0xff is not UTF-8"):
        load_csv(p)
    p.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(CSVParseError, match="binary"):
        load_csv(p)


def test_too_large(tmp_path):
    p = write(tmp_path, "a,y\n" + "1,0\n" * 50, "big.csv")
    with pytest.raises(CSVTooLargeError, match=r"big.csv: the file is .* MB; the limit is"):
        load_csv(p, CSVOptions(max_bytes=100))
    with pytest.raises(CSVTooLargeError, match="more than 20 data rows"):
        load_csv(p, CSVOptions(max_rows=20))
    # uploads (bytes / file objects) are bounded before they are read whole
    with pytest.raises(CSVTooLargeError, match="the uploaded file: the file is more than"):
        load_csv(b"a,y\n" + b"1,0\n" * 50, CSVOptions(max_bytes=100))
    import io

    with pytest.raises(CSVTooLargeError):
        load_csv(io.BytesIO(b"a,y\n" + b"1,0\n" * 50), CSVOptions(max_bytes=100))


def test_default_limits_are_20mb_and_200k_rows(tmp_path):
    from fedsim.data import csvfile as csvdata

    assert csvdata.MAX_BYTES == 20 * 2**20 and csvdata.MAX_ROWS == 200_000
    p = tmp_path / "huge.csv"
    with open(p, "w") as fh:
        fh.write("a,y\n")
        fh.write("1,0\n" * 200_001)  # 0.8 MB: the row cap, not the byte cap, stops it
    with pytest.raises(CSVTooLargeError, match="200,000"):
        load_csv(p)


def test_file_is_only_parsed_as_text(tmp_path):
    """Formulas and Python-looking text stay strings (no eval): a categorical value."""
    rows = ["cmd,y"] + [f"=__import__('os').system('x{i % 2}'),{i % 2}" for i in range(20)]
    p = write(tmp_path, "\n".join(rows))
    d = load_csv(p)
    assert d.columns[0].kind == "categorical" and len(d.columns[0].categories) == 2


def test_options_are_validated():
    with pytest.raises(ConfigError, match="dataset.missing"):
        CSVOptions(missing="guess")
    with pytest.raises(ConfigError, match="dataset.task"):
        CSVOptions(task="clustering")


# --------------------------------------------------------------------------- hostile shapes
def test_one_huge_cell_is_refused_before_any_array_is_built(tmp_path, monkeypatch):
    """A 15 MB file of one 15 MB cell (under the 20 MB cap) made NumPy ask for a 1.2 GiB
    string array and raised a raw MemoryError; now it is a one-line error naming the line,
    and pandas is never asked to parse it."""
    import pandas as pd

    from fedsim.data import csvfile

    p = write(tmp_path, "a,label\n" + "x" * 15_000_000 + ",1\n")
    calls = []
    real = pd.read_csv
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: calls.append(1) or real(*a, **k))
    for fn in (inspect_csv, load_csv):
        with pytest.raises(CSVTooLargeError, match=r"line 2: a value longer than 200 char") as e:
            fn(p)
        assert "\n" not in str(e.value) and len(str(e.value)) < 300
    assert not calls
    # a quoted cell may hold commas: the parsed cells are checked too
    p = write(tmp_path, 'a,label\n"' + ",".join(["y" * 150] * 3) + '",1\n', "q.csv")
    with pytest.raises(CSVTooLargeError, match=r"line 2, column 'a'"):
        inspect_csv(p)
    assert csvfile.MAX_CELL_CHARS == 200


def test_very_wide_files_are_refused_from_the_header(tmp_path):
    header = ",".join(f"c{i}" for i in range(20_000))
    p = write(tmp_path, header + "\n" + ",".join("1" * 20_000) + "\n")
    with pytest.raises(CSVTooLargeError, match=r"line 1: 20,000 columns; the limit is 500"):
        inspect_csv(p)


def test_memory_exhaustion_while_loading_is_the_usual_error(tmp_path, monkeypatch):
    from fedsim.data import csvfile

    p = write(tmp_path, clean_rows())

    def oom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(csvfile, "_is_missing", oom)
    with pytest.raises(CSVTooLargeError, match=r"data\.csv: too large to load in memory"):
        load_csv(p, CSVOptions(label="outcome"))
