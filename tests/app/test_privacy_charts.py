"""Pure pieces of the Privacy page: chart functions and the views they draw from.

Histories are built by hand from the engine's result dataclasses, with the DP measurements the
engine records (``RoundResult.privacy``, ``ClientRecord.extra``, the ``protect``/``update``
phase measurements), so these tests run in a second and pin down what each chart draws.
"""

from __future__ import annotations

import math
import pathlib
import re

import pytest

from fedsim.config import DP_MODES, SimulationConfig
from fedsim.errors import ConfigError
from fedsim.engine.results import PHASES, ClientRecord, PhaseRecord, RoundResult
from fedsim_app.base import theme, views
from fedsim_app.i18n import STRINGS, t
from fedsim_app.pages.privacy import charts as pc
from fedsim_app.pages.privacy import views as pv
from fedsim_app.pages.training import views as training_views

ROOT = pathlib.Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ fixtures


def _client(cid, norm, clip, dropped=False, noise=None):
    extra = {"pre_clip_norm": norm, "clipped": norm > clip, "rejected": False}
    if noise is not None:
        extra["noise_norm"] = noise
    return ClientRecord(id=cid, num_examples=40, num_val=5, dropped=dropped, malicious=False,
                        train_loss=(0.7,), val_loss=0.5, val_metric=0.8, update_norm=norm,
                        bytes_up=0 if dropped else 400, extra=extra)


def _round(r, norms, clip, eps, dropped=(), mode="central", next_clip=None, acc=0.5):
    """One round: ``norms`` maps client id → pre-clip norm."""
    noise = {c: 10.0 + c for c in norms} if mode == "local" else {}
    clients = tuple(_client(c, n, clip, c in dropped, noise.get(c)) for c, n in norms.items())
    prot = {"dp": {"clip": clip, "clipped_fraction": 0.0}} if norms else {}
    upd = {}
    if mode == "central":
        upd = {"dp": {"sigma": clip, "clip": clip, "signal_norm": 0.1 * r,
                      "noise_norm": 0.5 * r, "denominator": 2.0}}
        if next_clip is not None:
            upd["dp"]["adaptive"] = {"next_clip": next_clip}
    meas = {"protect": prot, "update": upd}
    trace = tuple(PhaseRecord(r, p, 1.0, meas.get(p, {})) for p in PHASES)
    return RoundResult(round=r, sampled=tuple(norms), dropped=tuple(dropped), rejected=(),
                       clients=clients, global_metrics={"loss": 1.0, "accuracy": acc},
                       bytes_down=100, bytes_up=100, privacy={"epsilon": eps, "delta": 1e-5},
                       trace=trace)


@pytest.fixture
def central():
    # 3 clients, adaptive clip 0.5 → 0.4 → 0.3; client 2 is clipped in rounds 1 and 2, client
    # 1 drops in round 2; round 3 samples nobody (Poisson) but the server still noises.
    return (_round(1, {0: 0.2, 1: 0.3, 2: 0.9}, 0.5, 1.0, next_clip=0.4),
            _round(2, {0: 0.2, 1: 0.45, 2: 0.6}, 0.4, 1.5, dropped=(1,), next_clip=0.3),
            _round(3, {}, 0.3, 1.9))


# ------------------------------------------------------------------ formatting


def test_formatting_of_epsilon_odds_and_delta():
    assert views.fmt_eps(7.904) == "7.90" and views.fmt_eps(96.1) == "96.10"
    assert views.fmt_eps(123.4) == "123" and views.fmt_eps(math.inf) == "∞"
    assert pv.fmt_odds(1.0) == "2.7" and pv.fmt_odds(10.0) == "22,026"
    assert pv.fmt_odds(30.0) == "1.1e+13" and pv.fmt_odds(math.inf) == "∞"
    assert pv.fmt_delta(1e-5) == "10⁻⁵" and pv.fmt_delta(0.001) == "10⁻³"
    assert pv.fmt_delta(2e-5) == "2e-05"


def test_nearest_step_is_logarithmic():
    assert pv.nearest_step(7.9, pv.EPS_STEPS) == 8.0
    assert pv.nearest_step(2.9, pv.EPS_STEPS) == 4.0  # log-closer to 4 than to 2
    assert pv.nearest_step(math.inf, pv.EPS_STEPS) == 32.0
    assert pv.nearest_step(0.01, pv.EPS_STEPS) == 0.5


# ------------------------------------------------------------------ ε chart


def test_epsilon_figure_plan_dashed_run_solid_pld_and_target():
    fig = pc.epsilon_figure([1.0, 1.5, 1.9, 2.2], [1, 2], [1.0, 1.5], pld=2.0, target=2.5,
                            total_rounds=4)
    planned, spent, pld, target = fig.data
    assert list(planned.x) == [1, 2, 3, 4] and planned.line.dash == "dash"
    assert list(spent.x) == [1, 2] and list(spent.y) == [1.0, 1.5]
    assert spent.mode == "lines+markers" and spent.line.dash is None
    assert planned.line.color == spent.line.color == pc.EPS_COLOR
    assert list(pld.x) == [4] and list(pld.y) == [2.0] and pld.marker.symbol == "diamond"
    assert list(target.y) == [2.5, 2.5] and target.name == t("priv.ch.target", eps="2.5")
    assert not fig.layout.shapes  # nothing above ε = 10: no "weak" band
    assert fig.layout.xaxis.range == (0.5, 4.5)


def test_epsilon_figure_marks_the_weak_zone_and_infinite_epsilon():
    fig = pc.epsilon_figure([5.0, 12.0], [1], [5.0], total_rounds=2)
    (band,) = fig.layout.shapes
    assert band.y0 == pv.WEAK_EPSILON and band.y1 > 12
    inf = pc.epsilon_figure([math.inf, math.inf], [1], [math.inf], pld=math.inf,
                            total_rounds=2)
    assert all(len(d.x) == 0 for d in inf.data)  # nothing finite to draw …
    assert any(a.name == "infinite" for a in inf.layout.annotations)  # … and it says why


# ------------------------------------------------------------------ clipping


def test_clip_views_read_the_engines_records(central):
    rows = pv.clip_points(central)
    assert [(r["round"], r["client"], r["clipped"], r["dropped"]) for r in rows] == [
        (1, 0, False, False), (1, 1, False, False), (1, 2, True, False),
        (2, 0, False, False), (2, 1, True, True), (2, 2, True, False)]
    bounds = views.clip_bounds(central)
    assert [(b["round"], b["clip"], b["clipped"], b["n"]) for b in bounds] == [
        (1, 0.5, 1, 3), (2, 0.4, 2, 3), (3, 0.3, 0, 0)]  # round 3: bound from the server
    assert bounds[0]["next_clip"] == 0.4


def test_clip_figure_colours_symbols_moving_bound_and_counts(central):
    fig = pc.clip_figure(central, 3, total_rounds=3)
    clients = [d for d in fig.data if d.name.startswith(t("ch.client_n", k=0)[:-1])]
    assert [d.marker.color for d in clients] == [theme.client_color(k, 3) for k in range(3)]
    c2 = clients[2]
    assert list(c2.y) == [0.9, 0.6] and list(c2.marker.symbol) == ["triangle-down"] * 2
    assert list(clients[1].marker.symbol) == ["circle", "triangle-down-open"]  # dropped
    assert c2.x[0] > clients[0].x[0]  # side by side within a round
    (bound,) = [d for d in fig.data if d.name == t("priv.ch.clip_bound")]
    ys = [y for y in bound.y if y is not None]
    assert ys == [0.5, 0.5, 0.4, 0.4, 0.3, 0.3]  # the adaptive bound moves
    assert [a.text for a in fig.layout.annotations] == ["1/3", "2/3", "0/0"]
    assert fig.layout.title.text == t("priv.ch.clip_title", round=3, k=0, n=0)
    assert any(d.name == t("priv.ch.clipped_marker") for d in fig.data)


def test_clip_figure_window_and_counts_for_long_runs():
    short = (_round(1, {0: 0.2, 1: 0.9}, 0.5, 1.0),)
    assert pc.clip_figure(short, 2, total_rounds=100).layout.xaxis.range == (0.4, 10.6)
    long = tuple(_round(r, {0: 0.2, 1: 0.9}, 0.5, 1.0) for r in range(1, 13))
    fig = pc.clip_figure(long, 2, total_rounds=100)
    assert fig.layout.xaxis.range == (0.4, 12.6)  # grows with the run
    assert [a.name for a in fig.layout.annotations] == ["count:12"]  # only the latest


def test_clip_figure_hides_per_client_legend_for_many_clients():
    hist = (_round(1, {k: 0.1 * k for k in range(12)}, 0.5, 1.0),)
    fig = pc.clip_figure(hist, 12)
    assert all(d.showlegend is False for d in fig.data if d.name.startswith("client"))
    assert pc.clip_figure((), 3).layout.title.text == t("priv.ch.clip_title0")


def test_clip_line_overlay_on_the_training_chart(central):
    from fedsim_app.pages.training import charts

    fig = charts.update_norm_figure(central, 3)
    n = len(fig.data)
    charts.add_clip_line(fig, central)
    assert len(fig.data) == n + 1 and fig.data[-1].name == t("priv.ch.clip_bound")
    # no DP records (e.g. DP-SGD, or DP off): nothing is added
    plain = tuple(RoundResult(r.round, r.sampled, r.dropped, r.rejected, r.clients,
                              r.global_metrics, 0, 0, {}, tuple(PhaseRecord(r.round, p, 1.0, {})
                                                                for p in PHASES))
                  for r in central)
    fig2 = charts.update_norm_figure(plain, 3)
    assert len(charts.add_clip_line(fig2, plain).data) == len(fig2.data)


# ------------------------------------------------------------------ signal vs noise


def test_signal_noise_central_and_local(central):
    sn = pv.signal_noise(central, "central")
    assert sn == {"round": [1, 2, 3], "signal": [0.1, 0.2, pytest.approx(0.3)],
                  "noise": [0.5, 1.0, 1.5]}
    fig = pc.signal_noise_figure(sn, "central")
    sig, noise = fig.data
    assert sig.marker.color == theme.GLOBAL_COLOR and noise.marker.color == pc.NOISE_COLOR
    assert list(noise.customdata) == ["5.0", "5.0", "5.0"]  # noise / signal
    local = (_round(1, {0: 0.2, 1: 0.9}, 0.5, 3.0, mode="local"),)
    sn = pv.signal_noise(local, "local")
    # mean of min(norm, C) and mean of the clients' noise norms (10 and 11)
    assert sn == {"round": [1], "signal": [pytest.approx(0.35)], "noise": [10.5]}
    assert pc.signal_noise_figure(sn, "local").data[1].name == t("priv.ch.noise.local")


# ------------------------------------------------------------------ utility charts


def test_with_without_figure():
    dp = {"round": [0, 1], "metric": [0.1, 0.5], "loss": [1, 1], "key": "accuracy"}
    plain = {"round": [0, 1, 2], "metric": [0.1, 0.7, 0.8], "loss": [1, 1, 1],
             "key": "accuracy"}
    fig = pc.with_without_figure(dp, plain, total_rounds=2)
    base, mine = fig.data
    assert base.line.dash == "dash" and base.line.color == theme.BASELINE_COLOR
    assert mine.line.color == theme.GLOBAL_COLOR and list(mine.y) == [0.1, 0.5]
    assert len(pc.with_without_figure(dp, None).data) == 1


def test_sweep_figure_log_x_sorted_labelled_points():
    pts = [{"z": 0.5, "epsilon": 9.0, "metric": 0.8}, {"z": 2.0, "epsilon": 1.2, "metric": 0.6},
           {"z": 0.0, "epsilon": math.inf, "metric": 0.9}]
    fig = pc.sweep_figure(pts, "accuracy", no_dp=0.85, here=(3.0, 0.7))
    line, nodp, here = fig.data
    assert fig.layout.xaxis.type == "log"
    assert list(line.x) == [1.2, 9.0] and list(line.text) == ["z = 2", "z = 0.5"]
    assert list(nodp.y) == [0.85, 0.85] and nodp.line.dash == "dash"
    assert here.marker.symbol == "star" and list(here.x) == [3.0]


# ------------------------------------------------------------------ warnings and cards


def _cfg(**dp):
    clients = dp.pop("clients", {"num_clients": 4})
    return SimulationConfig.from_dict({"rounds": 10, "clients": clients,
                                       "privacy": {"dp": {"mode": "central", **dp}}})


def test_warnings_are_honest():
    text = lambda ws: " ".join(w for _, w in ws)  # noqa: E731
    ws = pv.privacy_warnings(_cfg(), 1.0, 40.0)
    assert t("priv.warn.no_sampling", eps="40.00", rounds=10) in text(ws)
    assert "Few clients" in text(ws) and "Weak guarantee" in text(ws)
    many = _cfg(clients={"num_clients": 1000, "fraction": 0.1})
    assert pv.privacy_warnings(many, 1.0, 2.0) == []
    kinds = [k for k, _ in pv.privacy_warnings(many, 0.0, math.inf)]
    assert kinds == ["error"]  # no noise: ε = ∞ (and no "weak" on top of it)
    local = SimulationConfig.from_dict({"clients": {"num_clients": 4},
                                        "privacy": {"dp": {"mode": "local"}}})
    assert pv.privacy_warnings(local, 1.0, 5.0) == []  # local never amplifies: said elsewhere
    dpsgd = local.replace(privacy=local.privacy.replace(
        dp=local.privacy.dp.replace(mode="dpsgd")))
    assert "batch is as large" in text(pv.privacy_warnings(dpsgd, 1.0, 5.0, dpsgd_q=1.0))
    off = SimulationConfig()
    assert pv.privacy_warnings(off, 1.0, 99.0) == []


def test_epsilon_card_for_the_training_page(central):
    card = training_views.epsilon_card(central)
    assert card.label == t("priv.overlay.eps") and card.value == "1.90"
    assert card.delta == "+0.40" and card.delta_color == "inverse"
    empty = training_views.epsilon_card(())
    assert empty.value == "0.00" and empty.delta is None and empty.delta_color == "off"


def test_sweep_and_no_dp_variants_change_only_the_noise():
    cfg = _cfg(target_epsilon=4.0, clip=0.3)
    for z in pv.SWEEP_Z:
        v = pv.with_noise(cfg, z)
        assert v.privacy.dp.noise_multiplier == z and v.privacy.dp.target_epsilon is None
        assert v.replace(privacy=cfg.privacy) == cfg
        assert pv.sweep_key(v) == pv.sweep_key(cfg)
    off = pv.without_dp(cfg)
    assert off.privacy.dp.mode == "off" and off.replace(privacy=cfg.privacy) == cfg
    from fedsim.config import adaptive_clip_noise_limit
    assert adaptive_clip_noise_limit(_cfg(clients={"num_clients": 20, "fraction": 0.5})) == 1.0
    adaptive = _cfg(clients={"num_clients": 20}, noise_multiplier=0.3, adaptive_clip=True)
    assert pv.without_dp(adaptive).privacy.dp.adaptive_clip is False
    with pytest.raises(ConfigError):  # z = 4 ≥ 20/10: not allowed with adaptive clipping
        pv.with_noise(adaptive, 4.0)
    assert pv.sweep_key(adaptive) == pv.sweep_key(pv.with_noise(adaptive, 1.0))


# ------------------------------------------------------------------ strings and purity


def test_every_privacy_key_exists_and_every_label_has_help():
    en = STRINGS["en"]
    dynamic = ([f"priv.mode.{m}" for m in DP_MODES] + [f"priv.mode_note.{m}" for m in DP_MODES]
               + [f"priv.unit.{m}" for m in DP_MODES] + ["priv.noise_by.z", "priv.noise_by.eps"]
               + [f"priv.{k}.{m}" for k in ("ch.sn_title", "ch.signal", "ch.noise", "cap.noise")
                  for m in ("central", "local")])
    assert not [k for k in dynamic if k not in en]
    labels = ("mode", "adaptive", "clip", "clip0", "quantile", "noise_by", "z", "eps", "delta",
              "clients", "rounds", "frac", "sweep_run", "to_end", "overlay.eps")
    assert not [k for k in labels if f"priv.{k}.help" not in en]
    src = "".join((ROOT / "fedsim_app" / "pages" / "privacy" / name).read_text()
                  for name in ("page.py", "sections.py"))
    used = set(re.findall(r"""\bt\(\s*["'](priv\.[a-z_.0-9]+)["']""", src))
    assert used and not [k for k in used if k not in en]
    # every string of the page lives in the privacy table (no bare English in the page)
    from fedsim_app import i18n
    assert all(k.startswith(("priv.", "nav.")) for k in i18n.domains("en")["privacy"])
