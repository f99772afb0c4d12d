"""The Compare page overlays a saved run (fedsim's or the exported Flower app's run JSON)."""

import json
import subprocess
import sys

import pytest

from tests.support.app import open_app
from fedsim.errors import ConfigError
from fedsim_app.i18n import t
from fedsim_app.pages.compare import views as compare


@pytest.fixture(scope="module")
def run_json(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    cfg = d / "c.json"
    cfg.write_text('{"rounds": 3, "dataset": {"name": "2d", "num_samples": 200}, '
                   '"clients": {"num_clients": 4}}')
    out = d / "r.json"
    subprocess.run([sys.executable, "-m", "fedsim", "run", "--config", str(cfg), "--out",
                    str(out), "--quiet"], check=True)
    return out.read_bytes()


def test_curve_is_the_runs_own_numbers(run_json):
    run = json.loads(run_json)
    label, rounds, values, key = compare.curve_from_run(run_json, "r.json")
    assert key == "accuracy" and rounds == [0, 1, 2, 3] and "fedsim" in label
    assert values == [run["initial"]["accuracy"]] + [r["global"]["accuracy"]
                                                     for r in run["rounds"]]
    flower = {**run, "engine": {"name": "flwr", "version": "1.42.0"}}
    assert "Flower" in compare.curve_from_run(json.dumps(flower).encode(), "f.json")[0]


@pytest.mark.parametrize("bad", [b"null", b"[]", b'{"rounds": []}',
                                 b'{"rounds": [{"global": {"loss": 1}}]}', b"\xff\xfe"])
def test_not_a_run_is_a_clear_error(bad):
    with pytest.raises(ConfigError):
        compare.curve_from_run(bad, "x.json")


def test_the_page_draws_the_uploaded_run(run_json):
    # AppTest cannot drive a file uploader; the uploader's callback stores exactly this.
    at = open_app(page="pages/compare.py")
    at.session_state["compare_overlay"] = compare.curve_from_run(run_json, "r.json")
    at.run()
    assert not at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [d.get("name", "") for d in fig["data"]]
    assert any("r.json (fedsim)" in n for n in names), names
    assert t("cmp.empty") not in [i.value for i in at.info]
