"""The notebook API (:mod:`fedsim_app.notebook`) and the course notebooks (``notebooks/``).

- ``show.*`` draws the app's own figures: each is compared, as Plotly JSON, with the chart the
  page drew in ``AppTest`` for the same configuration and the same number of rounds (the
  engine is seeded, so an independent :class:`Simulation` reproduces the page's run bit for
  bit), in English and in Chinese.
- Importing the module and drawing every figure never imports Streamlit (in a fresh
  interpreter, so no other test's import hides it).
- The stored notebooks carry no outputs, and each runs top to bottom in a real kernel
  (nbclient + ipykernel, this interpreter) from a temporary folder, within its time budget.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import pytest

from fedsim_app import notebook
from fedsim_app.base import charts as base_charts
from fedsim_app.i18n import language, t
from fedsim_app.notebook import show, use_language

from tests.support.app import all_html, cfg_of, chart, open_app

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = ["01_article_six_steps.ipynb", "02_non_iid_fedprox.ipynb",
         "03_differential_privacy.ipynb"]
#: ``lang`` always named: the page's language must not come from the browser or the server.
TINY = {"data": "2d", "clients": "3", "rounds": "3", "samples": "200", "lang": "en"}
#: Seconds one notebook may take top to bottom (three of them: under 3 minutes together).
BUDGET_S = 60
CELL_TIMEOUT_S = 120


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    use_language("en")


def plain(fig) -> dict:
    """A figure as JSON data, trace uids left out (a uid is per drawing, not per figure)."""
    d = fig if isinstance(fig, dict) else json.loads(fig.to_json())
    for tr in d.get("data", []):
        tr.pop("uid", None)
    return d


def reference(cfg, rounds: int):
    from fedsim.engine.simulation import Simulation

    sim = Simulation(cfg)
    sim.run(rounds)
    return sim


# ------------------------------------------------------------------ the same figures as the app


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_training_figures_are_the_pages(lang):
    at = open_app({**TINY, "lang": lang}, "pages/training.py")
    for _ in range(2):
        at.button(key="next_round").click().run()
    assert not at.exception
    use_language(lang)
    sim = reference(cfg_of(at), 2)
    assert plain(chart(at, "global_metric")) == plain(show.accuracy(sim))
    assert plain(chart(at, "global_loss")) == plain(show.loss(sim))
    assert plain(chart(at, "cycle")) == plain(_page_cycle(lang))
    with language(lang):
        at.session_state["tr_tab"] = t("tr.tab.clients")
    at.run()
    assert plain(chart(at, "clients_loss")) == plain(show.clients(sim))
    assert plain(chart(at, "clients_val")) == plain(show.client_validation(sim))
    if lang == "zh":  # the figure really is in Chinese
        assert show.accuracy(sim).layout.title.text == "全局模型：测试准确率"


def test_cycle_mid_round_is_the_pages():
    at = open_app(TINY, "pages/training.py")
    for _ in range(3):
        at.button(key="next_phase").click().run()
    sim = reference(cfg_of(at), 0)
    for _ in range(3):
        sim.step()
    assert sim.next_phase == "protect"
    # The page draws the cycle unmarked and lights it with a style (no re-mounted figure);
    # the notebook's figure carries the same marks in the figure itself.
    assert plain(chart(at, "cycle")) == plain(_page_cycle("en"))
    css = all_html(at)
    assert base_charts.cycle_css("tr_cycle", "protect", ("select", "broadcast", "train")) in css
    marked = {a["name"]: a["bgcolor"] for a in show.cycle(sim).to_plotly_json()["layout"][
        "annotations"] if a.get("name", "").startswith("phase:")}
    assert marked["phase:protect"] == base_charts.NEXT_FILL
    assert marked["phase:train"] == base_charts.DONE_FILL


def test_partition_figures_are_the_data_pages():
    at = open_app({"clients": "5", "split": "dirichlet", "alpha": "0.3", "lang": "en"},
                  "pages/data.py")
    cfg = cfg_of(at)
    assert plain(chart(at, "data_labels")) == plain(show.partition(cfg))
    assert plain(chart(at, "data_sizes")) == plain(show.sizes(cfg))
    # From a built simulation too (its configuration's split is the same).
    assert plain(show.partition(reference(cfg, 0))) == plain(show.partition(cfg))


def test_privacy_figures_are_the_privacy_pages():
    from fedsim_app.pages.privacy.views import without_dp

    at = open_app({**TINY, "dp": "central"}, "pages/privacy.py")
    at.button(key="priv_next_round").click().run()
    assert not at.exception
    cfg = cfg_of(at)
    sim = reference(cfg, 1)
    assert plain(chart(at, "priv_eps")) == plain(show.privacy(sim))
    no_dp = reference(without_dp(cfg), cfg.rounds)  # the page's no-DP run goes to the end
    assert plain(chart(at, "priv_utility")) == plain(show.utility(sim, no_dp))


# ------------------------------------------------------------------ no Streamlit, two languages


def test_notebook_api_never_imports_streamlit():
    """In a fresh interpreter: import, build, draw every ``show.*`` figure and sentence in both
    languages; Streamlit is never loaded."""
    code = textwrap.dedent("""
        import inspect, sys
        from fedsim_app.notebook import Show, describe, preview, show, use_language
        from fedsim.config import SimulationConfig
        from fedsim.engine.simulation import Simulation
        cfg = SimulationConfig.from_dict({
            "rounds": 2, "dataset": {"name": "2d", "num_samples": 200},
            "clients": {"num_clients": 3}, "privacy": {"dp": {"mode": "central"}}})
        sim = Simulation(cfg)
        text = [preview(sim), describe(sim, sim.step())]
        sim.run()
        plain = Simulation(cfg.replace(privacy=cfg.privacy.replace(
            dp=cfg.privacy.dp.replace(mode="off"))))
        plain.run()
        args = {"utility": (sim, plain), "compare": ({"dp": sim, "no dp": plain},),
                "partition": (cfg,), "sizes": (cfg,)}
        names = [n for n, _ in inspect.getmembers(Show, inspect.isfunction)
                 if not n.startswith("_")]
        titles = {}
        for lang in ("en", "zh"):
            use_language(lang)
            for n in names:
                fig = getattr(show, n)(*args.get(n, (sim,)))
                titles[lang, n] = fig.layout.title.text
            text += [preview(sim), describe(sim)]
        assert len(names) >= 12, names
        assert titles["en", "accuracy"] != titles["zh", "accuracy"]
        assert "streamlit" not in sys.modules, [m for m in sys.modules if "streamlit" in m]
        assert not [s for s in text if ":material/" in s], text
        print("OK", len(names))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("OK")


def test_use_language_checks_its_argument():
    assert use_language("zh-CN") == "zh" == notebook.current_language()
    with pytest.raises(ValueError, match="unknown language"):
        use_language("fr")
    assert notebook.current_language() == "zh"


def test_drawing_leaves_an_imported_streamlit_alone():
    import streamlit  # noqa: F401 - already loaded by the AppTest suites; must stay usable

    before = list(sys.meta_path)
    with notebook._notebook_context():
        import streamlit.runtime.scriptrunner  # noqa: F401
    assert sys.meta_path == before


def test_privacy_figure_needs_dp(tiny_config):
    sim = reference(tiny_config(), 0)
    with pytest.raises(ValueError, match="differential privacy is off"):
        show.privacy(sim)
    with pytest.raises(ValueError, match="no round"):
        show.participation(sim)


# ------------------------------------------------------------------ the stored notebooks


def test_the_three_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == NAMES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebook_has_no_outputs_and_opens_in_colab(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: cell {i} has outputs"
            assert cell["execution_count"] is None, f"{path.name}: cell {i} was executed"
    first, second = nb["cells"][0], nb["cells"][1]
    head = "".join(first["source"])
    assert first["cell_type"] == "markdown" and head.startswith("# ")
    assert ("https://colab.research.google.com/github/OWNER/fedsim/blob/main/notebooks/"
            + path.name) in head
    install = "".join(second["source"])
    assert second["cell_type"] == "code"
    assert 'if "google.colab" in sys.modules:' in install
    assert "%pip install -q fedsim-playground" in install


@pytest.fixture(scope="module")
def kernel_dirs(tmp_path_factory):
    """A kernel spec that runs this interpreter (where fedsim is importable), in a temp
    folder: neither a user's ``python3`` kernel nor anything installed is used."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    folder = tmp_path_factory.mktemp("jupyter") / "kernels"
    spec = folder / "fedsim-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fedsim (tests)", "language": "python"}))
    return [str(folder)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, kernel_dirs, tmp_path, monkeypatch):
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    # The kernel inherits this environment: the checkout's fedsim, and quiet TensorFlow.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT),
                                                                 os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    nb = nbformat.read(str(path), as_version=4)
    km = KernelManager(kernel_name="fedsim-test",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=kernel_dirs))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    took = time.perf_counter() - start
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    figures = [o for c in code for o in c.outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) >= 3, f"{path.name}: {len(figures)} figures"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert took < BUDGET_S, f"{path.name} took {took:.1f} s (budget {BUDGET_S} s)"
    print(f"{path.name}: {took:.1f} s")


def _page_cycle(lang: str):
    with language(lang):
        return base_charts.cycle_figure(height=270)

