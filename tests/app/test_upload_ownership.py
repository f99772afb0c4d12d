"""Uploaded CSV files belong to the session that uploaded them (issue #27).

A file is stored under an opaque id in a per-server temporary folder; the session's state maps
id → path; a configuration naming a CSV is accepted only if its path is one of *this* session's
uploads (checked before anything opens the file); a closed session's files are deleted by the
runtime's janitor, and the whole folder when the server process exits. Hostile paths named by
a configuration file or a link are never opened (an audit hook records every ``open``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import types

import pytest

from fedsim.config import SimulationConfig
from fedsim_app.base import csv_upload, runtime
from tests.support.app import ROOT, cfg_of, errors, markdown_bodies, open_app

#: Column names no other text in the app contains: a message that shows one leaked the file.
SECRET_COLUMNS = ("zqx_ward", "zqx_age", "zqx_outcome")


def secret_csv() -> bytes:
    rows = [",".join(SECRET_COLUMNS)]
    rows += [f"W{i % 3},{20 + i},{'sick' if i % 2 else 'well'}" for i in range(200)]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(autouse=True)
def upload_root(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_upload, "UPLOAD_ROOT", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def _upload_csv(at):
    """Session ``at`` uploads :func:`secret_csv` on the Data page and uses it."""
    at.file_uploader(key="csv.file").set_value(("ward.csv", secret_csv(), "text/csv")).run()
    assert not at.exception
    submit = next(b for b in at.button if b.label == "Use this data")
    submit.click().run()
    assert not at.exception and not errors(at), errors(at)
    return at


def _upload_config(at, cfg: dict | str, name="config.json"):
    data = cfg if isinstance(cfg, str) else json.dumps(cfg)
    return at.file_uploader(key="upload").set_value((name, data.encode(),
                                                     "application/json")).run()


def _everything_shown(at) -> str:
    return " ".join(markdown_bodies(at))


def _csv_config(path: str) -> dict:
    return {"dataset": {"name": "csv", "path": path, "label": SECRET_COLUMNS[-1]},
            "model": {"name": "logistic"}}


def test_a_session_cannot_use_another_sessions_upload():
    a = _upload_csv(open_app(page="pages/data.py"))
    path = cfg_of(a).dataset.path
    ids = a.session_state[csv_upload.UPLOADS]
    assert list(ids.values()) == [path] and os.path.isfile(path)
    uid = next(iter(ids))
    # stored under the opaque id, in this server's upload folder, readable by the server only
    assert os.path.basename(path) == uid + ".csv" and len(uid) >= 16
    assert os.stat(path).st_mode & 0o777 == 0o600

    b = open_app(page="pages/data.py")
    before = cfg_of(b)
    for named in (path, csv_upload.REF_PREFIX + uid):  # A's path, and A's id
        b = _upload_config(b, _csv_config(named), name=f"{len(named)}.json")
        assert not b.exception
        msgs = errors(b)
        assert len(msgs) == 1 and "dataset.path" in msgs[0] and "\n" not in msgs[0], msgs
        shown = _everything_shown(b)
        for col in SECRET_COLUMNS:
            assert col not in shown, (col, named)
        assert cfg_of(b) == before

    # A itself may load a configuration naming its own upload by id (what its download says)
    a = _upload_config(a, _csv_config(csv_upload.REF_PREFIX + uid), name="mine.json")
    assert not errors(a), errors(a)
    assert cfg_of(a).dataset.path == path


def test_the_janitor_deletes_a_closed_sessions_files():
    a = _upload_csv(open_app(page="pages/data.py"))
    path = cfg_of(a).dataset.path
    folder = os.path.dirname(path)
    assert os.path.isfile(path)
    # what the janitor hands _shut_down: a closed session with its state
    state = {k: a.session_state[k] for k in (csv_upload.TOKEN, csv_upload.UPLOADS)}
    session = types.SimpleNamespace(shutdown=lambda: None, session_state=state,
                                    _fragment_storage=types.SimpleNamespace(clear=lambda: None))
    runtime._shut_down(session)
    assert not os.path.exists(path) and not os.path.exists(folder)
    assert state == {}


def test_discard_touches_only_files_below_the_upload_folder(tmp_path):
    outside = tmp_path / "keep.csv"
    outside.write_text("a,b\n")
    state = {csv_upload.UPLOADS: {"x": str(outside)}, csv_upload.TOKEN: "../.."}
    assert csv_upload.discard_session(state) == 0
    assert outside.exists() and (tmp_path / "uploads").is_dir()


def test_the_downloaded_configuration_names_no_server_path(monkeypatch):
    from fedsim_app.base import state

    stored = "/tmp/fedsim-uploads-abc/0123/Zm9v.csv"
    monkeypatch.setattr(csv_upload, "_uploads", lambda state=None: {"Zm9v": stored})
    cfg = SimulationConfig.from_dict({"dataset": {"name": "csv", "path": stored}})
    text = state.config_for_download(cfg)
    assert stored not in text and "upload:Zm9v" in text
    back = SimulationConfig.from_json(text)
    assert state._own_csv(back).dataset.path == stored
    # another id, or a path, is left as it is (and then refused by the ownership check)
    other = back.replace(dataset=back.dataset.replace(path="upload:nope"))
    assert state._own_csv(other).dataset.path == "upload:nope"


def test_the_servers_upload_folder_goes_when_the_process_exits():
    script = textwrap.dedent("""
        import os
        from fedsim_app.base import csv_upload
        root = csv_upload.upload_root()
        assert csv_upload.upload_root() == root  # one per process
        assert os.stat(root).st_mode & 0o777 == 0o700
        os.makedirs(os.path.join(root, "session"))
        open(os.path.join(root, "session", "x.csv"), "w").write("a,b\\n")
        print(root)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    root = out.stdout.strip().splitlines()[-1]
    assert "fedsim-uploads-" in root and not os.path.exists(root)


# ------------------------------------------------------------------ hostile paths, never opened
_opened: list[str] = []
_recording = threading.Event()


def _audit(event, args):
    if event == "open" and _recording.is_set() and args and isinstance(args[0], (str, bytes,
                                                                               os.PathLike)):
        try:
            _opened.append(os.fsdecode(args[0]))
        except Exception:  # noqa: BLE001 - never break the audited call
            pass


sys.addaudithook(_audit)  # process-wide and permanent: it records only while a test asks


@pytest.fixture
def hostile(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to("/etc/passwd")
    return ["/etc/passwd", "/proc/self/environ", str(fifo), "/dev/zero", str(folder),
            str(link)]


@pytest.fixture
def no_opens(hostile):
    """The hostile paths (and what they point to) must not be opened inside the block."""
    watched = set(hostile) | {os.path.realpath(p) for p in hostile}
    _opened.clear()
    _recording.set()
    yield
    _recording.clear()
    hits = [p for p in _opened if p in watched or os.path.realpath(p) in watched]
    assert not hits, hits


def _assert_nothing_leaked(at):
    shown = _everything_shown(at)
    assert "root:" not in shown and "/bin/" not in shown, shown[:500]


def test_configuration_uploads_naming_hostile_paths_open_nothing(hostile, no_opens):
    at = open_app(page="pages/data.py")
    before = cfg_of(at)
    for i, path in enumerate(hostile):
        at = _upload_config(at, _csv_config(path), name=f"hostile{i}.json")
        assert not at.exception
        msgs = errors(at)
        assert len(msgs) == 1 and "dataset.path" in msgs[0], (path, msgs)
        _assert_nothing_leaked(at)
        assert cfg_of(at) == before


@pytest.mark.parametrize("keys", [("data", "dataset.path"), ("dataset.name", "dataset.path")])
def test_links_naming_hostile_paths_open_nothing(hostile, no_opens, keys):
    name_key, path_key = keys
    for path in hostile:
        at = open_app({name_key: "csv", path_key: path, "dataset.label": "x"},
                      "pages/data.py")
        assert not at.exception
        assert cfg_of(at).dataset.name != "csv"
        _assert_nothing_leaked(at)
