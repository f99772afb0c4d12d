"""Bring your own data: a user's CSV file as a fedsim :class:`~fedsim.data.dataset.Dataset`.

Safe and bounded: the file is parsed as CSV text only (pandas' C parser on strings; no
pickle, no ``eval``, no Excel/HTML readers), at most :data:`MAX_BYTES` (20 MB) and
:data:`MAX_ROWS` (200,000) data rows, and every failure is a :class:`CSVError` — a
:class:`~fedsim.errors.ConfigError` — whose one-line message names the line and the column
(``data.csv, line 7, column 'age': 'abc' is not a number ...``). Line numbers count the header
as line 1 (a quoted field spanning several lines shifts later numbers).

What :func:`load_csv` does, in order (each step a choice in :class:`CSVOptions`):

1. label column (``label``; default: the last column) and task (``task``: ``auto`` infers
   regression for a numeric label with more than :data:`MAX_CLASSES_AUTO` distinct values or
   non-integer values, classification otherwise; say ``classification``/``regression`` to
   override);
2. feature columns (``columns``; default: all but the label and the partition column), each
   numeric when every present value is a number, categorical otherwise (``categorical`` /
   ``numeric`` override the guess; a column that is ≥ 90 % numbers but not all is an error at
   the first offender, not a silent category);
3. missing values (empty, ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``) handled as
   ``missing`` says: ``error`` (default: name the first one), ``drop`` (drop those rows) or
   ``impute`` (numeric: the training pool's mean; categorical: its own ``(missing)``
   category). Rows without a label are always dropped (a label is never imputed), and
   counted in :attr:`CSVData.report`;
4. the server's stratified test set, exactly as :func:`fedsim.data.load.load_dataset` holds it
   out (``test_fraction``, the seed's ``test-split`` stream);
5. categorical columns one-hot encoded (columns ``name=value``), numeric columns
   standardized with the *training pool's* mean and std (the one-round federated-analytics
   statistics, never the test set's); a regression target likewise;
6. optionally a natural partition (``partition_column``, e.g. a hospital id): one client per
   distinct value, as per-client index lists into the training pool
   (:attr:`CSVData.client_indices`, which partition ``natural`` hands out one client each).
"""

from __future__ import annotations

import io
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fedsim.data.dataset import Dataset, label_strata, stratified_test_split
from fedsim.errors import ConfigError, short

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
#: Bounds checked while the text is read, before any array is built: a 15 MB file of one
#: 15 MB cell (under the byte cap) made NumPy ask for a 1.2 GiB fixed-width string array,
#: and a file of tens of thousands of columns cost seconds of the shared server's CPU.
#: Category names and numbers are far shorter than 200 characters; 500 columns one-hot
#: encoded are already wider than any model the classroom caps allow.
MAX_CELL_CHARS = 200
MAX_COLUMNS = 500
MAX_CLASSES_AUTO = 20
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
TASKS = ("auto", "classification", "regression")
MISSING_POLICIES = ("error", "drop", "impute")


class CSVError(ConfigError):
    """A CSV file that cannot be used; ``line`` and ``column`` say where (None if nowhere)."""

    code = "csv"

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None,
                 field: str = "dataset.path", value: object = None):
        self.line, self.column = line, column
        super().__init__(field, value, "a CSV file fedsim can read", message=message)


class CSVParseError(CSVError):
    """The text is not well-formed CSV (ragged rows, bad quoting, not UTF-8, no header)."""


class CSVTooLargeError(CSVError):
    """Over :data:`MAX_BYTES`, :data:`MAX_ROWS`, :data:`MAX_COLUMNS` or
    :data:`MAX_CELL_CHARS`, or too large to hold in memory."""


class CSVValueError(CSVError):
    """A value that does not fit its column (not a number, missing, too many categories)."""


class CSVColumnError(CSVError):
    """A column named in the options does not exist, or is used twice."""


@dataclass(frozen=True)
class CSVOptions:
    """How to read a CSV (see the module docstring). Names are column headers."""

    label: str | None = None
    task: str = "auto"
    columns: tuple[str, ...] | None = None
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    missing: str = "error"
    partition_column: str | None = None
    test_fraction: float = 0.2
    max_categories: int = 50
    max_bytes: int = MAX_BYTES
    max_rows: int = MAX_ROWS

    def __post_init__(self):
        if self.task not in TASKS:
            raise ConfigError("dataset.task", self.task, "one of " + ", ".join(map(repr, TASKS)))
        if self.missing not in MISSING_POLICIES:
            raise ConfigError("dataset.missing", self.missing,
                              "one of " + ", ".join(map(repr, MISSING_POLICIES)))
        if not 0.05 <= self.test_fraction <= 0.5:
            raise ConfigError("dataset.test_fraction", self.test_fraction, ">= 0.05 and <= 0.5")
        for name in ("columns", "categorical", "numeric"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, tuple):
                object.__setattr__(self, name, tuple(v))


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    kind: str  # "numeric" or "categorical"
    missing: int
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class CSVData:
    """The loaded file: a fedsim ``Dataset`` plus what was done to get it."""

    dataset: Any  # fedsim.data.dataset.Dataset
    columns: tuple[ColumnInfo, ...]  # the feature columns used, in order
    label: str
    client_indices: tuple[np.ndarray, ...] | None  # natural partition: training-pool rows
    client_names: tuple[str, ...] | None
    report: dict = field(default_factory=dict)  # rows read / dropped / imputed


# --------------------------------------------------------------------------- reading
def _where(name: str, line: int | None = None, column: str | None = None) -> str:
    parts = [name]
    if line is not None:
        parts.append(f"line {line}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


def _read_bytes(source, max_bytes: int) -> tuple[bytes, str]:
    """The raw bytes of a path, bytes or binary/text file object, refusing more than
    ``max_bytes`` before reading them all."""
    if isinstance(source, (str, os.PathLike)):
        name = os.path.basename(os.fspath(source))
        try:
            st = os.stat(source)
            size = st.st_size
            if not stat.S_ISREG(st.st_mode):  # a FIFO would block open(); a device never ends
                raise CSVError(f"dataset.path: {short(os.fspath(source))} is not a regular file; "
                               "allowed: a CSV file", value=os.fspath(source))
        except OSError as exc:
            raise CSVError(f"{name}: cannot read the file: {exc.strerror}",
                           value=os.fspath(source)) from None
        if size > max_bytes:
            raise CSVTooLargeError("dataset.path: " + _too_big(name, size, max_bytes),
                                   value=os.fspath(source))
        # Read at most one byte past the cap: /proc files report size 0, devices never end.
        try:
            with open(source, "rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise CSVError(f"dataset.path: cannot read {short(os.fspath(source))}: "
                           f"{exc.strerror or exc}", value=os.fspath(source)) from None
        if len(data) > max_bytes:
            raise CSVTooLargeError("dataset.path: " + _too_big(name, len(data), max_bytes,
                                                                at_least=True),
                                   value=os.fspath(source))
        return data, name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "the uploaded file"
    else:  # a file object (e.g. Streamlit's UploadedFile)
        name = getattr(source, "name", None) or "the uploaded file"
        data = source.read(max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise CSVTooLargeError(_too_big(name, len(data), max_bytes, at_least=True))
    return data, name


def _too_big(name: str, size: int, limit: int, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (f"{name}: the file is {more}{size / 2**20:.1f} MB; the limit is "
            f"{limit / 2**20:.0f} MB (and {MAX_ROWS:,} rows): use a sample of the rows")


def read_table(source, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS):
    """Parse CSV text into a DataFrame of stripped strings (header = line 1) and the file's
    display name. Raises :class:`CSVParseError` / :class:`CSVTooLargeError`."""
    import pandas as pd

    data, name = _read_bytes(source, max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CSVParseError(f"{_where(name, line)}: byte 0x{data[exc.start]:02x} is not UTF-8 "
                            "text; save the file as CSV (UTF-8)", line=line) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise CSVParseError(f"{_where(name, line)}: a NUL byte; this looks like a binary file, "
                            "not CSV text", line=line)
    if not text.strip():
        raise CSVParseError(f"{name}: the file is empty; expected a header line and rows")
    _check_shape(text, name)
    try:
        df = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                         na_filter=False, skip_blank_lines=False, engine="c",
                         nrows=max_rows + 2, on_bad_lines="error")
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            want, line, got = map(int, m.groups())
            raise CSVParseError(f"{_where(name, line)}: {got} fields where the header has "
                                f"{want}; check for an unquoted comma or a missing value",
                                line=line) from None
        m = re.search(r"row (\d+)", msg)
        line = int(m.group(1)) + 1 if m else None
        raise CSVParseError(f"{_where(name, line)}: not valid CSV ({msg.splitlines()[-1]})",
                            line=line) from None
    except pd.errors.EmptyDataError:
        raise CSVParseError(f"{name}: the file is empty; expected a header line and rows") \
            from None
    header = [str(h).strip() for h in df.iloc[0].tolist()]
    for j, h in enumerate(header):
        if not h:
            raise CSVParseError(f"{_where(name, 1)}: column {j + 1} has no name in the header",
                                line=1)
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if h in seen:
            raise CSVParseError(f"{_where(name, 1, h)}: the header names this column twice "
                                f"(columns {seen[h] + 1} and {j + 1})", line=1, column=h)
        seen[h] = j
    body = df.iloc[1:].reset_index(drop=True)
    body.columns = header
    _check_cells(body, name)
    body = body.apply(lambda s: s.str.strip())
    lines = np.arange(len(body)) + 2
    blank = (body == "").all(axis=1).to_numpy()
    body, lines = body[~blank].reset_index(drop=True), lines[~blank]
    if len(body) > max_rows:
        raise CSVTooLargeError(f"{name}: more than {max_rows:,} data rows; the limit is "
                               f"{max_rows:,} rows (and {MAX_BYTES / 2**20:.0f} MB): use a "
                               "sample of the rows")
    if len(body) == 0:
        raise CSVParseError(f"{name}: a header but no data rows")
    return body, lines, name


def _check_shape(text: str, name: str) -> None:
    """Refuse very wide files and very long unquoted cells before pandas parses anything
    (a C-speed scan of the text)."""
    header = text.split("\n", 1)[0]
    if header.count(",") + 1 > MAX_COLUMNS:
        raise CSVTooLargeError(f"{_where(name, 1)}: {header.count(',') + 1:,} columns; the "
                               f"limit is {MAX_COLUMNS} columns: keep the ones you need")
    m = re.search("[^,\n]{%d}" % (MAX_CELL_CHARS + 1), text)
    if m:
        line = text[:m.start()].count("\n") + 1
        raise CSVTooLargeError(f"{_where(name, line)}: a value longer than {MAX_CELL_CHARS} "
                               "characters; CSV cells here are numbers or short category "
                               "names", line=line)


def _check_cells(body, name: str) -> None:
    """The same bound on every parsed cell (a quoted cell may hold commas)."""
    for col in body.columns:
        n = body[col].str.len()
        if len(n) and int(n.max()) > MAX_CELL_CHARS:
            row = int(n.to_numpy().argmax())
            raise CSVTooLargeError(f"{_where(name, row + 2, col)}: a value longer than "
                                   f"{MAX_CELL_CHARS} characters; CSV cells here are numbers "
                                   "or short category names", line=row + 2, column=col)


def _is_missing(s) -> np.ndarray:
    return s.str.lower().isin(MISSING_TOKENS).to_numpy()


def _as_numbers(s):
    import pandas as pd

    return pd.to_numeric(s, errors="coerce").to_numpy(np.float64)


@dataclass(frozen=True)
class ColumnGuess:
    name: str
    kind: str
    missing: int
    distinct: int
    integer: bool = False  # numeric and every present value a whole number
    distinct_numbers: int = 0  # distinct numeric values (``1`` and ``1.0`` are one)


def auto_task(numeric: bool, distinct: int, integer: bool) -> str:
    """The task ``task='auto'`` infers for a label column: regression for a numeric label with
    more than :data:`MAX_CLASSES_AUTO` distinct values or non-integer values."""
    return "regression" if numeric and (distinct > MAX_CLASSES_AUTO or not integer) \
        else "classification"


def guess_task(info: dict, label: str | None = None) -> str:
    """The task ``load_csv`` infers for ``label`` (default: the last column) from an
    :func:`inspect_csv` result."""
    cols = {c.name: c for c in info["columns"]}
    c = cols[label] if label is not None else info["columns"][-1]
    return auto_task(c.kind == "numeric", c.distinct_numbers, c.integer)


def _bounded(fn):
    """Memory exhaustion while parsing or encoding becomes the usual one-line error naming the
    file, not a traceback in the server every student shares."""
    import functools

    @functools.wraps(fn)
    def wrapper(source, *args, **kwargs):
        try:
            return fn(source, *args, **kwargs)
        except (MemoryError, OverflowError):
            name = os.path.basename(os.fspath(source)) if isinstance(
                source, (str, os.PathLike)) else getattr(source, "name", None) or "the file"
            raise CSVTooLargeError(f"{name}: too large to load in memory; the limits are "
                                   f"{MAX_BYTES / 2**20:.0f} MB, {MAX_ROWS:,} rows and "
                                   f"{MAX_COLUMNS} columns: use a sample") from None
    return wrapper


@_bounded
def inspect_csv(source, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> dict:
    """A quick look for an upload form: rows, columns with guessed kind, missing counts and
    distinct values, and the suggested label and task (no options needed)."""
    body, _, name = read_table(source, max_bytes=max_bytes, max_rows=max_rows)
    cols = []
    for c in body.columns:
        miss = _is_missing(body[c])
        vals = body[c][~miss]
        nums = _as_numbers(vals)
        kind = "numeric" if len(vals) and np.isfinite(nums).all() else "categorical"
        integer = kind == "numeric" and bool(np.all(nums == np.round(nums)))
        nnum = len(np.unique(nums)) if kind == "numeric" else 0
        cols.append(ColumnGuess(c, kind, int(miss.sum()), int(vals.nunique()), integer, nnum))
    label = cols[-1]
    task = auto_task(label.kind == "numeric", label.distinct_numbers, label.integer)
    return {"name": name, "rows": len(body), "columns": cols, "label": label.name, "task": task}


# --------------------------------------------------------------------------- loading
@_bounded
def load_csv(source, options: CSVOptions | None = None, seed: int = 0) -> CSVData:
    """Read, check, encode and split a CSV into a fedsim ``Dataset`` (see the module doc)."""
    o = options or CSVOptions()
    body, lines, name = read_table(source, max_bytes=o.max_bytes, max_rows=o.max_rows)
    cols = list(body.columns)

    def need(col: str | None, what: str) -> None:
        if col is not None and col not in cols:
            raise CSVColumnError(f"{name}: no column {col!r} for the {what}; the columns are "
                                 + ", ".join(map(repr, cols)), column=col,
                                 field=f"dataset.{what.replace(' ', '_')}", value=col)

    label = o.label if o.label is not None else cols[-1]
    need(label, "label")
    need(o.partition_column, "partition column")
    if o.partition_column == label:
        raise CSVColumnError(f"{name}: column {label!r} cannot be both the label and the "
                             "partition column", column=label, field="dataset.partition_column",
                             value=label)
    if o.columns is not None:
        feats = list(o.columns)
        for c in feats:
            need(c, "columns")
        for c in feats:
            if c in (label, o.partition_column):
                raise CSVColumnError(f"{name}: column {c!r} is the label or the partition "
                                     "column; it cannot also be a feature", column=c,
                                     field="dataset.columns", value=c)
        if len(set(feats)) != len(feats):
            raise CSVColumnError(f"{name}: a feature column is listed twice",
                                 field="dataset.columns", value=feats)
    else:
        feats = [c for c in cols if c not in (label, o.partition_column)]
    for c in (*o.categorical, *o.numeric):
        need(c, "columns")
        if c not in feats:
            raise CSVColumnError(f"{name}: column {c!r} is typed but not used as a feature",
                                 column=c, field="dataset.columns", value=c)
    if not feats:
        raise CSVColumnError(f"{name}: no feature columns left besides the label",
                             field="dataset.columns", value=[])
    report: dict = {"rows_read": int(len(body))}

    # ---- label and task
    lab = body[label]
    lab_missing = _is_missing(lab)
    keep = ~lab_missing
    report["dropped_missing_label"] = int(lab_missing.sum())
    if o.partition_column is not None:
        pm = _is_missing(body[o.partition_column])
        if pm.any():
            i = int(np.flatnonzero(pm)[0])
            raise CSVValueError(f"{_where(name, int(lines[i]), o.partition_column)}: the "
                                "partition column is empty here; every row needs its client",
                                line=int(lines[i]), column=o.partition_column)
    lab_num = _as_numbers(lab)
    numeric_label = bool(np.isfinite(lab_num[keep]).all())
    task = o.task
    if task == "auto":
        vals = lab_num[keep]
        task = auto_task(numeric_label, len(np.unique(vals)),
                         bool(np.all(vals == np.round(vals))))
    if task == "regression" and not numeric_label:
        i = int(np.flatnonzero(keep & ~np.isfinite(lab_num))[0])
        raise CSVValueError(f"{_where(name, int(lines[i]), label)}: {lab.iloc[i]!r} is not a "
                            "number, and a regression label must be; choose classification or "
                            "another label", line=int(lines[i]), column=label)

    # ---- feature kinds
    kinds: dict[str, str] = {}
    for c in feats:
        s = body[c]
        miss = _is_missing(s)
        nums = _as_numbers(s)
        bad = ~miss & ~np.isfinite(nums)
        present = int((~miss).sum())
        if c in o.categorical:
            kinds[c] = "categorical"
        elif c in o.numeric or (present and bad.sum() <= 0.1 * present and bad.any()):
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                why = ("the column is declared numeric" if c in o.numeric else
                       f"{present - int(bad.sum())} of its {present} values are numbers")
                raise CSVValueError(
                    f"{_where(name, int(lines[i]), c)}: {s.iloc[i]!r} is not a number ({why}); "
                    "fix the value, write it as empty/NA to mark it missing, or declare the "
                    "column categorical", line=int(lines[i]), column=c)
            kinds[c] = "numeric"
        else:
            kinds[c] = "numeric" if present and not bad.any() else "categorical"
        if present == 0:
            raise CSVValueError(f"{_where(name, None, c)}: every value is missing; leave the "
                                "column out", column=c)

    # ---- missing values
    imputed: dict[str, int] = {}
    for c in feats:
        miss = _is_missing(body[c]) & keep
        if not miss.any():
            continue
        if o.missing == "error":
            i = int(np.flatnonzero(miss)[0])
            raise CSVValueError(f"{_where(name, int(lines[i]), c)}: missing value; choose "
                                "missing 'drop' (drop such rows) or 'impute' (training-pool "
                                "mean / a '(missing)' category)", line=int(lines[i]), column=c,
                                field="dataset.missing", value=o.missing)
        if o.missing == "drop":
            keep = keep & ~miss
        else:
            imputed[c] = int(miss.sum())
    report["dropped_missing_values"] = int((~keep).sum()) - report["dropped_missing_label"]
    report["imputed"] = imputed
    rows = np.flatnonzero(keep)
    if len(rows) < 10:
        raise CSVValueError(f"{name}: only {len(rows)} usable rows (after dropping rows with "
                            "missing values); fedsim needs at least 10")
    body, lines = body.iloc[rows].reset_index(drop=True), lines[rows]

    # ---- labels
    if task == "classification":
        raw = body[label].to_numpy(str)
        uniq = np.unique(raw)
        if numeric_label:
            uniq = np.array(sorted(uniq, key=float))
        if len(uniq) < 2:
            raise CSVValueError(f"{_where(name, None, label)}: a single class ({str(uniq[0])!r}); "
                                "classification needs at least two", column=label)
        lookup = {v: i for i, v in enumerate(uniq)}
        y = np.array([lookup[v] for v in raw], np.int64)
        class_names = tuple(str(v) for v in uniq)
        num_classes = len(uniq)
    else:
        y = _as_numbers(body[label])
        class_names, num_classes = (label,), 1

    # ---- the server's test split (as fedsim.data.dataset does it)
    test = stratified_test_split(label_strata(y, task), o.test_fraction, seed)
    tr = ~test
    if tr.sum() < 2 or test.sum() < 1:
        raise CSVValueError(f"{name}: too few rows for a training pool and a test set")

    # ---- encode features with training-pool statistics
    blocks, names, means, stds, infos = [], [], [], [], []
    for c in feats:
        s = body[c]
        miss = _is_missing(s)
        if kinds[c] == "numeric":
            v = _as_numbers(s)
            pool = v[tr & ~miss]
            mu = float(pool.mean()) if len(pool) else 0.0
            v = np.where(miss, mu, v)
            sd = float(v[tr].std())
            sd = sd if sd > 1e-8 else 1.0
            blocks.append(((v - mu) / sd)[:, None])
            names.append(c)
            means.append(mu)
            stds.append(sd)
            infos.append(ColumnInfo(c, "numeric", int(miss.sum())))
        else:
            vals = np.where(miss, "(missing)", s.to_numpy(str))
            cats = tuple(sorted(set(vals[tr])))
            if len(cats) > o.max_categories:
                raise CSVValueError(
                    f"{_where(name, None, c)}: {len(cats)} distinct values (the limit for a "
                    f"categorical column is {o.max_categories}); this looks like an id or free "
                    "text: leave it out, or raise max_categories", column=c)
            onehot = (vals[:, None] == np.array(cats, dtype=object)[None, :]).astype(np.float64)
            blocks.append(onehot)  # a value unseen in the pool is all zeros
            names.extend(f"{c}={v}" for v in cats)
            means.extend([0.0] * len(cats))
            stds.extend([1.0] * len(cats))
            infos.append(ColumnInfo(c, "categorical", int(miss.sum()), cats))
    x = np.concatenate(blocks, axis=1)
    xtr, xte, ytr, yte = x[tr], x[test], y[tr], y[test]
    if task == "regression":
        ym, ys = ytr.mean(), ytr.std()
        ys = ys if ys > 1e-12 else 1.0
        ytr, yte = ((ytr - ym) / ys).astype(np.float32), ((yte - ym) / ys).astype(np.float32)
        report["target_mean"], report["target_std"] = float(ym), float(ys)
    else:
        ytr, yte = ytr.astype(np.int32), yte.astype(np.int32)
    arrays = [xtr.astype(np.float32), ytr, xte.astype(np.float32), yte]
    for a in arrays:
        a.setflags(write=False)
    ds = Dataset("csv", task, arrays[0], arrays[1], arrays[2], arrays[3], num_classes,
                 tuple(names), class_names, None, np.array(means), np.array(stds))

    # ---- natural partition
    client_indices = client_names = None
    if o.partition_column is not None:
        pool_ids = body[o.partition_column].to_numpy(str)[tr]
        uniq = sorted(set(pool_ids), key=lambda v: (not _numlike(v), float(v) if _numlike(v)
                                                    else 0.0, v))
        client_names = tuple(str(u) for u in uniq)
        client_indices = tuple(np.flatnonzero(pool_ids == u).astype(np.int64) for u in uniq)
    report.update(rows_used=int(len(body)), train_rows=int(tr.sum()), test_rows=int(test.sum()),
                  task=task, features=len(names))
    return CSVData(ds, tuple(infos), label, client_indices, client_names, report)


def _numlike(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False
