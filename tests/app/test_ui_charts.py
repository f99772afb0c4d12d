"""Pure UI pieces, without Streamlit or TensorFlow: charts, colours, URL params, views, text.

Histories are built by hand from the engine's result dataclasses, so these tests run in a
second and pin down exactly what each chart draws.
"""

from __future__ import annotations

import json
import math
import pathlib
import re
import sys

import numpy as np
import pytest

from fedsim.config import DATASETS, PARTITIONS, SimulationConfig
from fedsim.errors import ConfigError
from fedsim.engine.results import PHASES, ClientRecord, PhaseRecord, RoundResult
from fedsim_app.base import charts, params, theme, views
from fedsim_app.i18n import STRINGS, t
from fedsim_app.pages.compare import views as compare
from fedsim_app.pages.data import charts as data_charts
from fedsim_app.pages.training import charts as training_charts
from fedsim_app.pages.training import views as training_views

ROOT = pathlib.Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ fixtures


def _client(cid, loss=(0.9, 0.7), dropped=False, rejected=False, val=0.8, norm=1.0):
    return ClientRecord(id=cid, num_examples=50 + cid, num_val=10, dropped=dropped,
                        malicious=False, train_loss=tuple(loss), val_loss=0.5, val_metric=val,
                        update_norm=norm, bytes_up=0 if dropped else 400,
                        extra={"rejected": rejected})


def _round(r, sampled, dropped=(), rejected=(), acc=0.5, loss=1.0):
    clients = tuple(_client(c, dropped=c in dropped, rejected=c in rejected, norm=r + c / 10)
                    for c in sampled)
    trace = tuple(PhaseRecord(r, p, 1.0, {}) for p in PHASES)
    return RoundResult(round=r, sampled=tuple(sampled), dropped=tuple(dropped),
                       rejected=tuple(rejected), clients=clients,
                       global_metrics={"loss": loss, "accuracy": acc}, bytes_down=1200,
                       bytes_up=400 * (len(sampled) - len(dropped)), privacy={}, trace=trace)


@pytest.fixture
def history():
    # 4 clients, 3 rounds: client 3 is never sampled in round 2, client 1 drops in round 2,
    # client 2 is rejected in round 3.
    return (_round(1, [0, 1, 2, 3], acc=0.6, loss=0.9),
            _round(2, [0, 1, 2], dropped=[1], acc=0.7, loss=0.8),
            _round(3, [0, 1, 2, 3], rejected=[2], acc=0.75, loss=0.7))


INITIAL = {"loss": 1.2, "accuracy": 0.1}


# ------------------------------------------------------------------ colours


def test_client_palette_has_20_plus_distinct_strong_colours():
    pal = theme.CLIENT_PALETTE
    assert len(pal) >= 20 and len(set(pal)) == len(pal)
    assert theme.GLOBAL_COLOR not in pal and theme.BASELINE_COLOR not in pal
    for c in pal:  # no greys: every colour has some saturation
        r, g, b = (int(c[i:i + 2], 16) for i in (1, 3, 5))
        assert max(r, g, b) - min(r, g, b) > 30, c


def test_client_color_is_stable_and_uses_a_scale_beyond_the_palette():
    assert theme.client_color(3, 10) == theme.client_color(3, 10) == theme.CLIENT_PALETTE[3]
    many = [theme.client_color(k, 60) for k in range(60)]
    assert len(set(many)) == 60
    assert all(c.startswith("rgb") for c in many)


# ------------------------------------------------------------------ global model


def test_global_metric_figure_starts_at_round_0_in_black(history):
    curve = views.global_curve(history, INITIAL, "classification")
    fig = training_charts.global_metric_figure(curve, None, total_rounds=5)
    (tr,) = fig.data
    assert list(tr.x) == [0, 1, 2, 3] and list(tr.y) == [0.1, 0.6, 0.7, 0.75]
    assert tr.line.color == theme.GLOBAL_COLOR
    assert fig.layout.template.layout.colorway == theme.CLIENT_PALETTE
    assert fig.layout.xaxis.range == (-0.3, 5.3)


def test_baselines_are_dashed_grey_with_a_local_only_band(history):
    curve = views.global_curve(history, INITIAL, "classification")
    base = {"centralized": [{"round": r, "accuracy": 0.9, "loss": 0.3} for r in (1, 2, 3)],
            "local_only": [{"round": r, "accuracy": 0.5, "accuracy_min": 0.4,
                            "accuracy_max": 0.6, "loss": 1.0} for r in (1, 2, 3)]}
    fig = training_charts.global_metric_figure(curve, base)
    lines = [d for d in fig.data if d.mode == "lines"]
    assert {d.line.dash for d in lines} == {"dash", "dot"}
    assert all(d.line.color == theme.BASELINE_COLOR for d in lines)
    assert any(d.fill == "toself" for d in fig.data)  # worst–best band
    assert fig.data[-1].name == t("ch.global")  # global model drawn last, on top
    loss = training_charts.global_loss_figure(curve, base)
    assert not any(d.fill == "toself" for d in loss.data)
    assert list(loss.data[-1].y) == [1.2, 0.9, 0.8, 0.7]


# ------------------------------------------------------------------ clients


def test_client_loss_curves_one_trace_per_client_in_its_colour_with_gaps(history):
    fig = training_charts.client_loss_figure(history, 4)
    assert [d.name for d in fig.data] == ["0", "1", "2", "3"]
    for d in fig.data:
        assert d.line.color == theme.client_color(int(d.name), 4)
    # two local epochs per round: epoch e of round r at r - 1 + e/2
    assert list(fig.data[0].x) == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    # client 3 skipped round 2: a None breaks its line
    assert list(fig.data[3].x) == [0.5, 1.0, None, 2.5, 3.0]


def test_client_val_figure_adds_the_global_model_in_black(history):
    curve = views.global_curve(history, INITIAL, "classification")
    fig = training_charts.client_val_figure(history, 4, "classification", curve)
    assert fig.data[-1].line.color == theme.GLOBAL_COLOR
    assert list(fig.data[-1].x) == [1, 2, 3]
    assert len(fig.data) == 5


def test_update_norm_marks_dropped_and_rejected(history):
    fig = training_charts.update_norm_figure(history, 4)
    by = {d.name: d for d in fig.data}
    assert list(by["1"].marker.symbol) == ["circle", "circle-open", "circle"]
    assert list(by["2"].marker.symbol) == ["circle", "circle", "x"]
    assert by["0"].marker.color is None and by["0"].line.color == theme.client_color(0, 4)


def test_participation_matrix_and_figure(history):
    m = training_views.participation_matrix(history, 4)
    codes = {s: i for i, s in enumerate(views.STATUS_CODES)}
    assert m[:, 0].tolist() == [codes["trained"]] * 4
    assert m[1, 1] == codes["dropped"] and m[3, 1] == codes["not_sampled"]
    assert m[2, 2] == codes["rejected"]
    fig = training_charts.participation_figure(m, [1, 2, 3])
    heat = fig.data[0]
    assert heat.type == "heatmap" and np.array(heat.z).shape == (4, 3)
    legend = [d for d in fig.data[1:]]
    assert [d.marker.color for d in legend] == [theme.STATUS_COLORS[s]
                                                for s in views.STATUS_CODES]
    assert heat.customdata[1][1] == t("ch.status.dropped")


# ------------------------------------------------------------------ data page


def test_label_distribution_is_stacked_with_pastel_label_colours():
    counts = np.array([[5, 0, 1], [0, 7, 2]])
    fig = charts.label_distribution_figure(counts, ["a", "b", "c"])
    assert fig.layout.barmode == "stack" and len(fig.data) == 3
    assert [list(d.y) for d in fig.data] == [[5, 0], [0, 7], [1, 2]]
    assert [d.marker.color for d in fig.data] == [theme.label_color(i) for i in range(3)]
    assert not set(theme.LABEL_PALETTE) & set(theme.CLIENT_PALETTE)
    # tick labels carry the client colours
    assert theme.client_color(1, 2) in fig.layout.xaxis.ticktext[1]


def test_client_sizes_in_client_colours_with_hatched_validation():
    fig = data_charts.client_sizes_figure([10, 20, 30], [2, 4, 6])
    train, val = fig.data
    assert list(train.marker.color) == [theme.client_color(k, 3) for k in range(3)]
    assert val.marker.pattern.shape == "/" and list(val.y) == [2, 4, 6]


def test_digits_figure_one_heatmap_and_a_label_per_image():
    imgs = [np.random.default_rng(0).random((3, 8, 8)) * 16 for _ in range(2)]
    labels = [np.array([1, 2, 3]), np.array([4, 5, 6])]
    fig = data_charts.digits_figure(imgs, labels, [0, 5], 10)
    assert len(fig.data) == 1 and fig.data[0].type == "heatmap"
    assert sorted(a.text for a in fig.layout.annotations) == [str(i) for i in range(1, 7)]
    assert theme.client_color(5, 10) in fig.layout.yaxis.ticktext[1]


def test_points_figure_one_trace_per_client():
    pts = np.random.default_rng(1).normal(size=(30, 2))
    lab = np.arange(30) % 2
    cl = np.arange(30) % 3
    fig = data_charts.points_figure(pts, lab, cl, 3)
    assert [d.marker.color for d in fig.data] == [theme.client_color(k, 3) for k in range(3)]
    assert set(fig.data[0].marker.symbol) == {"circle", "x-thin-open"}


def test_boundary_figure_has_probability_map_contour_and_points():
    g = np.linspace(-1, 1, 5)
    prob = np.tile(np.linspace(0, 1, 5), (5, 1))
    fig = training_charts.boundary_figure(g, g, prob, np.zeros((4, 2)), np.array([0, 1, 0, 1]),
                                 "Client 2", color=theme.client_color(2, 4))
    assert [d.type for d in fig.data] == ["heatmap", "contour", "scatter", "scatter"]
    assert fig.data[1].line.color == theme.client_color(2, 4)


# ------------------------------------------------------------------ cycle, compare


def test_cycle_figure_lights_the_next_phase_and_ticks_done_ones():
    fig = charts.cycle_figure("train", ["select", "broadcast"], center="round 1")
    boxes = {a.name.split(":", 1)[1]: a for a in fig.layout.annotations
             if a.name and a.name.startswith("phase:")}
    assert list(boxes) == list(PHASES)
    assert boxes["train"].bgcolor == charts.NEXT_FILL
    assert boxes["select"].bgcolor == boxes["broadcast"].bgcolor == charts.DONE_FILL
    assert boxes["evaluate"].bgcolor == charts.IDLE_FILL
    assert any(a.name == "center" and a.text == "round 1" for a in fig.layout.annotations)
    idle = charts.cycle_figure()
    assert all(a.bgcolor in (None, charts.IDLE_FILL) for a in idle.layout.annotations)


def test_compare_figure_uses_variant_colours():
    fig = charts.compare_figure([("a", [0, 1], [0.1, 0.5]), ("b", [0, 1], [0.1, 0.4])],
                                "accuracy")
    assert [d.line.color for d in fig.data] == [theme.variant_color(0), theme.variant_color(1)]


def test_compare_variants_change_only_the_knob():
    base = SimulationConfig.from_dict({"seed": 7, "rounds": 9})
    out = compare.variants(base, "alpha", rounds=4)
    assert [label for label, _ in out] == ["α = 100", "α = 0.1", "α = 0.01"]
    for _, cfg in out:
        assert cfg.seed == 7 and cfg.rounds == 4 and cfg.partition.name == "dirichlet"
        assert cfg.training == base.training and cfg.clients == base.clients
    algo = dict(compare.variants(base, "algorithm"))
    assert algo[t("cmp.var.fedprox")].training.prox_mu == 0.1
    assert algo[t("cmp.var.fedadam")].aggregation.server_optimizer == "fedadam"
    for knob in compare.KNOBS:
        assert len(compare.variants(base, knob)) >= 2


# ------------------------------------------------------------------ URL parameters


def test_default_config_gives_an_empty_query():
    assert params.encode(SimulationConfig()) == {}


def test_encode_uses_short_keys_and_only_changed_values():
    cfg = SimulationConfig.from_dict({"seed": 3, "dataset": {"name": "2d"},
                                      "clients": {"num_clients": 4},
                                      "partition": {"name": "dirichlet", "alpha": 0.1},
                                      "aggregation": {"weighted": False}})
    q = params.encode(cfg)
    assert q == {"seed": "3", "data": "2d", "clients": "4", "split": "dirichlet",
                 "alpha": "0.1", "weighted": "false"}
    assert params.share_url("http://h/training", cfg).startswith("http://h/training?seed=3&")


@pytest.mark.parametrize("over", [
    {"rounds": 7, "training": {"lr": 0.003, "local_epochs": 4, "prox_mu": 0.01}},
    {"dataset": {"name": "2d", "shape": "xor", "num_samples": 400, "noise": 0.35}},
    {"clients": {"num_clients": 12, "fraction": 0.25, "dropout": 0.3,
                 "malicious": {"ids": [3, 5], "factor": 4.0}}},
    {"privacy": {"dp": {"mode": "central", "clip": 0.5, "target_epsilon": 3.0}},
     "clients": {"num_clients": 100, "fraction": 0.2}},
    {"privacy": {"secure_aggregation": {"enabled": True, "neighbors": 4}}},
    {"partition": {"name": "quantity", "sigma": 1.5, "min_samples": 6}},
])
def test_encode_decode_round_trip(over):
    cfg = SimulationConfig.from_dict({"seed": 11, **over})
    back, problems = params.decode(params.encode(cfg))
    assert problems == [] and back == cfg


def test_decode_reports_bad_values_and_keeps_the_rest():
    cfg, problems = params.decode({"clients": "4", "alpha": "-1", "split": "dirichlet",
                                   "bogus": "1", "lr": "fast", "embed": "true"})
    assert cfg.clients.num_clients == 4 and cfg.partition.name == "dirichlet"
    assert cfg.partition.alpha == SimulationConfig().partition.alpha  # bad value dropped
    assert cfg.training.lr == SimulationConfig().training.lr
    text = " | ".join(problems)
    assert "unknown:bogus" in problems
    assert "partition.alpha" in text and "training.lr" in text
    assert "embed" not in text  # Streamlit's own parameter is not ours to judge


def test_decode_survives_an_incompatible_combination():
    cfg, problems = params.decode({"data": "2d", "model": "cnn"})
    assert cfg.dataset.name == "2d" and cfg.model.name == "auto"
    assert any("model.name" in p for p in problems)


def test_with_changes_validates():
    cfg = params.with_changes(SimulationConfig(), {"partition.alpha": 2.0})
    assert cfg.partition.alpha == 2.0
    with pytest.raises(ConfigError, match="partition.alpha"):
        params.with_changes(SimulationConfig(), {"partition.alpha": 0.0})
    with pytest.raises(ConfigError):
        params.with_changes(SimulationConfig(), {"partition.nope": 1})


# ------------------------------------------------------------------ views


def test_metric_cards_format_and_deltas(history):
    cards = training_views.metric_cards(history, INITIAL, "classification")
    by = {c.key: c for c in cards}
    assert by["metric"].value == "0.750" and by["metric"].delta == "+0.050"
    assert by["loss"].value == "0.700" and by["loss"].delta == "-0.100"
    assert by["loss"].delta_color == "inverse"
    assert by["clients"].value == "3/4" and by["clients"].delta == t("tr.metric.rejected", n=1)
    assert by["up"].value == "1.6 KB" and by["down"].value == "1.2 KB"
    first = training_views.metric_cards((), INITIAL, "classification")
    assert first[0].value == "0.100" and first[0].delta is None and first[2].value == "—"
    same = training_views.metric_cards(history[:1] + (history[0],), INITIAL, "classification")
    assert same[0].delta == "±0.000" and same[0].delta_color == "off"


def test_round_counter_is_zero_padded():
    assert views.round_counter(7, 20) == "Round 07/20"
    assert views.round_counter(7, 150) == "Round 007/150"


def test_results_csv_has_one_row_per_round_and_client(history):
    import io

    import pandas as pd

    df = pd.read_csv(io.StringIO(views.results_csv(history, 4, "classification")))
    assert len(df) == 3 * 4
    assert list(df.columns[:3]) == ["round", "client", "status"]
    row = df[(df["round"] == 2) & (df["client"] == 3)].iloc[0]
    assert row["status"] == "not_sampled" and math.isnan(row["train_loss"])
    assert df[(df["round"] == 2) & (df["client"] == 1)].iloc[0]["status"] == "dropped"
    assert set(df["global_accuracy"]) == {0.6, 0.7, 0.75}


def test_phase_texts_follow_the_protection_in_use():
    plain = SimulationConfig()
    assert "clear" in views.phase_texts("upload", plain)[1]
    assert "weighted average" in views.phase_texts("aggregate", plain)[0]
    simple = plain.replace(aggregation=plain.aggregation.replace(weighted=False))
    assert "simple average" in views.phase_texts("aggregate", simple)[0]
    sa = SimulationConfig.from_dict({"privacy": {"secure_aggregation": {"enabled": True}}})
    assert "masked" in views.phase_texts("upload", sa)[1]
    assert "sum" in views.phase_texts("aggregate", sa)[1]
    for p in PHASES:
        what, sees = views.phase_texts(p, plain)
        assert what and sees


def test_phase_summary_sentences():
    sel = PhaseRecord(1, "select", 0.1, {"sampled": [0, 2], "num_sampled": 2,
                                         "will_drop": [2]})
    assert training_views.phase_summary(sel, "classification").startswith("the server picked 2")
    ev = PhaseRecord(1, "evaluate", 0.1, {"loss": 0.5, "accuracy": 0.8})
    assert "0.800" in training_views.phase_summary(ev, "classification")


def test_human_bytes():
    assert views.human_bytes(999) == "999 B"
    assert views.human_bytes(19_200) == "19.2 KB"
    assert views.human_bytes(3_500_000) == "3.5 MB"


# ------------------------------------------------------------------ strings


def _app_sources() -> list[pathlib.Path]:
    """Every Python file of the app: the package (not the article's pseudo-code in its assets)
    and the root entries."""
    package = [p for p in sorted((ROOT / "fedsim_app").rglob("*.py")) if "assets" not in p.parts]
    return [*package, *ROOT.glob("pages/*.py"), ROOT / "app.py"]


def _literal_keys() -> set[str]:
    keys = set()
    for path in _app_sources():
        if path != ROOT / "fedsim_app" / "i18n" / "__init__.py":  # its docstring shows t("key")
            keys |= set(re.findall(r"""\bt\(\s*["']([a-z_.0-9]+)["']""", path.read_text()))
    return {k for k in keys if not k.endswith(".")}  # "phase." + name: checked below


def test_every_text_key_used_in_the_code_exists():
    en = STRINGS["en"]
    missing = sorted(k for k in _literal_keys() if k not in en)
    assert not missing, missing
    # keys built from engine names (f-strings)
    dynamic = ([f"phase.{p}" for p in PHASES] + [f"phase.{p}.what" for p in PHASES]
               + [f"phase.{p}.sees" for p in PHASES]
               + [f"data.dataset.{d}" for d in DATASETS] + [f"data.split.{p}" for p in PARTITIONS]
               + [f"ch.status.{s}" for s in views.STATUS_CODES]
               + [f"cmp.knob.{k}" for k in compare.KNOBS]
               + [f"{k}.help" for k in en if k.startswith(("data.", "tr.")) and
                  f"{k}.help" in en])
    assert not [k for k in dynamic if k not in en]


def test_every_widget_has_help():
    """Every st.* widget call in the app (pages, their sections, the base and the frame) passes
    help= (or goes through controls.bound, which always does), or is marked ``# caption-help``
    on the line before and explained by a caption drawn right after it."""
    widgets = r"\b(?:st|c\d|b\[\d\]|t\d|col|\w+)\.(button|toggle|selectbox|multiselect|slider|" \
              r"select_slider|number_input|segmented_control|file_uploader|download_button)\("
    for path in _app_sources():
        src = path.read_text()
        for m in re.finditer(widgets, src):
            call = src[m.start():src.find("\n\n", m.start())]
            depth, end = 0, 0
            for i, ch in enumerate(call):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0 and ch == ")":
                    end = i
                    break
            before = src[src.rfind("\n", 0, src.rfind("\n", 0, m.start())):m.start()]
            if "# caption-help" in before:  # explained in a caption drawn right after it
                assert "st.caption(" in src[m.start():m.start() + 600], path
                continue
            assert "help=" in call[:end], f"{path.relative_to(ROOT)}: {call[:60]}"


def test_ui_modules_do_not_import_tensorflow():
    import subprocess

    code = ("import sys, fedsim_app.base.charts, fedsim_app.base.views, fedsim_app.base.params\n"
            "import fedsim_app.pages.compare.views, fedsim_app.base.theme, fedsim_app.i18n\n"
            "import fedsim_app.pages.privacy.charts, fedsim_app.pages.privacy.views\n"
            "import fedsim_app.pages.crypto.charts, fedsim_app.pages.crypto.views\n"
            "import fedsim_app.frame  # the whole app: every page, section, view and chart\n"
            "from fedsim_app.base.views import split_summary\n"
            "from fedsim.config import SimulationConfig\n"
            "split_summary(SimulationConfig())\n"
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_catalogue_files_are_what_translators_edit():
    """Each catalogue file is a JSON object of text, or of plural forms (CLDR categories: 'one'
    and 'other' in English, 'other' alone in Chinese), and both languages have the same files
    and the same keys in each."""
    locales = ROOT / "fedsim_app" / "i18n" / "locales"
    files = {lang: sorted(p.name for p in (locales / lang).glob("*.json")) for lang in ("en", "zh")}
    assert files["en"] == files["zh"] and files["en"]
    for name in files["en"]:
        en, zh = (json.loads((locales / lang / name).read_text(encoding="utf-8"))
                  for lang in ("en", "zh"))
        assert set(en) == set(zh), (name, sorted(set(en) ^ set(zh))[:5])
        for lang, cat, forms in (("en", en, {"one", "other"}), ("zh", zh, {"other"})):
            for key, value in cat.items():
                if isinstance(value, dict):  # plural forms
                    assert set(value) == forms, (lang, name, key, sorted(value))
                    value = " ".join(value.values())
                assert isinstance(value, str) and value.strip(), (lang, name, key)


def test_participation_marks_malicious_clients():
    m = np.zeros((4, 2), np.int8)
    fig = training_charts.participation_figure(m, [1, 2], malicious=[2])
    assert list(fig.layout.yaxis.ticktext) == ["0", "1", "⚠ 2", "3"]


def test_themed_figures_are_exactly_what_plotly_validates(history):
    """``theme.themed`` puts the template in as pre-validated JSON (Plotly's own validation of
    it was most of a click's CPU). The result must be byte-for-byte what Plotly makes of the
    same figure when it validates everything, template included — in both templates."""
    import plotly.graph_objects as go

    from fedsim_app.pages.attacks import charts as attack_charts
    from fedsim_app.pages.crypto import charts as crypto_charts

    ref = go.Figure()
    ref.update_layout(template=theme.TEMPLATE_NAME)
    assert json.loads(theme.themed(go.Figure()).to_json()) == json.loads(ref.to_json())
    curve = views.global_curve(history, INITIAL, "classification")
    figs = [charts.cycle_figure("train", ["select"]),
            training_charts.global_metric_figure(curve, None, 5),
            training_charts.global_loss_figure(curve, None, 5),
            training_charts.client_loss_figure(history, 4, 5),
            crypto_charts.cost_figure({"protect_ms_per_client": 1.0, "server_ms": 2.0,
                                       "up_per_client": 10, "down_per_client": 10},
                                      {"protect_ms_per_client": 3.0, "server_ms": 4.0,
                                       "up_per_client": 20, "down_per_client": 20}, "x"),
            attack_charts.digits_figure(np.zeros(64), np.ones(64))]
    def plain(fig):  # re-validation drops an empty title ({}), nothing else differs
        d = json.loads(fig.to_json())
        d["layout"] = {k: v for k, v in d["layout"].items() if v != {}}
        return d

    for fig in figs:
        assert fig.layout.template.layout.font.size == 14
        assert plain(fig) == plain(go.Figure(fig.to_dict()))
    big = theme.PRESENT_TEMPLATE_NAME
    ref.update_layout(template=big)
    assert theme._TEMPLATE_JSON[big] == json.loads(ref.to_json())["layout"]["template"]
