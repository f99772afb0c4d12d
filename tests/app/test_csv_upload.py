"""fedsim_app.base.csv_upload: the CSV upload panel, driven by AppTest on a tiny script."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402


@pytest.fixture(autouse=True)
def upload_root(tmp_path, monkeypatch):
    import fedsim_app.base.csv_upload as cu

    monkeypatch.setattr(cu, "UPLOAD_ROOT", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def script():
    import streamlit as st

    from fedsim_app.base.csv_upload import csv_upload_panel

    st.session_state.setdefault("calls", [])

    def on_loaded(changes):
        st.session_state["calls"].append(changes)
        if st.session_state.get("refuse"):
            return False
        st.session_state["changes"] = changes
        return True

    csv_upload_panel(on_loaded)


def clean_csv(n=60, hospitals=3) -> bytes:
    rng = np.random.default_rng(1)
    out = ["age,sex,hospital,bp,outcome"]
    for i in range(n):
        age = int(rng.integers(20, 80))
        out.append(f"{age},{'F' if i % 2 else 'M'},H{i % hospitals},"
                   f"{rng.normal(120, 15):.1f},{'sick' if age > 50 else 'well'}")
    return ("\n".join(out) + "\n").encode()


def app():
    at = AppTest.from_function(script, default_timeout=60)
    return at.run()


def upload(at, data: bytes, name="data.csv"):
    at.file_uploader[0].set_value((name, data, "text/csv"))
    return at.run()


def submit(at):
    at.button[0].click()
    return at.run()


def shown(elements) -> str:
    """The text of messages as the user reads it (Markdown escapes removed)."""
    return " ".join(e.value for e in elements).replace("\\", "")


def widget(at, kind, label_part):
    for w in getattr(at, kind):
        if label_part in w.label:
            return w
    raise AssertionError(f"no {kind} labelled {label_part!r}")


def test_upload_choose_split_and_hand_over_changes(tmp_path):
    at = upload(app(), clean_csv())
    assert not at.exception and not at.error
    assert "60 rows, 5 columns" in at.markdown[1].value
    assert widget(at, "selectbox", "label").value == "outcome"
    widget(at, "selectbox", "Split by").set_value("hospital")
    widget(at, "radio", "Missing").set_value("drop")
    at = submit(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    ch = at.session_state["changes"]
    assert ch["dataset.name"] == "csv" and ch["dataset.label"] == "outcome"
    assert ch["dataset.partition_column"] == "hospital" and ch["partition.name"] == "natural"
    assert ch["clients.num_clients"] == 3 and ch["dataset.missing"] == "drop"
    assert ch["dataset.columns"] is None and ch["dataset.task_override"] == "auto"
    path = ch["dataset.path"]
    assert os.path.isfile(path) and open(path, "rb").read() == clean_csv()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = at.session_state["_csv_upload_token"]
    assert os.path.basename(os.path.dirname(path)) == token
    assert "one client per value of hospital (3 clients)" in shown(at.success)
    # the changes make a valid configuration (fedsim_app.base.state.update applies exactly these)
    from fedsim.config import SimulationConfig

    cfg = SimulationConfig.from_dict({
        "dataset": {k.split(".")[1]: v for k, v in ch.items() if k.startswith("dataset.")},
        "partition": {"name": "natural"}, "clients": {"num_clients": 3}})
    from fedsim.data.load import task_of

    assert task_of(cfg) == "classification"

    # a second upload replaces the first file; the first is deleted
    at = upload(at, clean_csv(40, hospitals=4), "second.csv")
    widget(at, "multiselect", "learn from").set_value(["age", "bp"])
    at = submit(at)
    new = at.session_state["changes"]["dataset.path"]
    assert new != path and os.path.isfile(new) and not os.path.exists(path)
    assert at.session_state["changes"]["dataset.columns"] == ["age", "bp"]
    assert "partition.name" not in at.session_state["changes"]
    # a refused change (on_loaded returns False) keeps the previous file and deletes the new
    at.session_state["refuse"] = True
    at = upload(at, clean_csv(50), "third.csv")
    at = submit(at)
    assert len(at.session_state["calls"]) == 3
    refused = at.session_state["calls"][-1]["dataset.path"]
    assert not os.path.exists(refused) and os.path.isfile(new)
    assert at.session_state["changes"]["dataset.path"] == new
    assert any("unchanged" in e.value for e in at.error)


def test_sessions_get_different_private_folders():
    a = submit(upload(app(), clean_csv()))
    b = submit(upload(app(), clean_csv()))
    pa, pb = (x.session_state["changes"]["dataset.path"] for x in (a, b))
    assert os.path.dirname(pa) != os.path.dirname(pb)


@pytest.mark.parametrize("data, where", [
    (b"a,b,y\n1,2,0\n3,4,1\n5,6,7,1\n", "bad.csv, line 4: 4 fields where the header has 3"),
    (b"a,b,y\n1,2,0\n\xff,1,1\n", "bad.csv, line 3: byte 0xff is not UTF-8"),
    (b"  \n", "bad.csv: the file is empty"),
])
def test_malformed_file_is_an_error_and_nothing_changes(data, where):
    at = upload(app(), data, "bad.csv")
    assert not at.exception
    assert len(at.error) == 1 and where in shown(at.error), shown(at.error)
    assert "changes" not in at.session_state and not at.button


def test_bad_values_are_named_by_line_and_column_on_submit():
    rows = clean_csv().decode().splitlines()
    cells = rows[4].split(",")
    cells[1] = "NA"  # line 5: missing sex
    rows[4] = ",".join(cells)
    at = upload(app(), ("\n".join(rows) + "\n").encode())
    at = submit(at)  # missing values: 'error' by default
    assert not at.exception and "changes" not in at.session_state
    msg = shown(at.error)
    assert "data.csv, line 5, column 'sex': missing value" in msg and "unchanged" in msg
    assert not at.session_state["calls"]
    widget(at, "radio", "Missing").set_value("impute")
    at = submit(at)
    assert at.session_state["changes"]["dataset.missing"] == "impute"
    assert "1 values were filled in" in shown(at.success)


def test_regression_override_and_label_choice():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    text = "a,b,grade\n" + "".join(f"{p:.3f},{q:.3f},{int(rng.integers(0, 3))}\n"
                                   for p, q in x)
    at = upload(app(), text.encode())
    assert "classification" in widget(at, "selectbox", "Task").format_func("auto")
    widget(at, "selectbox", "Task").set_value("regression")
    widget(at, "selectbox", "label").set_value("a")
    at = submit(at)
    ch = at.session_state["changes"]
    assert ch["dataset.task_override"] == "regression" and ch["dataset.label"] == "a"
    assert "task regression" in shown(at.success)


def test_user_text_is_escaped_in_messages():
    text = "a,[pay](http://evil.example/x),y\n" + "".join(f"{i},v,{i % 2}\n" for i in range(12))
    at = upload(app(), text.encode(), "![p](http://evil.example/p.png).csv")
    widget(at, "selectbox", "label").set_value("[pay](http://evil.example/x)")
    at = submit(at)  # a two-valued label 'v' only: one class -> an error naming the column
    assert at.error and "single class" in shown(at.error)
    raw = " ".join(e.value for e in at.error) + " ".join(m.value for m in at.markdown)
    assert "](http" not in raw and "![" not in raw


def test_stale_session_folders_are_swept(upload_root):
    import fedsim_app.base.csv_upload as cu

    old = upload_root / "old-session"
    old.mkdir(parents=True)
    (old / "upload-x.csv").write_text("a,b\n")
    os.utime(old, (1, 1))
    at = submit(upload(app(), clean_csv()))
    assert not old.exists() and os.path.isfile(at.session_state["changes"]["dataset.path"])
    assert cu.STALE_S >= 3600


def test_a_link_or_config_file_cannot_make_the_server_read_a_file(tmp_path):
    """dataset.path is private: share links neither carry nor set it, and a configuration
    naming a file this session did not upload is refused (it would echo the file's columns)."""
    from fedsim.config import SimulationConfig
    from fedsim_app.base import params

    secret = tmp_path / "secret.csv"
    secret.write_text("a,b\n1,2\n3,4\n")
    cfg, problems = params.decode({"data": "csv", "dataset.path": str(secret)})
    assert cfg.dataset.path is None and any("dataset.path" in p for p in problems)
    ok = SimulationConfig.from_dict({"dataset": {"name": "csv", "path": str(secret),
                                                 "label": "b"}})
    assert "dataset.path" not in " ".join(params.encode(ok))

    from fedsim.errors import ConfigError
    from fedsim_app.base import state

    with pytest.raises(ConfigError) as err:
        state._check_runnable(ok)
    assert err.value.field == "dataset.path"
