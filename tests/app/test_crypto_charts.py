"""The "What the server sees" page's pure pieces: views (``fedsim_app.pages.crypto.views``) and
charts (``fedsim_app.pages.crypto.charts``), without Streamlit or TensorFlow.

Where a view reads the engine's crypto payloads, the payloads come from the real mechanisms
(``fedsim.privacy.secagg``, ``he``) run on hand-made updates, so e.g. "the re-derived encoding
is exactly what was masked" is checked against the real unmasked sum.
"""

from __future__ import annotations

import pathlib
from types import SimpleNamespace

import numpy as np
import pytest

from fedsim.config import ATTACKS, SimulationConfig
from fedsim.privacy.base import RoundContext, UpdateBatch
from fedsim.privacy.quantize import from_ring, ring_sum
from fedsim.privacy.secagg import SecureAggregation
from fedsim.engine.results import PHASES, ClientRecord, PhaseRecord, RoundResult
from fedsim_app.base import params, theme
from fedsim_app.i18n import STRINGS, t
from fedsim_app.pages.crypto import charts as cc
from fedsim_app.pages.crypto import views as cv

ROOT = pathlib.Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ fixtures


def _round(r, sampled, dropped=(), rejected=(), measurements=None, aborted="", acc=0.5,
           ms=None, bytes_up=None, bytes_down=1000):
    """A RoundResult with chosen per-phase measurements and phase times."""
    measurements = measurements or {}
    ms = ms or {}
    trace = tuple(PhaseRecord(r, p, ms.get(p, 1.0), measurements.get(p, {})) for p in PHASES)
    clients = tuple(ClientRecord(id=c, num_examples=10, num_val=2, dropped=c in dropped,
                                 malicious=False, train_loss=(1.0,), val_loss=1.0,
                                 val_metric=0.5, update_norm=1.0, bytes_up=0 if c in dropped
                                 else 400, extra={"rejected": c in rejected})
                    for c in sampled)
    arrived = len(sampled) - len(dropped)
    return RoundResult(round=r, sampled=tuple(sampled), dropped=tuple(dropped),
                       rejected=tuple(rejected), clients=clients,
                       global_metrics={"loss": 1.0, "accuracy": acc}, bytes_down=bytes_down,
                       bytes_up=400 * arrived if bytes_up is None else bytes_up, privacy={},
                       trace=trace, aborted=aborted)


def _secagg_round(n=4, p=300, dropped=(1,), seed=5, rnd=1):
    """Run the real secure-aggregation mechanism; return what the page would find."""
    rng = np.random.default_rng(seed)
    ids = tuple(range(n))
    batch = UpdateBatch(ids, rng.normal(0, 0.05, (n, p)), rng.integers(5, 40, n).astype(float))
    ctx = RoundContext(round=rnd, seed=seed, num_clients=n, expected_clients=float(n),
                       sample_rate=1.0, sampled=ids, dropped=tuple(dropped), num_params=p)
    mech = SecureAggregation(threshold=0.5)
    sent, _, cmeas = mech.client(ctx, None, batch)
    alive = sent.select(np.array([c not in dropped for c in ids]))
    total, smeas = mech.secure_sum(ctx, None, alive)
    w = alive.weights
    last = SimpleNamespace(client_ids=ids, raw_updates=batch.deltas, protected=sent,
                           aggregate=total / w.sum(), round=rnd,
                           plain_mean=w @ alive.deltas / w.sum(),
                           state=SimpleNamespace(accepted=alive), ctx=ctx, mech=mech)
    res = _round(rnd, ids, dropped=dropped,
                 measurements={"protect": {"secagg": cmeas},
                               "aggregate": {"secagg_sum": smeas}})
    return last, res, total, alive, seed


# ------------------------------------------------------------------ configuration helpers


@pytest.mark.parametrize("choice", cv.HIDE_OPTIONS)
def test_hide_choice_round_trips_through_the_config(choice):
    start = SimulationConfig.from_dict({"privacy": {"he": {"scheme": "ckks"}}})
    cfg = params.with_changes(start, cv.hide_changes(choice))
    assert cv.hide_of(cfg) == choice
    assert not (cfg.privacy.secure_aggregation.enabled and cfg.privacy.he.enabled)


def test_harmonize_lowers_the_masking_range_only_when_proofs_and_masking_meet():
    cfg = SimulationConfig.from_dict({"privacy": {"secure_aggregation": {"enabled": True}}})
    changes = cv.harmonize(cfg, {"privacy.zkp.enabled": True})
    assert changes["privacy.secure_aggregation.clip"] == cfg.privacy.zkp.bound
    params.with_changes(cfg, changes)  # valid: the raw change alone is rejected
    with pytest.raises(Exception, match="zkp.bound"):
        params.with_changes(cfg, {"privacy.zkp.enabled": True})
    # no masking, or a bound at least the clip: nothing added
    assert cv.harmonize(SimulationConfig(), {"privacy.zkp.enabled": True}) == \
        {"privacy.zkp.enabled": True}
    assert "privacy.secure_aggregation.clip" not in cv.harmonize(
        cfg, {"privacy.zkp.enabled": True, "privacy.zkp.bound": 2.0})
    # turning masking on while proofs are on
    z = SimulationConfig.from_dict({"privacy": {"zkp": {"enabled": True, "bound": 0.05}}})
    ch = cv.harmonize(z, cv.hide_changes("secagg"))
    assert params.with_changes(z, ch).privacy.secure_aggregation.clip == 0.05


def test_reference_configs_differ_only_in_the_crypto():
    cfg = SimulationConfig.from_dict({
        "seed": 4, "clients": {"num_clients": 6, "malicious": {"ids": [2]}},
        "privacy": {"secure_aggregation": {"enabled": True, "clip": 0.1},
                    "zkp": {"enabled": True}}})
    plain = cv.without_crypto(cfg)
    assert cv.hide_of(plain) == "none" and not plain.privacy.zkp.enabled
    assert plain.clients == cfg.clients and plain.seed == cfg.seed
    off = cv.proofs_flipped(cfg)
    assert not off.privacy.zkp.enabled and off.privacy.secure_aggregation.enabled
    wide = off.replace(privacy=off.privacy.replace(
        secure_aggregation=off.privacy.secure_aggregation.replace(clip=1.0)))
    on = cv.proofs_flipped(wide)  # proofs back on: the masking range follows the bound
    assert on.privacy.zkp.enabled and on.privacy.secure_aggregation.clip == on.privacy.zkp.bound


def test_layer_labels_and_lookup():
    assert cv.layer_label(2, (32, 10)) == "2 · 32×10 (320 values)"
    slices = [slice(0, 4), slice(4, 6), slice(6, 10)]
    assert cv.layer_of([0, 3, 4, 9], slices) == [0, 0, 1, 2]


def test_preview_coords_pick_the_most_moved_values_in_order():
    raw = np.zeros((3, 50))
    raw[:, [40, 7, 22]] = [5.0, -3.0, 1.0]
    assert cv.preview_coords(raw, k=3).tolist() == [7, 22, 40]
    assert cv.preview_coords(np.zeros((2, 10)), k=4).tolist() == [0, 1, 2, 3]
    assert len(cv.preview_coords(raw, k=99)) == 50


# ------------------------------------------------------------------ the latest round (real crypto)


def test_sum_check_matches_the_real_secure_sum_within_its_bound():
    last, res, total, alive, _ = _secagg_round()
    check = cv.sum_check(last, res)
    assert check.used == (0, 2, 3)
    w = alive.weights
    np.testing.assert_allclose(check.plain, w @ alive.deltas / w.sum())
    assert check.max_error == pytest.approx(np.max(np.abs(total / w.sum() - check.plain)))
    s = res.phase("aggregate").measurements["secagg_sum"]
    assert check.bound == pytest.approx(s["error_bound"] / w.sum())
    assert 0 < check.max_error <= check.bound
    aborted = _round(1, (0, 1), dropped=(1,), aborted="too few")
    assert cv.sum_check(last, aborted) is None


def test_masking_explanation_is_exact_and_looks_random():
    last, res, total, alive, seed = _secagg_round()
    ex = [last.mech.explain(last.ctx, last.protected, i) for i in range(4)]
    masked = np.stack([e.masked for e in ex])
    enc = np.stack([e.encoded for e in ex])
    assert masked.shape == (4, 300) and masked.dtype == np.uint32
    # The survivors' encodings sum (in the ring) to exactly what the server unmasked.
    setup = alive.payload["secagg"].items[0].setup
    rows = [0, 2, 3]
    decoded = from_ring(ring_sum(enc[rows])) / setup.fixed_point.scale * setup.weight_scale
    np.testing.assert_allclose(decoded, total, rtol=0, atol=1e-12)
    assert not np.array_equal(enc[0], masked[0])
    prot = res.phase("protect").measurements["secagg"]
    assert ex[0].encoded_byte_entropy == pytest.approx(prot["plain_byte_entropy_bits"])
    assert ex[0].masked_byte_entropy == pytest.approx(prot["masked_byte_entropy_bits"])
    assert ex[0].masked_byte_entropy > 7.5 > 6.0 > ex[0].encoded_byte_entropy
    shares = np.array(ex[0].masked_byte_shares)
    assert shares.sum() == pytest.approx(1.0) and len(shares) == 16
    assert shares.max() < 0.1  # flat: about 1/16 each
    enc_shares = np.array(ex[0].encoded_byte_shares)
    assert enc_shares[[0, -1]].sum() > 0.5  # small numbers: 00 and FF bytes
    assert last.mech.explain(last.ctx, last.protected, 99) is None


def test_secagg_recovery_reads_the_measurements():
    _, res, *_ = _secagg_round()
    rec = cv.secagg_recovery(res)
    assert rec.dropped == (1,) and rec.survivors == 3 and rec.recovered == 1
    assert rec.threshold == 2 and rec.share_holders == 4 and not rec.aborted
    assert cv.secagg_recovery(_round(1, (0,))) is None


def test_encryption_explanation_shows_each_clients_own_ciphertext():
    from fedsim.privacy.he import HomomorphicEncryption

    rng = np.random.default_rng(0)
    batch = UpdateBatch((0, 1), rng.normal(0, 0.05, (2, 40)), np.ones(2))
    ctx = RoundContext(round=1, seed=0, num_clients=2, expected_clients=2.0, sample_rate=1.0,
                       sampled=(0, 1), dropped=(), num_params=40)
    mech = HomomorphicEncryption("paillier", key_bits=1024)
    sent, _, meas = mech.client(ctx, None, batch)
    e0, e1 = mech.explain(ctx, sent, 0), mech.explain(ctx, sent, 1)
    assert e0.ciphertext_hex == meas["preview_hex"]  # the engine's own preview of client 0
    assert e1.ciphertext_hex != e0.ciphertext_hex and e1.client_id == 1
    np.testing.assert_array_equal(e1.plain, batch.deltas[1])  # its own plain update
    assert int(e1.ciphertext_hex, 16) == int(sent.payload["he"].items[1].ciphertexts[0]) >> (
        8 * (2 * 1024 // 8) - 4 * len(e1.ciphertext_hex))
    assert cv.hex_lines("a1b2c3d4", per_line=2) == "a1 b2\nc3 d4"


# ------------------------------------------------------------------ proofs and cost


def _zkp(clients, verified, reasons=None):
    return {"zkp": {"clients": list(clients), "verified": list(verified),
                    "reasons": reasons or ["ok" if v else "out of range" for v in verified]}}


def test_proof_matrix_statuses_and_reasons():
    hist = (
        _round(1, (0, 1, 2), rejected=(1,), measurements={
            "aggregate": _zkp((0, 1, 2), (True, False, True)),
            "update": {"zkp": {"aggregate_check": True}}}),
        _round(2, (0, 2), dropped=(2,), measurements={"aggregate": _zkp((0,), (True,))}),
        _round(3, (0, 1, 2)),  # proofs off: used unchecked
    )
    m, why = cv.proof_matrix(hist, 4)
    code = {s: i for i, s in enumerate(cv.PROOF_CODES)}
    assert m[:, 0].tolist() == [code["verified"], code["rejected"], code["verified"],
                                code["not_sampled"]]
    assert m[:, 1].tolist() == [code["verified"], code["not_sampled"], code["dropped"],
                                code["not_sampled"]]
    assert m[:, 2].tolist() == [code["unchecked"]] * 3 + [code["not_sampled"]]
    assert why[1][0] == "out of range" and why[0][2] == ""
    assert cv.aggregate_checks(hist) == [True, None, None]


def test_round_costs_and_medians():
    hist = (
        _round(1, (0, 1, 2, 3), dropped=(3,), ms={"protect": 40.0, "aggregate": 9.0,
                                                   "update": 1.0, "train": 400.0},
               bytes_up=3000, bytes_down=4000,
               measurements={"protect": {"secagg": {"client_ms": 30.0}},
                             "aggregate": {"secagg_sum": {"server_ms": 8.0}}}),
        _round(2, (0, 1, 2, 3), ms={"protect": 8.0, "aggregate": 3.0, "update": 1.0,
                                    "train": 40.0}, bytes_up=4000, bytes_down=4000),
        _round(3, (0, 1, 2, 3), ms={"protect": 12.0, "aggregate": 5.0, "update": 1.0,
                                    "train": 44.0}, bytes_up=4000, bytes_down=4000),
    )
    rows = cv.round_costs(hist)
    assert rows[0]["protect_ms_per_client"] == 10.0 and rows[0]["server_ms"] == 10.0
    assert rows[0]["up_per_client"] == 1000.0 and rows[0]["down_per_client"] == 1000.0
    assert rows[0]["mech_client_ms"] == {"secagg": 30.0}
    assert rows[0]["mech_server_ms"] == {"secagg": 8.0}
    typ = cv.typical_costs(rows)
    assert typ["protect_ms_per_client"] == 3.0  # median: the slow first round is ignored
    assert typ["train_ms_per_client"] == 11.0
    assert set(typ) == set(cv.COST_FIELDS)
    assert all(np.isnan(v) for v in cv.typical_costs([]).values())
    assert cv.ratio(20.0, 2.0) == "×10.0" and cv.ratio(1.05, 1.0) == "×1.05"
    assert cv.ratio(500.0, 1.0) == "×500" and cv.ratio(1.0, 0.0) == "–"
    assert cv.fmt_ms(47.49) == "47.5" and cv.fmt_ms(0.00731) == "0.0073"
    assert cv.fmt_ms(float("nan")) == "–"


def test_toy_masks_cancel_in_the_sum():
    rng = np.random.default_rng(1)
    values = [7.0, 2.0, 5.0, -1.0]
    for _ in range(20):
        masks = {(a, b): float(rng.integers(-50, 50)) for a in range(4) for b in range(a + 1, 4)}
        sent = cv.toy_sent(values, masks)
        assert sent.sum() == pytest.approx(sum(values))
    assert cv.toy_sent([1.0, 1.0], {(0, 1): 5.0}).tolist() == [6.0, -4.0]
    with pytest.raises(ValueError):
        cv.toy_sent([1.0], {(0, 0): 1.0})


# ------------------------------------------------------------------ charts


def test_plain_and_masked_strips_use_the_client_colour():
    coords = [3, 10, 42]
    fig = cc.plain_update_figure(coords, [0.1, -0.2, 0.05], 2, 5, layers=[0, 0, 1])
    (bar,) = fig.data
    assert list(bar.x) == ["#3", "#10", "#42"] and bar.marker.color == theme.client_color(2, 5)
    assert list(bar.customdata) == [t("crypto.ch.layer", layer=0)] * 2 + \
        [t("crypto.ch.layer", layer=1)]
    m = cc.masked_figure(coords, [1, 2**31, 2**32 - 1], 2, 5)
    assert tuple(m.layout.yaxis.range) == (0, 2**32)
    assert m.data[0].marker.color == theme.client_color(2, 5)


def test_sum_figure_overlays_recovered_on_plain():
    fig = cc.sum_figure([1, 2], [0.5, -0.5], [0.5001, -0.4999], "t")
    bar, dots = fig.data
    assert bar.type == "bar" and dots.mode == "markers"
    assert dots.marker.color == theme.GLOBAL_COLOR
    assert list(dots.y) == [0.5001, -0.4999]
    assert len(cc.sum_figure([1], [0.1], None, "t").data) == 1  # aborted: nothing recovered


def test_bytes_figure_compares_plain_and_masked():
    fig = cc.bytes_figure([0.5] + [0.0] * 14 + [0.5], [1 / 16] * 16, 1.0, 7.98)
    plain, masked = fig.data
    assert len(plain.x) == 16 and plain.x[0] == "00–0F" and plain.x[-1] == "F0–FF"
    assert "7.98" in masked.name and "1.0" in plain.name
    assert len(cc.bytes_figure(None, [1 / 16] * 16, None, 7.9).data) == 1


def test_proof_figure_colours_and_aggregate_checks():
    code = {s: i for i, s in enumerate(cv.PROOF_CODES)}
    m = np.array([[code["verified"], code["verified"]], [code["rejected"], code["dropped"]]])
    reasons = [["ok", "ok"], ["out of range", ""]]
    fig = cc.proof_figure(m, [1, 2], reasons, [True, False])
    heat = fig.data[0]
    assert np.asarray(heat.z).tolist() == (m + 0.5).tolist()
    assert heat.customdata[1][0] == t("crypto.status.rejected") + " (out of range)"
    assert heat.customdata[0][0] == t("crypto.status.verified")
    colours = {d.name: d.marker.color for d in fig.data[1:]}
    assert colours[t("crypto.status.rejected")] == theme.STATUS_COLORS["rejected"]
    assert colours[t("crypto.status.verified")] == theme.STATUS_COLORS["trained"]
    assert [a.text for a in fig.layout.annotations] == ["✓", "✗"]


def test_accuracy_figure_draws_this_run_last_in_black():
    curve = {"round": [0, 1, 2], "metric": [0.1, 0.5, 0.7], "key": "accuracy"}
    other = {"round": [0, 1, 2], "metric": [0.1, 0.2, 0.1], "key": "accuracy"}
    fig = cc.accuracy_figure(curve, other, "proofs off", total_rounds=5)
    assert [d.name for d in fig.data] == ["proofs off", t("crypto.ch.this_run")]
    assert fig.data[-1].line.color == theme.GLOBAL_COLOR and fig.data[0].line.dash == "dash"
    assert len(cc.accuracy_figure(curve).data) == 1


def test_cost_figure_plain_beside_this_on_a_log_time_axis():
    plain = {"protect_ms_per_client": 0.0, "server_ms": 0.2, "up_per_client": 9640.0,
             "down_per_client": 9640.0, "train_ms_per_client": 5.0}
    this = {**plain, "protect_ms_per_client": 3.0, "server_ms": 9.0, "up_per_client": 10152.0}
    fig = cc.cost_figure(plain, this, "this setup")
    assert fig.layout.yaxis.type == "log"
    names = [d.name for d in fig.data]
    assert names.count("this setup") == 2 and names.count(t("crypto.cost.plain")) == 2
    assert fig.data[0].y[0] > 0  # a zero cost still draws on a log axis
    assert [d.name for d in cc.cost_figure(None, this, "x").data] == ["x", "x"]


def test_toy_figure_sums_are_equal():
    fig = cc.toy_figure([7, 2, 5], cv.toy_sent([7, 2, 5], {(0, 1): 13, (1, 2): -4}))
    secret, sent = fig.data
    assert secret.y[-1] == sent.y[-1] == 14
    assert secret.x[-1] == t("crypto.toy.sum")


# ------------------------------------------------------------------ strings, imports


def test_dynamic_text_keys_exist():
    en = STRINGS["en"]
    keys = ([f"crypto.hide.{h}" for h in cv.HIDE_OPTIONS]
            + [f"crypto.explain.{h}" for h in cv.HIDE_OPTIONS] + ["crypto.explain.zkp"]
            + [f"crypto.status.{s}" for s in cv.PROOF_CODES]
            + [f"crypto.attack.{a}" for a in ATTACKS]
            + [f"crypto.cost.{f}" for f in cv.COST_FIELDS[:4]]
            + [f"crypto.cost.short.{f}" for f in cv.COST_FIELDS[:4]]
            + [f"crypto.mech.{m}" for m in ("secagg", "he", "zkp")])
    assert not [k for k in keys if k not in en]
    from fedsim_app import i18n
    assert all(k.startswith(("crypto.", "nav.crypto", "step.")) for k in
               i18n.domains("en")["crypto"])


def test_the_verifiers_reasons_read_in_the_users_language():
    """The reasons fedsim.privacy.zkp gives (English) for the failures a student meets, from
    real proofs, in Chinese; anything else keeps the verifier's words inside a frame."""
    from fedsim.privacy.zkp.mechanism import check_range, prove_range
    from fedsim_app import i18n

    proof, _, _ = prove_range(0, 1, 1, (300, 3), (0, 1), 8)          # 300 needs 9 bits
    out_of_range = check_range(proof, (0, 1), 8, 1, 1)[1]
    replayed = check_range(proof, (0, 1), 8, 2, 1)[1]
    with i18n.language("zh"):
        assert cv.proof_reason(out_of_range) == "第 0 个坐标：各个比特加起来不等于承诺的值（超出范围）"
        assert cv.proof_reason(replayed) == "该证明是为其他客户端或其他通信轮生成的"
        assert cv.proof_reason("something new") == "证明未通过验证（something new）"
    with i18n.language("en"):
        assert cv.proof_reason(out_of_range).startswith("coordinate 0: its bits do not add up")
        assert cv.proof_reason("something new") == "something new"
