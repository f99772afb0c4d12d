"""The "bring your own data" panel: upload a CSV, choose how to read it, hand the engine a
configuration change.

:func:`csv_upload_panel` draws a file uploader (at most 20 MB), a summary of the file's
columns (:func:`fedsim.data.csvfile.inspect_csv`: parsed as CSV text only, never pickle or code)
and a form: the label column, the task (inferred, can be overridden), the feature columns,
columns forced categorical, what to do with missing values and an optional natural split
column. On submit (a form callback, so it runs before the page is drawn) the file is fully
loaded once to catch every error, then stored, and ``on_loaded(changes)`` receives the dotted
configuration changes, e.g.::

    {"dataset.name": "csv", "dataset.path": "/tmp/fedsim-uploads-…/<session>/<id>.csv",
     "dataset.label": "outcome", "dataset.task_override": "auto", "dataset.columns": None,
     "dataset.categorical": [], "dataset.numeric": [], "dataset.missing": "drop",
     "dataset.partition_column": "hospital", "partition.name": "natural",
     "clients.num_clients": 3}

``fedsim_app.base.state.update`` fits: when ``on_loaded`` returns ``False`` (it refused the
change) the new file is deleted and the previous one kept; otherwise the session's older uploads
are deleted.

**Uploads belong to their session** (issue #27). A file is stored under an opaque id
(``secrets.token_urlsafe``) in this session's folder of a private temporary folder made once per
server process (:func:`upload_root`); the session's state maps id → stored path
(:data:`UPLOADS`). The engine reads ``dataset.path``; the app only ever fills it from that map,
and any configuration from outside (a configuration file, a link) naming a CSV is accepted
only if its path is one of *this* session's uploads (:func:`is_session_upload`, checked by
``fedsim_app.base.state`` before anything reads the file; a string comparison, nothing on disk
is opened). A configuration the session downloads names its file ``upload:<id>``
(:func:`reference`, :func:`resolve`), which means nothing to another session. A closed
session's files are deleted by the runtime's janitor (:func:`discard_session`), and the whole
folder when the server process exits.
An unusable file shows ``st.error`` naming the line and column, and nothing is changed.
"""

from __future__ import annotations

import atexit
import io
import os
import secrets
import shutil
import tempfile
import threading
import time
from typing import Any, Callable

import streamlit as st

from fedsim.data import csvfile as csvdata
from fedsim.errors import ConfigError

from fedsim_app.base import safe
from fedsim_app.i18n import t as _t

#: Largest upload (MB): :data:`fedsim.data.csvfile.MAX_BYTES`. Streamlit's server-wide
#: ``server.maxUploadSize`` must be at least this for the upload to reach the app.
MAX_MB = csvdata.MAX_BYTES // 2**20
#: Where uploads live: ``None`` (the default) is a private temporary folder made once per
#: server process (``tempfile.mkdtemp``, mode 0700) and removed when the process exits; one
#: folder per browser session below it. Tests may point it elsewhere.
UPLOAD_ROOT: str | None = None
#: Folders of sessions idle this long (seconds) are swept away on the next upload.
STALE_S = 24 * 3600
#: Session-state keys: this session's folder name, and its uploads (opaque id → stored path).
TOKEN, UPLOADS = "_csv_upload_token", "_csv_uploads"
#: How a downloaded configuration names one of this session's uploads (never a server path).
REF_PREFIX = "upload:"
_TASKS = ("auto", "classification", "regression")
_MISSING = ("error", "drop", "impute")
_root_lock = threading.Lock()
_server_root: str | None = None



# --------------------------------------------------------------------------- files
def upload_root() -> str:
    """The folder all of this server's uploads live in (made on first use)."""
    global _server_root
    if UPLOAD_ROOT is not None:
        os.makedirs(UPLOAD_ROOT, mode=0o700, exist_ok=True)
        return UPLOAD_ROOT
    with _root_lock:
        if _server_root is None or not os.path.isdir(_server_root):
            _server_root = tempfile.mkdtemp(prefix="fedsim-uploads-")
            atexit.register(shutil.rmtree, _server_root, ignore_errors=True)
        return _server_root


def session_dir(create: bool = True) -> str:
    """This browser session's private upload folder (a random name kept in session state)."""
    ss = st.session_state
    token = ss.get(TOKEN)
    if token is None:
        token = ss[TOKEN] = secrets.token_hex(16)
    path = os.path.join(upload_root(), token)
    if create:
        os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _uploads(state=None) -> dict:
    """This session's uploads, opaque id → stored path (``state``: another session's state)."""
    state = st.session_state if state is None else state
    try:
        got = state[UPLOADS] if UPLOADS in state else {}
    except Exception:  # noqa: BLE001 - a state that cannot be read owns nothing
        return {}
    return got if isinstance(got, dict) else {}


def is_session_upload(path: object) -> bool:
    """True when ``path`` is one of *this* session's uploads, as the app stored it (a
    configuration from a share link or a file naming another path, or another session's
    upload, is not). Compares strings only: nothing on disk is looked at."""
    return isinstance(path, str) and path in _uploads().values()


def resolve(path: object) -> object:
    """The stored path of this session's upload ``upload:<id>`` (the name a downloaded
    configuration carries); anything else unchanged (the ownership check judges it)."""
    if isinstance(path, str) and path.startswith(REF_PREFIX):
        return _uploads().get(path[len(REF_PREFIX):], path)
    return path


def reference(path: object) -> object:
    """``upload:<id>`` for one of this session's stored paths; anything else unchanged."""
    for uid, stored in _uploads().items():
        if stored == path:
            return REF_PREFIX + uid
    return path


def _write_upload(data: bytes) -> str:
    """Store ``data`` under a fresh opaque id in this session's folder; remember id → path."""
    uid = secrets.token_urlsafe(16)
    path = os.path.join(session_dir(), uid + ".csv")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    st.session_state[UPLOADS] = {**_uploads(), uid: path}
    return path


def _forget(paths) -> None:
    """Delete these stored uploads of this session and drop them from its map."""
    gone = set(paths)
    for p in gone:
        try:
            os.remove(p)
        except OSError:
            pass
    st.session_state[UPLOADS] = {k: v for k, v in _uploads().items() if v not in gone}


def _delete_others(keep: str) -> None:
    _forget([p for p in _uploads().values() if p != keep])
    d = session_dir(create=False)
    for name in os.listdir(d) if os.path.isdir(d) else ():
        p = os.path.join(d, name)
        if p != keep:
            try:
                os.remove(p)
            except OSError:
                pass


def discard_session(state) -> int:
    """Delete a session's uploaded files and its folder (the runtime's janitor calls this for a
    closed session, :func:`fedsim_app.base.runtime._shut_down`); returns how many files went.
    ``state``: that session's state (a mapping). Only paths below :func:`upload_root` that the
    session stored are touched."""
    root = os.path.realpath(upload_root())
    removed = 0
    for p in list(_uploads(state).values()):
        if isinstance(p, str) and os.path.dirname(os.path.dirname(os.path.realpath(p))) == root:
            try:
                os.remove(p)
                removed += 1
            except OSError:
                pass
    try:
        token = state[TOKEN] if TOKEN in state else None
    except Exception:  # noqa: BLE001
        token = None
    if isinstance(token, str) and token.isalnum():
        shutil.rmtree(os.path.join(root, token), ignore_errors=True)
    try:
        state[UPLOADS] = {}
    except Exception:  # noqa: BLE001 - a read-only state: its files are gone all the same
        pass
    return removed


def _sweep_stale(now: float | None = None) -> None:
    """Remove the folders of sessions that have not uploaded for :data:`STALE_S`."""
    now = time.time() if now is None else now
    mine = session_dir(create=False)
    root = upload_root()
    try:
        entries = os.listdir(root)
    except OSError:
        return
    for name in entries:
        p = os.path.join(root, name)
        try:
            if p != mine and now - os.stat(p).st_mtime > STALE_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


# --------------------------------------------------------------------------- messages
def _source(data: bytes, name: str):
    """The upload as a named binary file for csvdata (so its messages say the file's name)."""
    fh = io.BytesIO(data)
    fh.name = name
    return fh


def _error_text(exc: BaseException, name: str) -> str:
    """The engine's one-line message (it names the line and column), escaped; where it does
    not say them itself, the line and column in the user's language after it."""
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    said = str(exc)
    if line is not None and f"line {line}" in said:
        line = None
    if column is not None and f"column {column!r}" in said:
        column = None
    where = ""
    if line is not None and column is not None:
        where = " " + _t("csv.where", line=line, column=safe.md(column))
    elif line is not None:
        where = " " + _t("csv.where_line", line=line)
    elif column is not None:
        where = " " + _t("csv.where_column", column=safe.md(column))
    return _t("csv.bad", name=safe.md(name), error=safe.error(exc)) + where


# --------------------------------------------------------------------------- panel
def csv_upload_panel(on_loaded: Callable[[dict], Any], *, config: Any = None, seed: int = 0,
                     key: str = "csv") -> None:
    """Draw the uploader and form; on submit call ``on_loaded(changes)`` (see the module doc).

    ``config``: the session's current :class:`~fedsim.config.SimulationConfig`, if any (a
    natural split is turned back to ``iid`` when the new file has no split column).
    """
    ss = st.session_state
    st.markdown(f"#### {_t('csv.title')}")
    st.caption(_t("csv.intro"))
    f = st.file_uploader(_t("csv.upload", mb=MAX_MB, rows=f"{csvdata.MAX_ROWS:,}"),
                         type=["csv"], help=_t("csv.upload.help"), key=f"{key}.file",
                         max_upload_size=MAX_MB)
    status = ss.get(f"{key}.status")
    if f is None:
        _show_status(status)
        return
    data = f.getvalue()
    fid = getattr(f, "file_id", None) or f"{f.name}:{len(data)}"
    name = f.name or "the uploaded file"
    cached = ss.get(f"{key}.info")
    if cached is None or cached[0] != fid:
        try:
            info = csvdata.inspect_csv(_source(data, name))
        except (ConfigError, ValueError) as exc:
            info = None
            ss[f"{key}.info"] = (fid, None, _error_text(exc, name))
        else:
            ss[f"{key}.info"] = (fid, info, None)
        ss.pop(f"{key}.status", None)
        status = None
    _, info, error = ss[f"{key}.info"]
    if info is None:
        st.error(error)
        st.caption(_t("csv.not_used"))
        return
    _form(info, data, name, on_loaded, config, seed, f"{key}.{fid}", key)
    _show_status(ss.get(f"{key}.status"))


def _show_status(status) -> None:
    if not status:
        return
    kind, lines = status
    (st.error if kind == "error" else st.success)("  \n".join(lines))


def _form(info: dict, data: bytes, name: str, on_loaded, config, seed: int, wkey: str,
          key: str) -> None:
    cols = [c.name for c in info["columns"]]
    st.markdown(_t("csv.summary", name=safe.md(name), rows=f"{info['rows']:,}",
                   cols=len(cols)))
    st.caption("  \n".join(
        _t("csv.col_summary", name=safe.md(c.name, 60), kind=_t(f"csv.kind.{c.kind}"),
           distinct=c.distinct, missing=c.missing) for c in info["columns"][:40]))
    show = lambda v: _t("csv.split.none") if v is None else safe.plain(v, 60)  # noqa: E731
    with st.form(f"{wkey}.form"):
        st.selectbox(_t("csv.label"), cols, index=len(cols) - 1, key=f"{wkey}.label",
                     format_func=show, help=_t("csv.label.help"))
        st.selectbox(_t("csv.task"), _TASKS, key=f"{wkey}.task", help=_t("csv.task.help"),
                     format_func=lambda v: _t(f"csv.task.{v}", guess=_t(
                         f"csv.task.{info['task']}")) if v == "auto" else _t(f"csv.task.{v}"))
        st.multiselect(_t("csv.columns"), cols, default=cols, placeholder=_t("ui.choose"),
                       key=f"{wkey}.columns",
                       format_func=show, help=_t("csv.columns.help"))
        st.multiselect(_t("csv.categorical"),
                       [c.name for c in info["columns"] if c.kind == "numeric"], default=[],
                       placeholder=_t("ui.choose"), key=f"{wkey}.categorical", format_func=show,
                       help=_t("csv.categorical.help"))
        st.radio(_t("csv.missing"), _MISSING, key=f"{wkey}.missing", horizontal=True,
                 format_func=lambda v: _t(f"csv.missing.{v}"), help=_t("csv.missing.help"))
        st.selectbox(_t("csv.split"), [None, *cols], key=f"{wkey}.split", format_func=show,
                     help=_t("csv.split.help"))
        st.form_submit_button(_t("csv.submit"), on_click=_submit,
                              args=(info, data, name, on_loaded, config, seed, wkey, key))


def _submit(info, data, name, on_loaded, config, seed, wkey, key) -> None:
    """The form's callback: load once (every error), write the private file, hand over."""
    ss = st.session_state
    label, split = ss[f"{wkey}.label"], ss[f"{wkey}.split"]
    task, missing = ss[f"{wkey}.task"], ss[f"{wkey}.missing"]
    chosen = [c for c in ss[f"{wkey}.columns"] if c not in (label, split)]
    every = [c for c in (c.name for c in info["columns"]) if c not in (label, split)]
    categorical = [c for c in ss[f"{wkey}.categorical"] if c in chosen]
    columns = None if chosen == every else chosen
    try:
        if not chosen:
            raise csvdata.CSVColumnError(f"{name}: no feature columns left besides the label",
                                         field="dataset.columns", value=[])
        loaded = csvdata.load_csv(_source(data, name), csvdata.CSVOptions(
            label=label, task=task, columns=tuple(chosen), categorical=tuple(categorical),
            missing=missing, partition_column=split), seed)
    except (ConfigError, ValueError) as exc:
        ss[f"{key}.status"] = ("error", [_error_text(exc, name), _t("csv.not_used")])
        return
    changes: dict[str, Any] = {
        "dataset.name": "csv", "dataset.label": label, "dataset.task_override": task,
        "dataset.columns": columns, "dataset.categorical": categorical,
        "dataset.numeric": [], "dataset.missing": missing, "dataset.partition_column": split}
    if split is not None:
        changes["partition.name"] = "natural"
        changes["clients.num_clients"] = len(loaded.client_names)
    elif config is not None and getattr(config.partition, "name", None) == "natural":
        changes["partition.name"] = "iid"
    try:
        _sweep_stale()
        path = _write_upload(data)
    except OSError as exc:
        ss[f"{key}.status"] = ("error", [_t("csv.bad", name=safe.md(name),
                                            error=safe.md(exc.strerror or exc)),
                                         _t("csv.not_used")])
        return
    changes["dataset.path"] = path
    try:
        ok = on_loaded(changes)
    except (ConfigError, ValueError) as exc:
        ok = False
        ss[f"{key}.status"] = ("error", [_error_text(exc, name), _t("csv.not_used")])
    if ok is False:
        _forget([path])
        if f"{key}.status" not in ss or ss[f"{key}.status"][0] != "error":
            ss[f"{key}.status"] = ("error", [_t("csv.not_used")])
        return
    _delete_others(keep=path)
    r = loaded.report
    clients = "" if split is None else _t("csv.loaded_clients", column=safe.md(split),
                                          n=len(loaded.client_names))
    lines = [_t("csv.loaded", name=safe.md(name), rows=f"{r['rows_used']:,}",
                features=r["features"], task=_t(f"csv.task.{r['task']}"), clients=clients)]
    dropped = r["dropped_missing_label"] + r["dropped_missing_values"]
    if dropped or r["imputed"]:
        lines.append(_t("csv.report", dropped_label=r["dropped_missing_label"],
                        dropped=r["dropped_missing_values"],
                        imputed=sum(r["imputed"].values())))
    ss[f"{key}.status"] = ("success", lines)
