"""Headless tests of the Streamlit app with ``streamlit.testing.v1.AppTest``.

AppTest runs ``app.py`` in this process, with the real engine, so every number on screen can be
compared with an independently run :class:`fedsim.engine.simulation.Simulation` of the same
configuration. Configurations are tiny (2-D data, 3 clients, 3 rounds) to keep the whole file
to well under a minute after the one-off TensorFlow import.

What is and is not covered honestly:

- Uploads go through the real ``st.file_uploader`` widget (``AppTest`` can set its files) and
  its ``on_change`` callback, the same path a browser takes.
- URL writes: ``st.query_params`` changes made by the app are visible in ``at.query_params``;
  that the *browser's* address bar follows is checked in ``tests/test_browser.py``.
- Play: ``AppTest`` has no timers, so each ``run()`` is one tick of the play fragment; the
  real timer (``run_every``) is exercised in the browser test only indirectly.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fedsim.config import SimulationConfig
from fedsim.presets import PRESETS
from fedsim_app import frame
from fedsim_app.base import charts, params, views
from fedsim_app.i18n import t
from fedsim_app.pages.training import views as training_views

from tests.support.app import (all_html, arr, cfg_of, chart, errors, markdown_bodies, metric, open_app,
                               rendered_html, shown, sim_of, switch_page, warnings)

TINY = {"data": "2d", "clients": "3", "rounds": "3", "samples": "200"}


def counter(at: AppTest) -> str:
    for h in at.get("html"):
        m = re.search(r"data-testid='fedsim-round'>([^<]+)<", h.proto.body)
        if m:
            return m.group(1)
    raise AssertionError("no round counter on the page")


def query(at: AppTest) -> dict:
    return {k: at.query_params[k][0] if isinstance(at.query_params[k], list)
            else at.query_params[k] for k in at.query_params}


# ------------------------------------------------------------------ every page loads


@pytest.mark.parametrize("page", [f"pages/{p.url_path}.py" for p in frame.PAGES])
def test_every_page_loads_with_the_default_configuration(page):
    at = open_app(page=page)
    assert not errors(at)
    if page.endswith("training.py"):  # no title there: the round counter is the headline
        assert counter(at) == "Round 00/20"
    else:
        assert at.title
    # shared sidebar on every page: scenario, seed, share link, config download, upload
    assert at.sidebar.markdown and at.sidebar.number_input(key="cfg_seed").value == 0
    assert at.sidebar.get("download_button") and at.sidebar.get("file_uploader")
    assert at.sidebar.code[0].value.startswith("http")


def test_overview_shows_the_round_cycle_and_every_preset():
    at = open_app()
    assert [a["name"] for a in chart(at, "ov_cycle")["layout"]["annotations"]
            if a.get("name", "").startswith("phase:")] == [f"phase:{p}" for p in
                                                           charts.PHASES]
    assert {b.key for b in at.button} >= {f"preset_{n}" for n in PRESETS}


# ------------------------------------------------------------------ training = engine


def test_next_round_shows_exactly_the_engines_numbers():
    from fedsim.engine.simulation import Simulation

    at = open_app(TINY, "pages/training.py")
    assert counter(at) == "Round 00/03"
    ref = Simulation(cfg_of(at))
    assert metric(at, t("tr.metric.accuracy")).value == \
        f"{ref.initial_metrics['accuracy']:.3f}"
    prev = dict(ref.initial_metrics)
    for r in (1, 2):
        at.button(key="next_round").click().run()
        assert not at.exception
        res = ref.step_round()
        assert counter(at) == f"Round 0{r}/03"
        g = res.global_metrics
        assert sim_of(at).history[-1].global_metrics == g  # bit-for-bit the same run
        acc = metric(at, t("tr.metric.accuracy"))
        assert acc.value == f"{g['accuracy']:.3f}"
        assert acc.delta == training_views._delta(g["accuracy"], prev["accuracy"])[0]
        assert metric(at, t("tr.metric.loss")).value == f"{g['loss']:.3f}"
        assert metric(at, t("tr.metric.clients")).value == \
            f"{len(res.aggregated)}/{len(res.sampled)}"
        assert metric(at, t("tr.metric.up")).value == views.human_bytes(res.bytes_up)
        assert metric(at, t("tr.metric.down")).value == views.human_bytes(res.bytes_down)
        # the accuracy chart: round 0 … r, same values as the engine
        fig = chart(at, "global_metric")
        assert fig["data"][-1]["x"] == list(range(r + 1))
        assert fig["data"][-1]["y"][-1] == pytest.approx(g["accuracy"])
        prev = dict(g)


def test_next_phase_walks_the_cycle_and_lights_the_next_box():
    from fedsim.engine.simulation import Simulation

    at = open_app(TINY, "pages/training.py")
    ref = Simulation(cfg_of(at))
    for i, phase in enumerate(charts.PHASES[:3]):
        at.button(key="next_phase").click().run()
        ref.step()
        nxt = charts.PHASES[i + 1]
        assert sim_of(at).next_phase == nxt and sim_of(at).in_round
        # The figure stays the same (no re-mount, no blank frame); a style lights the boxes:
        # box i is annotation len(PHASES) + i (after the arrows).
        boxes = [a for a in chart(at, "cycle")["layout"]["annotations"]
                 if a.get("name", "").startswith("phase:")]
        assert all(b["bgcolor"] == charts.IDLE_FILL for b in boxes)
        css = all_html(at)
        n = len(charts.PHASES)
        lit = f"data-index='{n + charts.PHASES.index(nxt)}'] rect.bg {{fill: {charts.NEXT_FILL}"
        done = f"data-index='{n + charts.PHASES.index(phase)}'] rect.bg {{fill: {charts.DONE_FILL}"
        assert lit in css and done in css, css
        what, sees = views.phase_texts(nxt, cfg_of(at))
        assert any(what in i.value for i in at.info)
        assert any(sees in m.value for m in at.markdown)
    assert counter(at) == "Round 00/03"
    at.button(key="next_round").click().run()  # finishes the round in progress
    assert counter(at) == "Round 01/03"
    assert sim_of(at).history[-1].global_metrics == ref.step_round().global_metrics


def test_reset_goes_back_to_round_zero():
    at = open_app(TINY, "pages/training.py")
    at.button(key="next_round").click().run()
    at.button(key="reset").click().run()
    assert counter(at) == "Round 00/03" and sim_of(at).round == 0


def test_every_training_tab_renders():
    at = open_app(TINY, "pages/training.py")
    at.button(key="next_round").click().run()
    at.button(key="next_round").click().run()
    n = cfg_of(at).clients.num_clients
    for tab, key in [("clients", "clients_loss"), ("updates", "norms"),
                     ("participation", "participation"), ("boundary", None),
                     ("global", "global_loss")]:
        at.session_state["tr_tab"] = t(f"tr.tab.{tab}")
        at.run()
        assert not at.exception and not errors(at), tab
        if key:
            chart(at, key)
    at.session_state["tr_tab"] = t("tr.tab.clients")
    at.run()
    fig = chart(at, "clients_loss")
    assert [d["line"]["color"] for d in fig["data"]] == [charts.client_color(k, n)
                                                         for k in range(n)]
    at.session_state["tr_tab"] = t("tr.tab.boundary")
    at.run()
    titles = [c for c in at.get("plotly_chart") if "boundary_" in c.proto.id]
    assert len(titles) >= 2  # the global model and at least one client's local model


def test_baseline_toggles_add_dashed_grey_curves():
    at = open_app(TINY, "pages/training.py")
    at.button(key="next_round").click().run()
    at.toggle(key="base_central").set_value(True).run()
    at.toggle(key="base_local").set_value(True).run()
    assert not at.exception
    names = [d.get("name") for d in chart(at, "global_metric")["data"]]
    assert t("ch.centralized") in names and t("ch.local_only") in names


def test_engine_error_during_a_step_is_shown_not_raised(monkeypatch):
    from fedsim.errors import ProtocolError
    from fedsim.engine.simulation import Simulation

    at = open_app(TINY, "pages/training.py")

    def boom(self):
        raise ProtocolError("too many clients dropped out to unmask the sum")

    monkeypatch.setattr(Simulation, "step", boom)
    at.button(key="next_round").click().run()
    assert not at.exception
    assert any("too many clients dropped out" in e for e in errors(at))
    assert counter(at) == "Round 00/03"


@pytest.mark.parametrize("query", [
    {"data": "seed_regression", "samples": "400", "split": "quantity", "clients": "4"},
    {"data": "breast_cancer", "split": "pathological", "classes": "1", "clients": "4",
     "agg": "median"},
    {"data": "digits", "split": "feature", "clients": "4", "agg": "trimmed_mean",
     "model": "cnn"},
    {"data": "digits", "split": "shards", "clients": "5", "agg": "krum", "sopt": "fedadam",
     "slr": "0.03"},
    {"data": "2d", "shape": "xor", "clients": "3", "samples": "200", "opt": "adam",
     "mu": "0.1"},
])
def test_other_datasets_splits_and_aggregators_render(query):
    at = open_app({**query, "rounds": "2"}, "pages/data.py")
    assert not errors(at)
    switch_page(at, "pages/training.py").run()
    at.button(key="next_round").click().run()
    assert not at.exception and not errors(at)
    assert counter(at) == "Round 01/02"
    key = "mse" if query["data"] == "seed_regression" else "accuracy"
    g = sim_of(at).history[-1].global_metrics
    assert metric(at, t(f"tr.metric.{key}")).value == f"{g[key]:.3f}"


# ------------------------------------------------------------------ play


def test_play_runs_one_round_per_run_and_stops_at_the_last_round():
    at = open_app(TINY, "pages/training.py")
    at.button(key="play").click().run()
    assert at.session_state["playing"] and sim_of(at).round == 1
    assert at.button(key="play").label == t("tr.pause")
    at.run()
    assert sim_of(at).round == 2 and at.session_state["playing"]
    at.run()  # the last round: playing stops by itself
    assert sim_of(at).round == 3 and not at.session_state["playing"]
    assert counter(at) == "Round 03/03"
    assert at.button(key="play").label == t("tr.play") and at.button(key="play").disabled
    at.run()
    assert sim_of(at).round == 3  # nothing runs after the end
    assert any(t("tr.finished", total=3) in s.value for s in at.success)


def test_pause_stops_playing():
    at = open_app(TINY, "pages/training.py")
    at.button(key="play").click().run()
    at.button(key="play").click().run()  # now labelled Pause
    assert not at.session_state["playing"] and sim_of(at).round == 1
    at.run()
    assert sim_of(at).round == 1


# ------------------------------------------------------------------ settings and reset


def test_structural_change_resets_the_run_and_says_so():
    at = open_app(TINY, "pages/training.py")
    at.button(key="next_round").click().run()
    at.number_input(key="cfg_epochs").set_value(2).run()
    assert not at.exception
    assert cfg_of(at).training.local_epochs == 2
    assert sim_of(at).round == 0 and counter(at) == "Round 00/03"
    assert any(t("state.reset") in x.proto.body for x in at.toast)
    assert query(at)["epochs"] == "2"


def test_changing_rounds_keeps_the_rounds_already_run():
    at = open_app(TINY, "pages/training.py")
    at.button(key="next_round").click().run()
    at.number_input(key="cfg_rounds").set_value(5).run()
    assert sim_of(at).round == 1 and counter(at) == "Round 01/05"
    assert not at.toast


def test_impossible_split_is_an_error_and_changes_nothing():
    at = open_app(TINY, "pages/data.py")
    before = cfg_of(at)
    at.number_input(key="cfg_clients").set_value(100).run()  # 160 training rows, min 4 each
    assert not at.exception
    assert any("clients.num_clients" in e and "at most 40" in e for e in errors(at))
    assert cfg_of(at) == before
    assert at.number_input(key="cfg_clients").value == 3  # the widget springs back


# ------------------------------------------------------------------ URL


def test_query_params_prefill_the_configuration_and_widgets():
    q = {"data": "2d", "shape": "circles", "clients": "4", "split": "dirichlet",
         "alpha": "0.1", "seed": "7", "rounds": "4", "epochs": "2", "weighted": "false",
         "frac": "0.5"}
    at = open_app(q, "pages/data.py")
    cfg = cfg_of(at)
    assert cfg == params.decode(q)[0]
    assert (cfg.seed, cfg.clients.num_clients, cfg.partition.alpha) == (7, 4, 0.1)
    assert at.selectbox(key="cfg_data").value == "2d"
    assert at.selectbox(key="cfg_shape").value == "circles"
    assert at.number_input(key="cfg_clients").value == 4
    assert at.select_slider(key="cfg_alpha").value == 0.1
    assert at.slider(key="cfg_frac").value == 0.5
    assert at.sidebar.number_input(key="cfg_seed").value == 7
    assert query(at) == params.encode(cfg)  # the URL is rewritten in canonical form
    switch_page(at, "pages/training.py").run()
    assert at.toggle(key="cfg_weighted").value is False
    assert at.number_input(key="cfg_epochs").value == 2
    assert counter(at) == "Round 00/04"


def test_valid_values_beyond_a_widgets_usual_range_still_show():
    at = open_app({"data": "2d", "noise": "1.5", "frac": "0.02", "clients": "3",
                   "samples": "200"}, "pages/data.py")
    assert not errors(at)
    assert at.slider(key="cfg_noise").value == 1.5 and at.slider(key="cfg_frac").value == 0.02


def test_bad_query_params_warn_and_the_rest_applies():
    at = open_app({**TINY, "alpha": "-3", "split": "dirichlet", "colour": "red"},
                  "pages/data.py")
    text = warnings(at)
    assert "partition.alpha" in text and "colour" in text
    assert cfg_of(at).partition.name == "dirichlet" and cfg_of(at).clients.num_clients == 3


def test_widget_changes_are_written_to_the_url():
    at = open_app(TINY, "pages/data.py")
    at.selectbox(key="cfg_split").set_value("dirichlet").run()
    at.select_slider(key="cfg_alpha").set_value(0.05).run()
    q = query(at)
    assert q["split"] == "dirichlet" and q["alpha"] == "0.05" and q["clients"] == "3"
    assert params.decode(q)[0] == cfg_of(at)
    share = at.sidebar.code[0].value
    assert "alpha=0.05" in share and "split=dirichlet" in share


# ------------------------------------------------------------------ files


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key="upload").set_value((name, data, "application/json")).run()


@pytest.mark.parametrize("name,data,needle", [
    ("notes.json", b"this is not json", "not valid JSON"),
    ("unknown.json", b'{"clients": {"num_clients": 3}, "colour": "red"}', "unknown key"),
    ("range.json", b'{"partition": {"name": "dirichlet", "alpha": -1}}', "partition.alpha"),
    ("split.json", json.dumps({"dataset": {"name": "2d", "num_samples": 200},
                               "clients": {"num_clients": 150}}).encode(),
     "clients.num_clients"),
    # the crashes and silent resets: each is the usual error, quickly
    ("null.json", b"null", "must be a JSON object"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested 100,000 levels deep"),
    ("digits.json", b'{"seed": ' + b"7" * 5000 + b"}", "seed: got a 5,000-digit integer"),
    ("float.json", b'{"training": {"lr": 1' + b"0" * 399 + b"}}", "training.lr: got a 400"),
    ("dup.json", b'{"rounds": 3, "rounds": 4}', "rounds: duplicate key"),
    ("seedlist.json", b'{"seed": [' + b",".join([b"1"] * 700_000) + b"]}", "larger than 1 MB"),
    ("300k.json", b'{"seed": [' + b",".join([b"1"] * 150_000) + b"]}",
     "too large: more than 262,144 bytes"),
    ("longseed.json", b'{"seed": [' + b",".join([b"1"] * 100_000) + b"]}", "seed: got [1, 1"),
    ("array.json", b"[" + b"1234567890," * 2_000_000 + b"1]", "larger than 1 MB"),
    ("nulls.json", b'{"privacy": null}', "privacy: got null"),
    ("caps.json", json.dumps({"dataset": {"name": "2d", "num_samples": 200_000},
                              "clients": {"num_clients": 2000}}).encode(),
     "above this server's classroom limit"),
])
def test_bad_upload_shows_the_config_error_and_keeps_the_state(name, data, needle):
    import time

    at = open_app(TINY, "pages/training.py")
    at.button(key="next_round").click().run()
    before, sim_before = cfg_of(at), sim_of(at)
    t0 = time.perf_counter()
    _upload(at, name, data)
    took = time.perf_counter() - t0
    assert not at.exception
    msgs = errors(at)
    assert any(needle in m and name in m and "Nothing was changed" in m for m in msgs), msgs
    assert all(len(m) < 700 for m in msgs)  # echoed values are cut short
    assert cfg_of(at) == before and sim_of(at) is sim_before and sim_of(at).round == 1
    assert counter(at) == "Round 01/03"
    assert took < 20, f"{name}: {took:.1f} s"


# Markdown, HTML and image syntax in everything a link, a file or a value can carry.
PIXEL = "![pixel](http://evil.example/pixel.png)"
PHISH = "[Click here to fix your configuration](http://evil.example/phish)"
HTML = "<img src=http://evil.example/x.png onerror=alert(1)>"


def _assert_no_links_or_images(at: AppTest) -> None:
    bodies = markdown_bodies(at)
    for body in bodies:
        html = rendered_html(body)
        assert "<a " not in html and "<img" not in html, (body, html)
        assert "http://" not in body  # escaped: no bare-URL autolink either
    return bodies


def test_link_keys_values_and_file_names_are_shown_as_text_never_as_markdown():
    at = open_app({**TINY, PIXEL: "1", "data": PHISH, "split": HTML, "seed": PIXEL + PHISH},
                  "pages/data.py")
    _assert_no_links_or_images(at)
    text = warnings(at)
    assert "pixel.png" in text and "Click here to fix your configuration" in text
    assert "onerror" in text  # the value is shown, literally
    assert cfg_of(at).clients.num_clients == 3  # the rest of the link still applies
    # a file whose name and content carry the same payloads
    _upload(at, PHISH + ".json", json.dumps({"dataset": {"name": PIXEL + HTML}}).encode())
    _assert_no_links_or_images(at)
    msgs = errors(at)
    assert any("Click here to fix" in m and "pixel.png" in m for m in msgs), msgs
    _upload(at, PIXEL + ".json", b"null")
    _assert_no_links_or_images(at)


def test_a_link_beyond_the_classroom_caps_falls_back_and_says_so():
    at = open_app({"clients": "2000", "hidden": "1024", "data": "2d", "samples": "200000"},
                  "pages/data.py")
    cfg = cfg_of(at)
    assert cfg.clients.num_clients == 10 and cfg.model.hidden == 32
    assert cfg.dataset.num_samples == 1000 and cfg.dataset.name == "2d"
    text = warnings(at)
    for field in ("clients.num_clients", "model.hidden", "dataset.num_samples"):
        assert field in text
    assert "FEDSIM_MAX_CLIENTS" in text


def test_a_widget_change_beyond_a_cap_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv("FEDSIM_MAX_CLIENTS", "5")
    from fedsim_app.base import limits

    limits.current.cache_clear()
    try:
        at = open_app(TINY, "pages/data.py")
        at.number_input(key="cfg_clients").set_value(6).run()
        assert cfg_of(at).clients.num_clients == 3
        assert any("classroom limit of 5" in m and "FEDSIM_MAX_CLIENTS" in m
                   for m in errors(at)), errors(at)
    finally:
        monkeypatch.delenv("FEDSIM_MAX_CLIENTS")
        limits.current.cache_clear()


def test_divergence_is_reported_with_the_round_and_a_reset(monkeypatch):
    """The engine raises DivergedError from step(); the page says so and offers a reset."""
    from fedsim.errors import DivergedError

    at = open_app(TINY, "pages/training.py")
    at.button(key="next_round").click().run()
    sim = sim_of(at)

    def boom(*a, **k):
        raise DivergedError(2, "train", "the clients' local models")

    monkeypatch.setattr(type(sim), "step_round", boom)
    at.button(key="next_round").click().run()
    assert not at.exception
    msgs = errors(at)
    assert any("diverged in round 2" in m and "train" in m for m in msgs), msgs
    assert sim_of(at) is sim and sim.round == 1 and counter(at) == "Round 01/03"
    monkeypatch.undo()
    at.button(key="diverged_reset").click().run()
    assert counter(at) == "Round 00/03" and not errors(at)


def test_good_upload_replaces_the_configuration():
    at = open_app(TINY, "pages/training.py")
    new = SimulationConfig.from_dict({"seed": 5, "rounds": 2, "dataset": {"name": "2d",
                                      "num_samples": 200}, "clients": {"num_clients": 2}})
    _upload(at, "mine.json", new.to_json().encode())
    assert not at.exception and not errors(at)
    assert cfg_of(at) == new and counter(at) == "Round 00/02"


def test_config_download_is_the_cli_json():
    at = open_app(TINY, "pages/training.py")
    at.button(key="next_round").click().run()
    assert SimulationConfig.from_json(cfg_of(at).to_json()) == cfg_of(at)
    keys = {b.key for b in at.sidebar.get("download_button")}
    assert keys == {"download_config", "download_results"}
    csv = views.results_csv(sim_of(at).history, 3, "classification")
    assert len(csv.strip().splitlines()) == 1 + 3  # header + one row per client


# ------------------------------------------------------------------ presets, data, compare


def test_presets_load_or_explain_why_not():
    at = open_app()
    loaded = []
    for name, preset in PRESETS.items():
        at.button(key=f"preset_{name}").click().run()
        assert not at.exception, name
        if errors(at):
            assert any(preset.title in e for e in errors(at))
        else:
            assert cfg_of(at) == preset.build()
            loaded.append(name)
            assert preset.title in " ".join(m.value for m in at.sidebar.markdown)
    assert "2d-moons" in loaded and "iid" in loaded


def test_data_page_says_which_labels_a_pathological_split_left_out():
    at = open_app({"split": "pathological", "classes": "2", "clients": "4"},
                  page="pages/data.py")
    warn = [w.value for w in at.warning]
    assert any(t("data.unused_labels", labels="", n=2).split("(")[0] in w for w in warn), warn


def test_data_page_shows_the_split_the_engine_uses():
    from fedsim.engine.simulation import build_federation

    at = open_app({"clients": "5", "split": "dirichlet", "alpha": "0.3"}, "pages/data.py")
    from fedsim_app.base.state import _split_summary_cached  # the page's cached summary

    fed = build_federation(cfg_of(at))
    fig = chart(at, "data_labels")
    counts = np.array([arr(d["y"]) for d in fig["data"]]).T
    assert np.array_equal(counts, fed.label_counts())
    sizes = arr(chart(at, "data_sizes")["data"][0]["y"])
    assert sizes.tolist() == fed.client_data.counts.tolist()
    from fedsim.data.partition import skew_score

    assert metric(at, t("data.skew")).value == f"{skew_score(fed.label_counts()):.2f}"
    chart(at, "data_digits")  # sample digits drawn
    # the page's cached summary of the split is the engine's split, client by client
    summary = _split_summary_cached(cfg_of(at).to_json(indent=None))
    assert np.array_equal(summary.label_counts, fed.label_counts())
    assert summary.train_sizes.tolist() == fed.client_data.counts.tolist()
    assert summary.skew == skew_score(fed.label_counts())


def test_data_page_draws_2d_points():
    at = open_app(TINY, "pages/data.py")
    fig = chart(at, "data_points")
    assert len(fig["data"]) == 3


def test_compare_runs_variants_with_the_same_seed_and_engine_numbers():
    from fedsim.engine.simulation import Simulation

    at = open_app({**TINY, "seed": "3"}, "pages/compare.py")
    at.selectbox(key="cmp_knob").set_value("weighting").run()
    at.number_input(key="cmp_rounds").set_value(2).run()
    at.button(key="cmp_run").click().run()
    assert not at.exception and not errors(at)
    fig = chart(at, "cmp_curves")
    assert [d["name"] for d in fig["data"]] == [t("cmp.var.weighted"), t("cmp.var.simple")]
    ref = Simulation(cfg_of(at).replace(rounds=2, aggregation=cfg_of(at).aggregation.replace(
        weighted=False)))
    ref.run()
    assert fig["data"][1]["y"][-1] == pytest.approx(ref.history[-1].global_metrics["accuracy"])
    assert len([c for c in at.get("plotly_chart") if "cmp_labels_" in c.proto.id]) == 2
    # Again, now from the cache (it once raised CacheReplayClosureError), and in a new session.
    at.button(key="cmp_run").click().run()
    assert not at.exception and not errors(at)
    assert chart(at, "cmp_curves")["data"][1]["y"] == fig["data"][1]["y"]
    other = open_app({**TINY, "seed": "3"}, "pages/compare.py")
    other.selectbox(key="cmp_knob").set_value("weighting").run()
    other.number_input(key="cmp_rounds").set_value(2).run()
    other.button(key="cmp_run").click().run()
    assert not other.exception and chart(other, "cmp_curves")["data"][1]["y"] == fig["data"][1]["y"]


def test_a_page_that_stops_on_an_error_keeps_the_sidebar():
    # breast_cancer has 455 training rows: 400 clients cannot each get 4.
    at = open_app({"data": "breast_cancer", "clients": "200"}, page="pages/data.py")
    at.number_input(key="cfg_clients").set_value(400).run()
    assert any("clients" in e for e in errors(at))
    assert cfg_of(at).clients.num_clients == 200
    assert any(w.label == t("side.seed") for w in at.sidebar.number_input)
