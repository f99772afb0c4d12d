"""Classroom mode (``fedsim_app/base/classroom.py``) and the defaults that show the lesson,
through AppTest.

- ``?hide=…`` hides the named control groups on every page, and the configuration (so the
  engine's run) stays exactly the link's;
- unknown names get one warning naming them and the allowed names (escaped);
- ``?present=1`` adds the presenter style (and the charts' presenter template);
- the QR code in the sidebar encodes exactly the share link: the SVG the app shows is read
  back into its module matrix and compared with segno's matrix for the expected link;
- the Compare page's first run and the DP-SGD sweep show their effect (real engine runs), and a
  flat result says why.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from fedsim.config import SimulationConfig
from fedsim_app.base import classroom, params
from fedsim_app.i18n import t
from fedsim_app.pages.compare import views as compare
from fedsim_app.pages.privacy import views as pv

from tests.support.app import cfg_of, chart, markdown_bodies, open_app, shown, sim_of, warnings

TINY = {"data": "2d", "clients": "3", "rounds": "3", "samples": "200"}


def keys(at, kind: str) -> set[str]:
    return {w.key for w in at.get(kind)}


def svg_matrix(svg: str) -> list[list[bool]]:
    """The dark modules of a segno SVG (``qrline`` path: ``M x y`` then ``h n`` draws n dark
    modules, ``m dx dy`` moves), without its quiet zone: what a phone's camera sees."""
    size = int(re.search(r'width="(\d+)"', svg).group(1)) // 10
    d = re.search(r'class="qrline"[^>]*\sd="([^"]+)"', svg).group(1)
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?", d):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for c in range(int(x), int(x + float(a))):
                grid[int(y)][c] = True
            x += float(a)
    dark = [r for r in grid if any(r)]
    top = grid.index(dark[0])
    left = min(r.index(True) for r in dark)
    n = size - 2 * top
    return [row[left:left + n] for row in grid[top:top + n]]


def segno_matrix(url: str) -> list[list[bool]]:
    import segno

    return [[bool(v) for v in row] for row in segno.make(url, error="m", micro=False).matrix]


def image_svg(img) -> str:
    url = img.proto.imgs[0].url
    assert url.startswith("data:image/svg+xml;base64,"), url[:40]
    return base64.b64decode(url.split(",", 1)[1]).decode()


# ------------------------------------------------------------------ hide=


def test_sidebar_groups_hide_and_the_configuration_is_the_links():
    q = {**TINY, "seed": "7", "hide": "seed,share,files,lang"}
    at = open_app(q)
    sb = at.sidebar
    assert "cfg_seed" not in keys(sb, "number_input") and "reseed" not in keys(sb, "button")
    assert not sb.code and not sb.get("image")  # no share link, no QR code, no builder
    assert not sb.get("download_button") and not sb.get("file_uploader")
    assert "lang_switch" not in keys(sb, "button_group")
    assert cfg_of(at) == params.decode(q)[0] and cfg_of(at).seed == 7
    assert at.query_params["hide"] in ("seed,share,files,lang", ["seed,share,files,lang"])
    at.run()  # the flags stay for the session
    assert "cfg_seed" not in keys(at.sidebar, "number_input")
    plain = open_app({**TINY, "seed": "7"})
    assert "cfg_seed" in keys(plain.sidebar, "number_input") and plain.sidebar.code


def test_data_page_groups_hide_and_the_split_stays():
    q = {"clients": "6", "split": "dirichlet", "alpha": "0.1", "frac": "0.5", "val": "0.3",
         "hide": "data,clients,split"}
    at = open_app(q, "pages/data.py")
    shown_keys = (keys(at, "selectbox") | keys(at, "number_input") | keys(at, "slider")
                  | keys(at, "select_slider"))
    for k in ("cfg_data", "cfg_clients", "cfg_split", "cfg_alpha", "cfg_frac", "cfg_drop",
              "cfg_val"):
        assert k not in shown_keys, k
    assert t("data.csv_expander") not in [e.label for e in at.expander]
    assert t("cls.fixed") in [c.value for c in at.caption]
    cfg = cfg_of(at)
    assert (cfg.clients.num_clients, cfg.partition.alpha, cfg.clients.fraction,
            cfg.dataset.val_fraction) == (6, 0.1, 0.5, 0.3)
    assert at.metric[0].label == t("data.skew")  # the pictures are still there
    # one group only: the others stay
    at = open_app({"hide": "split"}, "pages/data.py")
    assert "cfg_clients" in keys(at, "number_input") and "cfg_split" not in keys(at, "selectbox")


def test_training_settings_hide_and_the_engine_runs_the_links_configuration():
    q = {**TINY, "epochs": "3", "lr": "0.1", "hide": "training"}
    at = open_app(q, "pages/training.py")
    assert t("tr.settings") not in [e.label for e in at.expander]
    assert "cfg_epochs" not in keys(at, "number_input")
    at.button(key="next_round").click().run()
    sim = sim_of(at)
    assert sim.round == 1 and sim.config == params.decode(q)[0]
    assert sim.config.training.local_epochs == 3 and sim.config.training.lr == 0.1


def test_privacy_and_crypto_settings_hide():
    at = open_app({**TINY, "dp": "central", "clip": "0.5", "hide": "privacy"}, "pages/privacy.py")
    assert "cfg_dp" not in keys(at, "button_group") and "cfg_clip" not in keys(at, "select_slider")
    assert (cfg_of(at).privacy.dp.mode, cfg_of(at).privacy.dp.clip) == ("central", 0.5)
    assert any(m.label == t("priv.m.now") for m in at.metric)  # ε is still shown
    at = open_app({**TINY, "secagg": "true", "hide": "crypto"}, "pages/crypto.py")
    assert "crypto_hide" not in keys(at, "button_group") and "crypto_zkp" not in keys(at, "toggle")
    assert cfg_of(at).privacy.secure_aggregation.enabled


def test_unknown_names_warn_once_and_escaped():
    at = open_app({**TINY, "hide": "seed,bogus,[x](http://e.example)"})
    text = warnings(at)
    assert text.count(t("cls.unknown", names="", allowed="")[:20]) == 1
    assert "bogus" in text and "[x](http" in text and ", ".join(classroom.GROUPS) in text
    assert not any("](http" in b for b in markdown_bodies(at))  # escaped: no link is made
    assert "cfg_seed" not in keys(at.sidebar, "number_input")  # the known name still applies
    assert at.query_params["hide"] in ("seed", ["seed"])  # the address bar: known names only
    at.run()
    assert "bogus" not in warnings(at)  # once


def test_parse_and_canonical():
    assert classroom.parse(" Seed , files,,x ") == (frozenset({"seed", "files"}), ["x"])
    assert classroom.canonical({"files", "seed", "privacy"}) == "seed,files,privacy"
    with pytest.raises(KeyError):
        classroom.hidden("sed")


# ------------------------------------------------------------------ present=1


def _style(at) -> str:
    return next(h.proto.body for h in at.get("html") if "data-fedsim=" in h.proto.body)


def test_present_adds_the_presenter_style_and_chart_template():
    at = open_app({"present": "1"})
    css = _style(at)
    assert "data-fedsim='present'" in css and "font-size: 24px" in css
    assert chart(at, "ov_cycle")["layout"]["template"]["layout"]["font"]["size"] == 20
    normal = open_app()
    assert "data-fedsim='base'" in _style(normal) and "font-size: 24px" not in _style(normal)
    assert chart(normal, "ov_cycle")["layout"]["template"]["layout"]["font"]["size"] == 14
    off = open_app({"present": "0"})
    assert "data-fedsim='base'" in _style(off)


# ------------------------------------------------------------------ QR code and builder


def test_qr_code_encodes_exactly_the_share_link():
    q = {**TINY, "seed": "5", "alpha": "0.3", "split": "dirichlet", "hide": "files",
         "present": "1"}
    at = open_app(q)
    link = at.sidebar.code[0].value
    want = params.share_url("http://localhost:8501/", cfg_of(at), {"lang": "en", "hide": "files"})
    assert link == want and "present" not in link  # the students' link: no presenter view
    assert svg_matrix(image_svg(at.sidebar.get("image")[0])) == segno_matrix(link)
    assert svg_matrix(classroom.qr_svg(link)) != segno_matrix(link + "x")
    # the link reproduces the configuration
    query = dict(p.split("=", 1) for p in link.split("?", 1)[1].split("&"))
    assert params.decode(query)[0] == cfg_of(at)


def test_classroom_builder_makes_the_link_and_applies_it():
    at = open_app(TINY)
    at.checkbox(key="cls_b_seed").check().run()
    at.checkbox(key="cls_b_privacy").check().run()
    at.toggle(key="cls_b_present").set_value(True).run()
    built = at.sidebar.code[1].value
    assert built == params.share_url("http://localhost:8501/", cfg_of(at),
                                     {"lang": "en", "hide": "seed,privacy", "present": "1"})
    assert svg_matrix(image_svg(at.sidebar.get("image")[1])) == segno_matrix(built)
    assert "cfg_seed" in keys(at.sidebar, "number_input")  # nothing applied yet
    at.button(key="cls_b_apply").click().run()
    assert "cfg_seed" not in keys(at.sidebar, "number_input")
    assert "data-fedsim='present'" in _style(at)
    assert at.query_params["hide"] in ("seed,privacy", ["seed,privacy"])


# ------------------------------------------------------------------ projector fixes


def test_privacy_charts_say_what_comes_at_round_0():
    at = open_app({**TINY, "dp": "central"}, "pages/privacy.py")
    infos = [i.value for i in at.info]
    assert t("cls.priv.wait_clip") in infos and t("cls.priv.wait_noise.central") in infos
    with pytest.raises(AssertionError):
        chart(at, "priv_clip")
    at.button(key="priv_next_round").click().run()
    chart(at, "priv_clip"), chart(at, "priv_noise")


def test_loading_a_preset_says_so_in_a_toast():
    at = open_app()
    at.button(key="preset_label-skew").click().run()
    toasts = [shown(x.proto.body) for x in at.toast]
    assert any(t("state.preset_loaded", title=t("preset.label-skew.title")) in x for x in toasts)
    assert not at.success  # not drawn at the top of the page, above the cards


# ------------------------------------------------------------------ defaults that show the lesson


def _curves(base: SimulationConfig, knob: str, shared):
    out = []
    for label, v in compare.variants(base, knob, rounds=20, shared=shared):
        r = compare.run_variant(v)
        out.append((label, r["curve"]["round"], r["curve"]["metric"]))
    return out


def test_compare_first_run_draws_curves_that_are_clearly_apart():
    sh = compare.SHARED["alpha"]
    assert sh.options[sh.index] == 5
    curves = _curves(SimulationConfig(), "alpha", sh.options[sh.index])
    m = np.array([c[2] for c in curves])
    gaps = [np.abs(m[i, 1:11] - m[i + 1, 1:11]).mean() for i in range(len(m) - 1)]
    assert min(gaps) >= 0.05, gaps  # each neighbouring pair ≥ 5 points apart on average
    assert m[0, -1] > m[1, -1] > m[2, -1]  # more skew, worse
    assert compare.flat_note(curves, "accuracy") is None
    # The old first run (α = 100 / 1 / 0.1, 1 local epoch) is flat, and now says so.
    old = []
    for a in (100.0, 1.0, 0.1):
        v = params.with_changes(SimulationConfig(), {"partition.name": "dirichlet",
                                                     "partition.alpha": a, "rounds": 20})
        r = compare.run_variant(v)
        old.append((f"{a}", r["curve"]["round"], r["curve"]["metric"]))
    assert compare.spread(old) < compare.FLAT_SPREAD
    assert compare.flat_note(old, "accuracy") == t("cls.cmp.flat",
                                                   gap=f"{compare.spread(old):.3f}")


def test_compare_page_has_the_shared_epochs_and_runs_them():
    at = open_app({"seed": "3"}, "pages/compare.py")  # digits: α = 0.01 needs enough rows
    assert at.selectbox(key="cmp_shared_alpha").value == 5
    at.selectbox(key="cmp_shared_alpha").set_value(2).run()
    at.number_input(key="cmp_rounds").set_value(1).run()
    at.button(key="cmp_run").click().run()
    assert not at.exception
    res = at.session_state["compare_results"]
    assert [SimulationConfig.from_json(j).training.local_epochs for _, j, _ in res["runs"]] == \
        [2, 2, 2]
    at.selectbox(key="cmp_shared_alpha").set_value(5).run()
    assert t("cmp.stale") in warnings(at)


def test_dpsgd_gets_its_own_clip_bound_and_back():
    at = open_app(TINY, "pages/privacy.py")
    at.segmented_control(key="cfg_dp").set_value("dpsgd").run()
    assert cfg_of(at).privacy.dp.clip == pv.DPSGD_CLIP
    assert any(t("cls.priv.reclip_dpsgd", clip="5") in i.value for i in at.info)
    at.segmented_control(key="cfg_dp").set_value("central").run()
    assert cfg_of(at).privacy.dp.clip == 1.0
    # a clip bound somebody chose is left alone
    at = open_app({**TINY, "clip": "0.5"}, "pages/privacy.py")
    at.segmented_control(key="cfg_dp").set_value("dpsgd").run()
    assert cfg_of(at).privacy.dp.clip == 0.5


def test_sweep_flat_says_why():
    pts = [{"z": z, "epsilon": 1.0, "metric": m} for z, m in ((0.3, 0.56), (4.0, 0.55))]
    assert pv.sweep_flat(pts, 0.92, "accuracy") == "clip"
    assert pv.sweep_flat(pts, 0.56, "accuracy") == "noise"
    assert pv.sweep_flat(pts, None, "accuracy") == "flat"
    steep = [{"z": 0.3, "epsilon": 9.0, "metric": 0.91}, {"z": 4.0, "epsilon": 1.0, "metric": 0.68}]
    assert pv.sweep_flat(steep, 0.92, "accuracy") is None


def test_dpsgd_sweep_default_shows_the_trade_off_and_the_old_one_is_explained():
    """Real engine runs: with C = 1 the DP-SGD sweep is flat far below no-DP (clipping-bound),
    with DP-SGD's own C it falls as z grows."""
    base = params.with_changes(SimulationConfig(), {"privacy.dp.mode": "dpsgd"})
    old = [pv.sweep_point(z, pv.run_to_end(pv.with_noise(base, z))) for z in (0.3, 4.0)]
    no_dp = pv.run_to_end(pv.without_dp(base))["final"]
    assert pv.sweep_flat(old, no_dp, "accuracy") == "clip"
    new = params.with_changes(base, {"privacy.dp.clip": pv.DPSGD_CLIP})
    pts = [pv.sweep_point(z, pv.run_to_end(pv.with_noise(new, z))) for z in (0.3, 4.0)]
    assert pts[0]["metric"] - pts[1]["metric"] >= 0.15, pts
    assert pts[0]["metric"] >= no_dp - 0.03 and pv.sweep_flat(pts, no_dp, "accuracy") is None
