"""The sections of the "What the server sees" page (settings, server view, proofs, costs).

Each section is a function of the user's simulation; the page only calls them in order. All
numbers come from the engine (reports, ``sim.last``, ``sim.explain``); the two reference runs
(plain FedAvg, proofs switched) are real runs shared through :mod:`fedsim_app.base.runs`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import streamlit as st

from fedsim.config import ATTACKS, SimulationConfig

from fedsim_app.base import classroom, params, runs, state, views
from fedsim_app.base.controls import bound
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.crypto import charts as cc
from fedsim_app.pages.crypto import views as cv

PLOT = dict(theme=None, config=PLOTLY_CONFIG)
BOUND_STEPS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
COORD_STEPS = [1, 2, 4, 8, 16, 32, 64, 128]
FACTOR_STEPS = [-10.0, -5.0, -2.0, -1.0, 2.0, 5.0, 10.0]
#: Stands for ``null`` in a selectbox (Streamlit shows a None value as "no selection").
ALL = "all"


# ------------------------------------------------------------------ settings
def _apply(changes: dict[str, Any]) -> None:
    """Apply ``changes`` (plus the proof/masking-range fix-up) through the state helpers."""
    cfg = state.config()
    full = cv.harmonize(cfg, changes)
    if state.update(full) and "privacy.secure_aggregation.clip" in full and \
            "privacy.secure_aggregation.clip" not in changes:
        state.flash("info", t("crypto.clip_fixed",
                              bound=params.format_value(full["privacy.secure_aggregation.clip"])))


def _on_widget(key: str, path: str) -> None:
    value = st.session_state[key]
    _apply({path: list(value) if isinstance(value, (list, tuple)) else value})


def _on_hide() -> None:
    choice = st.session_state.get("crypto_hide")
    if choice:
        _apply(cv.hide_changes(choice))


def _synced(key: str, path: str) -> None:
    """Show the configuration's value in widget ``key`` (the value lives in the config)."""
    cur = params.get_path(state.config(), path)
    cur = list(cur) if isinstance(cur, tuple) else cur
    cur = ALL if cur is None else cur
    if st.session_state.get(key, object()) != cur:
        st.session_state[key] = cur


def _on_optional(key: str, path: str) -> None:
    """on_change of a selectbox whose ``ALL`` entry stands for the config's null."""
    value = st.session_state[key]
    _apply({path: None if value == ALL else value})


def settings(cfg: SimulationConfig, sim) -> None:
    """The mechanism settings, bound to the configuration, and what each one does. A
    classroom link with ``hide=crypto`` leaves the settings out and keeps the explanations."""
    hide = cv.hide_of(cfg)
    if classroom.hidden("crypto"):
        classroom.fixed_note()
    else:
        _settings_box(cfg, sim, hide)
    _explain(cfg, sim, hide)


def _settings_box(cfg: SimulationConfig, sim, hide: str) -> None:
    n_clients = cfg.clients.num_clients
    with st.container(border=True):
        if st.session_state.get("crypto_hide") != hide:
            st.session_state["crypto_hide"] = hide
        st.segmented_control(t("crypto.hide"), list(cv.HIDE_OPTIONS), required=True,
                             format_func=lambda v: t(f"crypto.hide.{v}"), key="crypto_hide",
                             help=t("crypto.hide.help"), on_change=_on_hide)
        c1, c2, c3 = st.columns(3, gap="large")
        with c1:
            if hide == "secagg":
                bound("slider", "threshold", "crypto.threshold", min_value=0.1, max_value=1.0,
                      step=0.05)
                nb = [k for k in (2, 4, 6, 8, 10, 16, 32) if k < n_clients]
                _synced("crypto_neighbors", "privacy.secure_aggregation.neighbors")
                if st.session_state["crypto_neighbors"] not in [ALL, *nb]:
                    nb.append(st.session_state["crypto_neighbors"])
                st.selectbox(t("crypto.neighbors"), [ALL, *nb], key="crypto_neighbors",
                             format_func=lambda k: t("crypto.neighbors.all") if k == ALL
                             else t("crypto.neighbors.k", k=k), help=t("crypto.neighbors.help"),
                             on_change=_on_optional,
                             args=("crypto_neighbors", "privacy.secure_aggregation.neighbors"))
            elif hide in ("paillier", "ckks"):
                if hide == "paillier":
                    bound("selectbox", "hebits", "crypto.hebits", options=[1024, 2048, 3072])
                shapes = list(sim.shapes) if sim is not None else []
                labels = {i: cv.layer_label(i, s) for i, s in enumerate(shapes)}
                _synced("crypto_helayer", "privacy.he.layer")
                if st.session_state["crypto_helayer"] not in [ALL, *labels]:
                    labels[st.session_state["crypto_helayer"]] = str(st.session_state["crypto_helayer"])
                st.selectbox(t("crypto.helayer"), [ALL, *labels], key="crypto_helayer",
                             format_func=lambda i: t("crypto.helayer.all") if i == ALL
                             else t("crypto.helayer.one", label=labels[i]),
                             help=t("crypto.helayer.help"), on_change=_on_optional,
                             args=("crypto_helayer", "privacy.he.layer"))
                if sim is not None:
                    st.caption(t("crypto.helayer.caption", total=sim.num_params))
            else:
                st.caption(t("crypto.hide.none_caption"))
        with c2:
            _synced("crypto_zkp", "privacy.zkp.enabled")
            st.toggle(t("crypto.zkp"), key="crypto_zkp", help=t("crypto.zkp.help"),
                      on_change=_on_widget, args=("crypto_zkp", "privacy.zkp.enabled"))
            if cfg.privacy.zkp.enabled:
                _synced("crypto_bound", "privacy.zkp.bound")
                opts = sorted(set(BOUND_STEPS) | {cfg.privacy.zkp.bound})
                st.select_slider(t("crypto.bound"), options=opts, key="crypto_bound",
                                 help=t("crypto.bound.help"), on_change=_on_widget,
                                 args=("crypto_bound", "privacy.zkp.bound"))
                bound("select_slider", "coords", "crypto.coords", options=COORD_STEPS)
        with c3:
            _synced("crypto_malicious", "clients.malicious.ids")
            st.multiselect(t("crypto.malicious"), list(range(n_clients)),
                           placeholder=t("ui.choose"), key="crypto_malicious",
                           help=t("crypto.malicious.help"), on_change=_on_widget,
                           args=("crypto_malicious", "clients.malicious.ids"),
                           max_selections=max(1, n_clients - 1))
            if cfg.clients.malicious.ids:
                bound("segmented_control", "attack", "crypto.attack", options=list(ATTACKS),
                      format_func=lambda a: t(f"crypto.attack.{a}"), required=True)
                bound("select_slider", "factor", "crypto.factor", options=FACTOR_STEPS)
            bound("slider", "drop", "crypto.drop", min_value=0.0, max_value=0.9, step=0.05)


def _explain(cfg: SimulationConfig, sim, hide: str) -> None:
    e1, e2 = st.columns(2, gap="large")
    e1.markdown(t(f"crypto.explain.{hide}"))
    if cfg.privacy.zkp.enabled:
        e2.markdown(t("crypto.explain.zkp"))



    if hide == "secagg":  # the toy explains pairwise masks: only meaningful for secure aggregation
        with e2.expander(t("crypto.toy.expander"), expanded=not (sim is not None and sim.history)):
            masking_toy()


def masking_toy() -> None:
    """PAIR's toy: what each client sends changes with the masks, the sum does not."""
    st.caption(t("crypto.toy.intro"))
    secrets = [7.0, 2.0, 5.0]
    pairs = [(0, 1), (0, 2), (1, 2)]
    masks = {}
    cols = st.columns(3)
    for col, (a, b) in zip(cols, pairs):
        na, nb_ = chr(ord("A") + a), chr(ord("A") + b)
        masks[(a, b)] = col.slider(t("crypto.toy.mask", a=na, b=nb_), -20, 20,
                                   value=[13, -6, 9][pairs.index((a, b))], key=f"toy_{a}{b}",
                                   help=t("crypto.toy.mask.help", a=na, b=nb_))
    sent = cv.toy_sent(secrets, masks)
    st.plotly_chart(cc.toy_figure(secrets, sent), key="crypto_toy", **PLOT)
    st.caption(t("crypto.toy.caption", secret=sum(secrets), sent=float(sent.sum())))




# ------------------------------------------------------------------ reference runs
def reference_run(c: SimulationConfig, rounds: int) -> dict | None:
    """A real run of ``c`` for ``rounds`` rounds (its curve and measured costs), cached by
    configuration; an engine error becomes a warning, not a crash."""
    try:
        ref = runs.summary(c, rounds=rounds)
        return {"curve": ref.curve(), "costs": cv.round_costs(ref.history)}
    except state.ENGINE_ERRORS as exc:
        st.warning(t("crypto.compare_failed", error=exc))
        return None


# ------------------------------------------------------------------ sections
def _remember_client(key: str) -> None:
    st.session_state["crypto_client_pref"] = st.session_state[key]


def pick_client(cfg, res, ids: list[int], where) -> int:
    """The client the three panels follow. One widget per round (its labels say who dropped
    or was rejected in *this* round); the choice carries over between rounds."""
    def label(c: int) -> str:
        if c in res.dropped:
            return t("crypto.client.dropped", id=c)
        if c in res.rejected:
            return t("crypto.client.rejected", id=c)
        if c in cfg.clients.malicious.ids:
            return t("crypto.client.malicious", id=c)
        return t("crypto.client.plain", id=c)

    pref = st.session_state.get("crypto_client_pref")
    if pref not in ids:
        # A malicious client first (the story of the proofs), else one whose update arrived.
        mal = [c for c in ids if c in cfg.clients.malicious.ids]
        arrived = [c for c in ids if c not in res.dropped]
        pref = (mal or arrived or ids)[0]
    key = f"crypto_client_{res.round}"
    return where.selectbox(t("crypto.client"), ids, index=ids.index(pref), key=key,
                           format_func=label, help=t("crypto.client.help"),
                           on_change=_remember_client, args=(key,))


def server_view(sim, res) -> None:
    """One client's plain update | what it sent | the sum the server recovered; dropouts.

    Everything comes from the engine: the round's reports, ``sim.last`` and the mechanisms'
    ``explain`` hooks (``sim.explain``); nothing here reads a payload or a random stream."""
    cfg = sim.config
    hide, n_clients = cv.hide_of(cfg), cfg.clients.num_clients
    last = sim.last
    st.subheader(t("crypto.view_title", round=res.round))
    ids = list(last.client_ids)
    pick_col, cap_col = st.columns([1, 3], vertical_alignment="bottom")
    client = pick_client(cfg, res, ids, pick_col)
    row = ids.index(client)
    raw = np.asarray(last.raw_updates, np.float64)
    coords = cv.preview_coords(raw)
    layers = cv.layer_of(coords, sim.layer_slices)
    cap_col.caption(t("crypto.coords_caption", k=len(coords), total=sim.num_params))
    check = cv.sum_check(last, res)
    prot = res.phase("protect").measurements
    up_bytes = views.human_bytes(int(last.protected.bytes_up[row])) \
        if last.protected is not None and len(last.protected.bytes_up) > row else "–"
    mask_ex = sim.explain("secagg", row) if hide == "secagg" else None
    he_ex = sim.explain("he", row) if hide in ("paillier", "ckks") else None

    p1, p2, p3 = st.columns(3, gap="medium")
    with p1:
        st.plotly_chart(cc.plain_update_figure(coords, raw[row, coords], client, n_clients,
                                               layers), key="crypto_plain", **PLOT)
        st.caption(t("crypto.plain_caption_none", size=up_bytes) if hide == "none"
                   else t("crypto.plain_caption"))
        if hide in ("paillier", "ckks") and cfg.privacy.he.layer is not None:
            inside = sum(1 for layer in layers if layer == cfg.privacy.he.layer)
            st.caption(t("crypto.layer_shown", inside=inside, k=len(coords),
                         layer=cfg.privacy.he.layer))
    with p2:
        if mask_ex is not None:
            st.plotly_chart(cc.masked_figure(coords, mask_ex.masked[coords], client, n_clients,
                                             layers), key="crypto_masked", **PLOT)
            st.caption(t("crypto.masked_caption", size=up_bytes))
        elif he_ex is not None and "he" in prot:
            he = prot["he"]
            # The chosen client's own ciphertext, beside its own plain update.
            st.markdown(f"**{t('crypto.cipher_title', id=client)}**")
            st.code(cv.hex_lines(he_ex.ciphertext_hex, per_line=8) + "\n…", language=None)
            per = he["ciphertext_bytes_per_client"] / max(he["ciphertexts_per_client"], 1)
            st.caption(t("crypto.cipher_caption", n=he["ciphertexts_per_client"],
                         each=views.human_bytes(per), size=up_bytes,
                         x=f"×{he['expansion']:.1f}" if he.get("expansion") else "–",
                         enc=he["encrypted_coordinates"], clear=he["clear_coordinates"]))
            if hide == "ckks":
                st.caption(t("crypto.cipher_ckks_note"))
        else:
            st.info(t("crypto.none_sent"))
        if hide != "none" and client in res.dropped:
            st.warning(t("crypto.masked_dropped", id=client))
    with p3:
        # The engine's plain weighted mean of the same clients (the arrived ones if aborted).
        plain_avg = np.zeros(len(coords)) if last.plain_mean is None else last.plain_mean[coords]
        title = t("crypto.sum_title") if hide != "none" else t("crypto.sum_title_none")
        st.plotly_chart(cc.sum_figure(coords, plain_avg,
                                      None if check is None else check.recovered[coords],
                                      title, layers), key="crypto_sum", **PLOT)
        if check is not None:
            with st.container(key="fedsim_cards_crypto"):  # wrap, never cut
                m1, m2 = st.columns(2)
            m1.metric(t("crypto.sum_error"), f"{check.max_error:.2g}",
                      help=t("crypto.sum_error.help"))
            if check.bound is not None:
                m2.metric(t("crypto.sum_bound"), f"{check.bound:.2g}",
                          help=t("crypto.sum_bound.help"))
            st.caption(t("crypto.sum_caption", n=len(check.used)) if hide != "none"
                       else t("crypto.sum_caption_none"))
            if cfg.privacy.dp.mode == "central":
                st.caption(t("crypto.sum_caption_dp"))

    # Dropouts: recovered, or the round lost.
    if res.aborted:
        st.error(t("crypto.aborted", round=res.round, reason=res.aborted.rstrip(".")))
    rec = cv.secagg_recovery(res)
    if rec is not None and not res.aborted:
        if rec.dropped:
            st.success(t("crypto.recovered", ids=", ".join(str(c) for c in rec.dropped),
                         survivors=rec.survivors, t=rec.threshold, holders=rec.share_holders))
        else:
            st.caption(t("crypto.no_drop"))
    elif hide in ("paillier", "ckks") and res.dropped:
        st.caption(t("crypto.he_dropout", n=len(res.dropped)))

    if mask_ex is not None:
        h1, h2 = st.columns([3, 2], gap="large", vertical_alignment="center")
        h1.plotly_chart(cc.bytes_figure(mask_ex.encoded_byte_shares, mask_ex.masked_byte_shares,
                                        mask_ex.encoded_byte_entropy,
                                        mask_ex.masked_byte_entropy), key="crypto_bytes", **PLOT)
        h2.markdown(t("crypto.bytes_caption", id=client, masked=mask_ex.masked_byte_entropy))


def proofs(sim, res) -> None:
    """Per-client proof results per round, the aggregate check, accuracy (with or without)."""
    cfg = sim.config
    n_clients = cfg.clients.num_clients
    history = sim.history
    st.divider()
    st.subheader(t("crypto.proofs_title"))
    if not cfg.privacy.zkp.enabled:
        st.info(t("crypto.proofs_off"))
    q1, q2 = st.columns(2, gap="large")
    with q1:
        matrix, reasons = cv.proof_matrix(history, n_clients)
        reasons = [[cv.proof_reason(x) if x not in ("", "ok") else x for x in row]
                   for row in reasons]
        checks = cv.aggregate_checks(history)
        st.plotly_chart(cc.proof_figure(matrix, [r.round for r in history], reasons, checks),
                        key="crypto_proofs", **PLOT)
        st.caption(t("crypto.proofs_caption"))
        z_upd = res.phase("update").measurements.get("zkp") or {}
        if z_upd.get("aggregate_check") is not None:
            key = "crypto.check_ok" if z_upd["aggregate_check"] else "crypto.check_bad"
            st.markdown(t(key, round=res.round, gap=z_upd.get("aggregate_max_gap", 0.0),
                          tol=z_upd.get("aggregate_tolerance", 0.0)))
        z_agg = res.phase("aggregate").measurements.get("zkp") or {}
        if res.rejected:
            why = next((r for c, r in zip(z_agg.get("clients", []), z_agg.get("reasons", []))
                        if c in res.rejected), "")
            st.markdown(t("crypto.rejected_now", round=res.round,
                          ids=", ".join(str(c) for c in res.rejected),
                          reason=cv.proof_reason(why) if why else why))
    with q2:
        curve = views.global_curve(history, dict(sim.initial_metrics), sim.fed.data.task)
        other_word = t("crypto.other.off" if cfg.privacy.zkp.enabled else "crypto.other.on")
        compare = st.toggle(t("crypto.compare_off" if cfg.privacy.zkp.enabled
                              else "crypto.compare_on"), key="crypto_compare",
                            help=t("crypto.compare.help"))
        other = None
        if compare:
            # Run ahead in blocks of 5 rounds so Next round does not rerun it every time.
            n = min(cfg.rounds, 5 * math.ceil(max(sim.round, 1) / 5))
            with st.spinner(t("crypto.comparing")):
                ref = reference_run(cv.proofs_flipped(cfg), n)
            if ref is not None:
                k = sim.round + 1
                other = {key: v[:k] for key, v in ref["curve"].items() if key != "key"}
                other["key"] = ref["curve"]["key"]
        st.plotly_chart(cc.accuracy_figure(curve, other,
                                           t("crypto.ch.other_run", other=other_word),
                                           cfg.rounds), key="crypto_acc", **PLOT)
        if other is not None:
            st.caption(t("crypto.acc_caption", other=other_word))


def costs(sim) -> None:
    """Time and bytes per round against plain FedAvg (a real, cached run of it)."""
    cfg = sim.config
    hide = cv.hide_of(cfg)
    st.divider()
    st.subheader(t("crypto.cost_title"))
    this_rows = cv.round_costs(sim.history)
    this = cv.typical_costs(this_rows)
    plain = None
    if hide == "none" and not cfg.privacy.zkp.enabled:
        st.info(t("crypto.cost_none"))
    else:
        plain_rounds = min(cfg.rounds, 3)
        with st.spinner(t("crypto.cost.measuring")):
            ref = reference_run(cv.without_crypto(cfg), plain_rounds)
        if ref is not None:
            plain = cv.typical_costs(ref["costs"])
            st.caption(t("crypto.cost_intro", rounds=plain_rounds))
    table = []
    for f in cv.COST_FIELDS[:4]:
        fmt = views.human_bytes if f in ("up_per_client", "down_per_client") else cv.fmt_ms
        line = {t("crypto.cost.what"): t(f"crypto.cost.{f}")}
        if plain is not None:
            line[t("crypto.cost.plain")] = fmt(plain[f])
        line[t("crypto.cost.this")] = fmt(this[f])
        if plain is not None:
            line[t("crypto.cost.ratio")] = cv.ratio(this[f], plain[f])
        table.append(line)
    # The table on a row of its own: beside the chart its ratio column was cut off at
    # 1280×800 (the labels are long, and longer in Chinese).
    st.dataframe(table, hide_index=True, width="stretch", key="crypto_cost_table")
    k1, k2 = st.columns([4, 3], gap="large")
    with k1:
        scale = plain if plain is not None else this
        st.caption(t("crypto.cost.train", ms=scale["train_ms_per_client"]))
        ahead = float(np.median([r["ahead_ms_per_client"] for r in this_rows])) \
            if this_rows else 0.0
        if ahead > 0:
            st.caption(t("crypto.cost.ahead", ms=ahead))
        mech: dict[str, tuple[float, float]] = {}
        for r in this_rows:
            for name in set(r["mech_client_ms"]) | set(r["mech_server_ms"]):
                c, s = mech.get(name, (0.0, 0.0))
                mech[name] = (c + r["mech_client_ms"].get(name, 0.0),
                              s + r["mech_server_ms"].get(name, 0.0))
        if mech:
            parts = "; ".join(t("crypto.cost.mech_part", name=t(f"crypto.mech.{name}"),
                                client=c / len(this_rows), server=s / len(this_rows))
                              for name, (c, s) in sorted(mech.items()))
            st.caption(t("crypto.cost.mech", parts=parts))
    with k2:
        st.plotly_chart(cc.cost_figure(plain, this, t("crypto.cost.this")), key="crypto_cost",
                        **PLOT)
        st.caption(t("crypto.cost_caption"))


