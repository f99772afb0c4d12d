"""The Overview's first screen (issue #23): a moving picture of the loaded scenario's rounds,
driven by a real run, and "Start lesson 1" as its first call to action."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import fedsim.training.trainer  # noqa: F401 - the engine is loaded: the picture is drawn at once
from fedsim.config import SimulationConfig
from fedsim.engine.runner import run
from fedsim_app.pages.overview import animation, views

from tests.support.app import cfg_of, open_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _payload(srcdoc: str) -> dict:
    m = re.search(r"const P = (\{.*?\});\nconst D", srcdoc, re.S)
    assert m, "the picture's data is not where the script reads it"
    return json.loads(m.group(1).replace("<\\/", "</"))


def _app(lang: str = "en"):
    at = open_app({"lang": lang})
    assert not at.exception
    return at


def test_picture_is_the_engine_s_run_of_the_session_s_scenario():
    at = _app()
    frames = [e for e in at.main if e.type == "iframe"]
    assert len(frames) == 1
    data = _payload(frames[0].proto.srcdoc)["data"]
    cfg = cfg_of(at)
    expect = run(cfg, rounds=views.picture_rounds(cfg))
    # Every number the picture shows is the engine's: metric per round, who took part, bytes.
    assert data["initial"] == pytest.approx(expect.initial[expect.metric_key], abs=0)
    assert [r["metric"] for r in data["rounds"]] == pytest.approx(list(expect.metric[1:]), abs=0)
    for shown, real in zip(data["rounds"], expect.history):
        table = real.client_table
        assert shown["sampled"] == list(real.sampled)
        assert shown["dropped"] == list(real.dropped)
        assert shown["up"] == {str(k): int(b) for k, b in zip(table.ids, table.bytes_up)}
        assert shown["down"] == real.bytes_down // len(real.sampled)
    assert len(data["devices"]) == min(cfg.clients.num_clients, animation.MAX_DEVICES)
    assert [d["rows"] for d in data["devices"]] == list(expect.train_sizes[:animation.MAX_DEVICES])
    # and the caption says what it is: a slowed-down real run, with the engine's own time
    cap = " ".join(c.value for c in at.caption)
    assert f"{len(expect.history)} of the scenario's {cfg.rounds} rounds" in cap


def test_start_lesson_1_opens_its_first_step_with_the_setup_loaded():
    at = _app()
    at.button(key="ov_start").click().run()
    assert not at.exception
    assert at.query_params.get("lesson") == ["flow"] or at.query_params.get("lesson") == "flow"
    step = at.query_params.get("step")
    assert step in ("1", ["1"])
    assert [s.value for s in at.subheader][0] == "Initialize the model"
    # nothing says the setup was changed: the step's setup is what is loaded
    assert not any("changed" in c.value for c in at.caption)


def test_chinese_picture_and_call_to_action():
    at = _app("zh")
    text = _payload([e for e in at.main if e.type == "iframe"][0].proto.srcdoc)["text"]
    assert text["phase.train"] == "训练" and text["round"].startswith("第 {round} 轮")
    assert text["engine_ms"].startswith("（")  # full-width brackets after Chinese
    assert at.button(key="ov_start").label == "开始第 1 课"


def test_a_cold_server_paints_first_and_the_picture_follows(monkeypatch):
    """Before TensorFlow is loaded the Overview draws without it: a note says the picture is on
    its way (a fragment polls until the engine is ready)."""
    from fedsim_app.base import runtime

    monkeypatch.setattr(runtime, "engine_ready", lambda: False)
    at = _app()
    assert not [e for e in at.main if e.type == "iframe"]
    assert any("engine is starting" in i.value for i in at.info)
    assert at.button(key="ov_start").label == "Start lesson 1"


def test_document_keeps_text_as_data():
    """A string that closes the script is escaped inside the JSON, never markup."""
    data = {"clients": 1, "devices": [], "rounds": [], "initial": 0.5, "metric": "accuracy",
            "labels": 2}
    doc = animation.document(data, {"round": "</script><img src=x onerror=alert(1)>"},
                             ["#000"], ["#111"])
    assert "</script><img" not in doc
    assert doc.count("</script>") == 1


def test_frames_from_a_tiny_run_exactly():
    cfg = SimulationConfig.from_dict({"rounds": 2, "dataset": {"name": "2d"},
                                      "clients": {"num_clients": 3, "dropout": 0.0}})
    s = run(cfg)
    f = animation.frames(s, max_devices=2)
    assert [d["id"] for d in f["devices"]] == [0, 1]
    for d, counts in zip(f["devices"], np.asarray(s.label_counts)[:2]):
        assert d["mix"] == pytest.approx(list(counts / counts.sum()), abs=1e-4)
    assert [r["round"] for r in f["rounds"]] == [1, 2]
    assert set(f["rounds"][0]["ms"]) == {p.phase for p in s.history[0].trace}
