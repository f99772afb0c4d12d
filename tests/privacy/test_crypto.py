"""Cryptographic aggregation: secure aggregation (Bonawitz et al. 2017, SecAgg+), homomorphic
encryption (Paillier, CKKS) and zero-knowledge range proofs (Pedersen + CDS OR-proofs)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fedsim.privacy.base import MechanismDriver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError, IncompatibleConfigError, ProtocolError
from fedsim.privacy import he as he_mod
from fedsim.privacy import secagg as secagg_mod
from fedsim.privacy import zkp as zkp_mod
from fedsim.privacy.base import Aggregate, PerClient, RoundContext, UpdateBatch
from fedsim.privacy.he import HomomorphicEncryption
from fedsim.privacy.quantize import FixedPoint, from_ring, ring_sum, to_ring
from fedsim.privacy.secagg import SecureAggregation, ring_neighbors, threshold_for
from fedsim.privacy.zkp import RangeProofs, commit, verify_range_proof


def make_batch(n, p, *, seed=0, scale=0.1, weights=None):
    rng = np.random.default_rng(seed)
    ids = tuple(range(n))
    deltas = rng.normal(0.0, scale, (n, p))
    if weights is None:
        weights = rng.integers(5, 60, n).astype(np.float64)
    return UpdateBatch(ids, deltas, np.asarray(weights, np.float64))


def ctx_for(batch, dropped=(), seed=3, rnd=1):
    n = len(batch.client_ids)
    return RoundContext(round=rnd, seed=seed, num_clients=n, expected_clients=float(n),
                        sample_rate=1.0, sampled=batch.client_ids, dropped=tuple(dropped),
                        num_params=batch.deltas.shape[1])


def run_round(mech, batch, dropped=(), seed=3):
    """client → drop → (receive) → secure_sum, as the engine will call them."""
    mech = mech if isinstance(mech, MechanismDriver) else MechanismDriver(mech)
    ctx = ctx_for(batch, dropped, seed)
    sent, cmeas = mech.client(ctx, batch)
    alive = sent.select(np.array([c not in set(dropped) for c in sent.client_ids]))
    alive, _ = mech.receive(ctx, alive)
    total, smeas = mech.secure_sum(ctx, alive)
    return total, alive, cmeas, smeas


def plain_sum(batch, keep):
    return batch.weights[keep] @ batch.deltas[keep]


# --------------------------------------------------------------------------- quantize
def test_fixed_point_round_trip_and_wrap():
    fp = FixedPoint(clip=1.0, scale_bits=16)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, (5, 200))
    enc = np.stack([fp.encode(row, rng) for row in x])
    assert enc.dtype == np.uint32
    got = fp.decode(ring_sum(enc))
    assert np.max(np.abs(got - np.clip(x, -1, 1).sum(0))) <= 5 * fp.resolution
    assert from_ring(to_ring(np.array([-3, 0, 7]))).tolist() == [-3, 0, 7]


def test_stochastic_rounding_is_unbiased():
    fp = FixedPoint(clip=1.0, scale_bits=4)
    q, _ = fp.quantize(np.full(20000, 0.3 / 16), np.random.default_rng(1))
    assert abs(q.mean() - 0.3) < 0.02


def test_headroom_raises_config_error():
    fp = FixedPoint(clip=1000.0, scale_bits=24)
    with pytest.raises(ConfigError) as err:
        fp.check_headroom(10)
    assert err.value.field == "privacy.secure_aggregation.scale_bits"
    FixedPoint(clip=1.0, scale_bits=16).check_headroom(10_000)
    with pytest.raises(ConfigError):
        MechanismDriver(SecureAggregation(clip=1000.0, scale_bits=24)).client(
            ctx_for(make_batch(10, 8)), make_batch(10, 8))


# --------------------------------------------------------------------------- secure aggregation
@st.composite
def clients_and_dropouts(draw):
    n = draw(st.integers(2, 8))
    t = threshold_for(0.6, n)
    k = draw(st.integers(0, n - t))
    dropped = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    seed = draw(st.integers(0, 1000))
    return n, tuple(sorted(dropped)), seed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clients_and_dropouts())
def test_masked_sum_equals_plain_sum(case):
    n, dropped, seed = case
    batch = make_batch(n, 40, seed=seed)
    mech = MechanismDriver(SecureAggregation(threshold=0.6))
    total, alive, cmeas, smeas = run_round(mech, batch, dropped, seed=seed)
    keep = np.array([c not in dropped for c in batch.client_ids])
    bound = batch.weights.max() * keep.sum() * mech.fixed_point.resolution
    assert np.max(np.abs(total - plain_sum(batch, keep))) <= bound + 1e-9
    assert smeas["dropped_recovered"] == len(dropped)
    assert smeas["max_abs_error"] <= smeas["error_bound"] + 1e-9
    assert cmeas["threshold"] == threshold_for(0.6, n)


def test_too_many_dropouts_is_a_protocol_error():
    batch = make_batch(6, 20)
    t = threshold_for(0.6, 6)                       # 4 of 6
    dropped = tuple(range(6 - t + 1))               # leaves t - 1 survivors
    with pytest.raises(ProtocolError) as err:
        run_round(SecureAggregation(threshold=0.6), batch, dropped)
    msg = str(err.value)
    assert f"{6 - len(dropped)} of 6" in msg and f"t={t}" in msg


def test_everyone_dropped_is_a_protocol_error():
    batch = make_batch(3, 5)
    with pytest.raises(ProtocolError):
        run_round(SecureAggregation(), batch, dropped=(0, 1, 2))


def test_masked_vector_looks_uniform():
    batch = make_batch(5, 4096, seed=7)
    sent, meas = MechanismDriver(SecureAggregation()).client(ctx_for(batch), batch)
    y = sent.payload["secagg"].items[0].masked
    counts = np.bincount(np.frombuffer(y.astype("<u4").tobytes(), np.uint8), minlength=256)
    chi2 = ((counts - counts.mean()) ** 2 / counts.mean()).sum()
    assert stats.chi2.sf(chi2, df=255) > 1e-3            # consistent with uniform bytes
    hi = (y >> 28).astype(np.int64)                       # the top 4 bits, too
    hc = np.bincount(hi, minlength=16)
    assert stats.chi2.sf(((hc - hc.mean()) ** 2 / hc.mean()).sum(), df=15) > 1e-3
    # ... whereas the plain quantized update is nowhere near uniform.
    q = FixedPoint().encode(batch.deltas[0], np.random.default_rng(0))
    qc = np.bincount(np.frombuffer(q.astype("<u4").tobytes(), np.uint8), minlength=256)
    assert stats.chi2.sf(((qc - qc.mean()) ** 2 / qc.mean()).sum(), df=255) < 1e-12
    assert meas["masked_byte_entropy_bits"] > 7.9 > meas["plain_byte_entropy_bits"]


def test_secagg_is_reproducible_and_seed_dependent():
    batch = make_batch(4, 16)
    a = MechanismDriver(SecureAggregation()).client(ctx_for(batch, seed=1), batch)[0].payload["secagg"]
    b = MechanismDriver(SecureAggregation()).client(ctx_for(batch, seed=1), batch)[0].payload["secagg"]
    c = MechanismDriver(SecureAggregation()).client(ctx_for(batch, seed=2), batch)[0].payload["secagg"]
    assert np.array_equal(a.items[0].masked, b.items[0].masked)
    assert not np.array_equal(a.items[0].masked, c.items[0].masked)


def test_secagg_plus_gives_the_same_sum():
    batch = make_batch(10, 64, seed=4)
    dropped = (2, 7)
    full, _, fm, _ = run_round(SecureAggregation(), batch, dropped)
    plus, _, pm, sm = run_round(SecureAggregation(neighbors=4), batch, dropped)
    assert pm["secagg_plus"] and pm["neighbors"] == 4 and not fm["secagg_plus"]
    assert np.array_equal(full, plus)                # same encodings; masks removed exactly
    assert sm["dropped_recovered"] == 2


def test_secagg_plus_cost_scales_with_k_not_n():
    small, big = make_batch(8, 16), make_batch(16, 16)
    _, m8 = MechanismDriver(SecureAggregation(neighbors=4)).client(ctx_for(small), small)
    _, m16 = MechanismDriver(SecureAggregation(neighbors=4)).client(ctx_for(big), big)
    assert m8["bytes_encrypted_shares"] == m16["bytes_encrypted_shares"] == \
        4 * secagg_mod.CIPHERTEXT_BYTES
    assert m8["share_holders"] == m16["share_holders"] == 5
    _, f8 = MechanismDriver(SecureAggregation()).client(ctx_for(small), small)
    _, f16 = MechanismDriver(SecureAggregation()).client(ctx_for(big), big)
    assert f16["bytes_encrypted_shares"] > f8["bytes_encrypted_shares"]


def test_secagg_plus_fails_when_a_neighbourhood_is_depleted():
    """Enough survivors overall, but one client's share holders are gone: no sum."""
    batch = make_batch(10, 16)
    mech = MechanismDriver(SecureAggregation(neighbors=2))  # 3 holders, t = 2
    ctx = ctx_for(batch)
    sent, meas = mech.client(ctx, batch)
    assert meas["threshold"] == 2
    setup = sent.payload["secagg"].items[0].setup
    dropped = set(setup.neighbors[0])              # both neighbours of client 0
    alive = sent.select(np.array([c not in dropped for c in sent.client_ids]))
    with pytest.raises(ProtocolError, match="client 0"):
        mech.secure_sum(ctx, alive)


def test_ring_neighbours_are_symmetric_and_odd_k_rounds_up():
    ids = tuple(range(11))
    for k, expect in ((2, 2), (3, 4), (4, 4), (10, 10), (None, 10)):
        nb = ring_neighbors(ids, k, np.random.default_rng(0))
        assert all(len(v) == expect for v in nb.values())
        assert all(u in nb[v] for u in nb for v in nb[u])


def test_survivor_refuses_to_reveal_both_shares():
    batch = make_batch(4, 8)
    sent, _ = MechanismDriver(SecureAggregation()).client(ctx_for(batch), batch)
    up = sent.payload["secagg"].items[0]
    with pytest.raises(ProtocolError, match="both shares"):
        up.device.unmask_shares(up.setup, frozenset({0, 1, 2, 3}), frozenset({1}))


def test_secagg_bytes_up_and_preview():
    batch = make_batch(5, 100)
    sent, meas = MechanismDriver(SecureAggregation()).client(ctx_for(batch), batch)
    assert np.all(sent.bytes_up == meas["bytes_per_client"])
    assert meas["bytes_masked_vector"] == 400
    assert len(meas["preview_plain"]) == len(meas["preview_masked"]) == 8
    assert isinstance(sent.payload["secagg"], PerClient)


def test_clipping_is_reported_apart_from_quantization_error():
    batch = make_batch(4, 50, scale=1.0)              # many coordinates beyond clip 0.5
    for mech in (SecureAggregation(clip=0.5), HomomorphicEncryption("paillier", key_bits=1024,
                                                                     clip=0.5)):
        _, _, cm, sm = run_round(mech, batch)
        assert cm["clipped_fraction"] > 0.3
        assert sm["max_abs_error"] > 1.0                 # vs the unclipped plain sum
        assert sm["quantization_error"] <= 4 * batch.weights.max() * 2.0 ** -16


def test_rejected_client_is_unmasked_like_a_dropout():
    """A client removed by an earlier server stage (e.g. a failed proof) is handled as dropped."""
    batch = make_batch(6, 30)
    mech = MechanismDriver(SecureAggregation())
    ctx = ctx_for(batch)
    sent, _ = mech.client(ctx, batch)
    keep = np.array([c != 4 for c in batch.client_ids])
    total, meas = mech.secure_sum(ctx, sent.select(keep))
    assert meas["dropped"] == [4]
    assert np.allclose(total, plain_sum(batch, keep), atol=meas["error_bound"])


# --------------------------------------------------------------------------- homomorphic encryption
def test_paillier_sum_within_tolerance_with_dropout():
    batch = make_batch(5, 150, seed=2)
    mech = MechanismDriver(HomomorphicEncryption("paillier", key_bits=1024))
    total, _, cm, sm = run_round(mech, batch, dropped=(1,))
    keep = np.array([c != 1 for c in batch.client_ids])
    tol = batch.weights.max() * 5 * 2.0 ** -mech.frac_bits
    assert np.max(np.abs(total - plain_sum(batch, keep))) <= tol
    assert cm["ciphertexts_per_client"] == -(-150 // cm["slots_per_ciphertext"])
    assert cm["ciphertext_bytes_per_client"] == cm["ciphertexts_per_client"] * 256
    assert len(cm["preview_hex"]) == 2 * he_mod.PREVIEW_BYTES
    assert sm["max_abs_error"] <= tol


def test_paillier_packing_carries_no_overflow_between_slots():
    pk = he_mod.PaillierPacking(key_bits=1024, frac_bits=8, clip=1.0, n_clients=3)
    m = pk.offset
    q = np.array([[m, -m, m, -m] * 20, [m, -m, -m, m] * 20, [m, -m, 0, 0] * 20])
    sums = sum(np.array(pk.pack(row), dtype=object) for row in q)   # integer plaintext sums
    assert np.array_equal(pk.unpack_sum(list(sums), 80, 3), q.sum(0))


def test_ckks_sum_within_tolerance():
    batch = make_batch(4, 5000, seed=5)        # two 4096-slot ciphertexts per client
    total, _, cm, sm = run_round(HomomorphicEncryption("ckks"), batch, dropped=(3,))
    keep = np.array([c != 3 for c in batch.client_ids])
    assert cm["ciphertexts_per_client"] == 2
    assert np.max(np.abs(total - plain_sum(batch, keep))) < 1e-4
    assert sm["decrypt_ms"] >= 0 and sm["add_ms"] >= 0


def test_server_context_cannot_decrypt_ckks():
    batch = make_batch(2, 10)
    sent, meas = MechanismDriver(HomomorphicEncryption("ckks")).client(ctx_for(batch), batch)
    vec = sent.payload["he"].items[0].ciphertexts[0]
    assert vec.context().is_public()
    with pytest.raises(ValueError):
        vec.decrypt()
    assert meas["ciphertext_bytes_per_client"] == 2 * 8192 * 3 * 8


def test_ckks_works_after_tensorflow_is_imported():
    """tenseal's protobuf serialization breaks once TensorFlow is loaded; the HE code must not
    need it (this runs in a fresh interpreter, TensorFlow first)."""
    code = (
        "import tensorflow\n"
        "import numpy as np\n"
        "from fedsim.privacy.base import RoundContext, UpdateBatch\n"
        "from fedsim.privacy.he import HomomorphicEncryption\n"
        "b = UpdateBatch((0, 1, 2), np.random.default_rng(0).normal(size=(3, 5000)), np.ones(3))\n"
        "ctx = RoundContext(1, 0, 3, 3.0, 1.0, (0, 1, 2), (), 5000)\n"
        "m = HomomorphicEncryption('ckks')\n"
        "sent, _, _ = m.client(ctx, None, b)\n"
        "total, meas = m.secure_sum(ctx, None, sent)\n"
        "assert np.max(np.abs(total - b.deltas.sum(0))) < 1e-4, meas\n"
        "print('CKKS-OK')\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=env, cwd=str(Path(__file__).resolve().parents[2]))
    assert out.returncode == 0 and "CKKS-OK" in out.stdout, out.stderr[-2000:]


@pytest.mark.parametrize("scheme", ["paillier", "ckks"])
def test_he_one_layer_sums_the_rest_in_the_clear(scheme):
    batch = make_batch(3, 60, seed=6)
    slices = [slice(0, 20), slice(20, 50), slice(50, 60)]
    mech = MechanismDriver(HomomorphicEncryption(scheme, key_bits=1024, layer=1, layer_slices=slices))
    total, _, cm, sm = run_round(mech, batch)
    assert cm["encrypted_coordinates"] == 30 and cm["clear_coordinates"] == 30
    assert sm["summed_in_clear"] == 30
    assert np.max(np.abs(total - plain_sum(batch, np.ones(3, bool)))) < 1e-3


def test_he_layer_needs_layout():
    with pytest.raises(ConfigError):
        HomomorphicEncryption("paillier", layer=0)
    with pytest.raises(ConfigError):
        HomomorphicEncryption("paillier", layer=3, layer_slices=[slice(0, 2)])


# --------------------------------------------------------------------------- ZK range proofs
ZKP_BITS = 6


def zkp_round(deltas, *, bound=1.0, coords=4, malicious=(), tamper=None):
    n, p = deltas.shape
    batch = UpdateBatch(tuple(range(n)), deltas, np.arange(1.0, n + 1))
    ctx = ctx_for(batch)
    mech = MechanismDriver(RangeProofs(bound=bound, coordinates=coords, bits=ZKP_BITS, malicious_ids=malicious))
    sent, cmeas = mech.client(ctx, batch)
    if tamper is not None:
        items = list(sent.payload["zkp"].items)
        items[0] = dataclasses.replace(items[0], proof=tamper(items[0].proof))
        sent = sent.with_payload("zkp", PerClient(tuple(items)))
    kept, rmeas = mech.receive(ctx, sent)
    agg = Aggregate(kept.weights @ kept.deltas, float(kept.weights.sum()))
    _, smeas = mech.server(ctx, agg)
    return mech, sent, kept, cmeas, rmeas, smeas


def test_valid_proofs_verify_and_aggregate_opens():
    deltas = np.random.default_rng(0).uniform(-0.9, 0.9, (3, 50))
    mech, sent, kept, cm, rm, sm = zkp_round(deltas)
    assert rm["verified"] == [True, True, True] and rm["rejected"] == []
    assert kept.client_ids == (0, 1, 2)
    assert sm["aggregate_check"] is True and sm["aggregate_opens"]
    assert cm["proof_bytes_per_client"] == 4 * (96 + ZKP_BITS * (96 + 288))
    assert np.all(sent.bytes_up == 4 * 50 + cm["proof_bytes_per_client"])


def _flip_response_byte(proof):
    cp = proof.coordinates[0]
    r = bytearray(cp.responses[1])
    r[40] ^= 0x01                                    # a byte of e1
    cp = dataclasses.replace(cp, responses=(cp.responses[0], bytes(r), *cp.responses[2:]))
    return dataclasses.replace(proof, coordinates=(cp, *proof.coordinates[1:]))


def _change_commitment(proof):
    cp = proof.coordinates[1]
    cp = dataclasses.replace(cp, commitment=commit(5, 12345))
    return dataclasses.replace(proof, coordinates=(proof.coordinates[0], cp,
                                                   *proof.coordinates[2:]))


def _change_bit_commitment(proof):
    cp = proof.coordinates[0]
    bad = commit(2, 99)                              # a "bit" that is 2
    cp = dataclasses.replace(cp, bit_commitments=(bad, *cp.bit_commitments[1:]))
    return dataclasses.replace(proof, coordinates=(cp, *proof.coordinates[1:]))


def _garbage_point(proof):
    cp = proof.coordinates[0]
    cp = dataclasses.replace(cp, commitment=b"\xff" * 32)
    return dataclasses.replace(proof, coordinates=(cp, *proof.coordinates[1:]))


@pytest.mark.parametrize("tamper", [_flip_response_byte, _change_commitment,
                                    _change_bit_commitment, _garbage_point])
def test_tampered_proofs_are_rejected(tamper):
    deltas = np.random.default_rng(1).uniform(-0.5, 0.5, (3, 20))
    _, _, kept, _, rm, sm = zkp_round(deltas, tamper=tamper)
    assert rm["verified"] == [False, True, True]
    assert kept.client_ids == (1, 2)
    assert sm["aggregate_check"] is True             # the accepted ones still add up


def test_out_of_range_value_is_rejected():
    deltas = np.random.default_rng(2).uniform(-0.5, 0.5, (3, 10))
    deltas[1] = 3.0                                  # 3·B everywhere: the checked ones too
    deltas[2, :] = -3.0
    _, sent, kept, cm, rm, _ = zkp_round(deltas, malicious=(1, 2))
    assert rm["verified"] == [True, False, False]
    assert "out of range" in rm["reasons"][1]
    assert kept.client_ids == (0,)
    # An honest client with the same values would have clipped them to the bound.
    _, sent2, kept2, _, rm2, _ = zkp_round(deltas)
    assert rm2["verified"] == [True, True, True]
    assert np.max(np.abs(sent2.deltas)) <= 1.0


def test_proof_is_bound_to_client_round_and_challenge():
    deltas = np.random.default_rng(3).uniform(-0.5, 0.5, (2, 30))
    mech, sent, *_ = zkp_round(deltas)
    proof = sent.payload["zkp"].items[0].proof
    coords = [c.index for c in proof.coordinates]
    assert verify_range_proof(proof, coords, ZKP_BITS, 1, 0)[0]
    assert not verify_range_proof(proof, coords, ZKP_BITS, 1, 1)[0]      # replayed by client 1
    assert not verify_range_proof(proof, coords, ZKP_BITS, 2, 0)[0]      # replayed next round
    assert not verify_range_proof(proof, coords[::-1], ZKP_BITS, 1, 0)[0]
    forged = dataclasses.replace(proof, client_id=1, round=1)            # relabelled
    assert not verify_range_proof(forged, coords, ZKP_BITS, 1, 1)[0]


def test_aggregate_check_catches_a_swapped_update():
    """RoFL's point: proofs must bind to what is aggregated."""
    deltas = np.random.default_rng(4).uniform(-0.5, 0.5, (3, 16))
    n, p = deltas.shape
    batch = UpdateBatch(tuple(range(n)), deltas, np.ones(n))
    ctx = ctx_for(batch)
    mech = MechanismDriver(RangeProofs(bound=1.0, coordinates=p, bits=ZKP_BITS))
    sent, _ = mech.client(ctx, batch)
    kept, rm = mech.receive(ctx, sent)
    assert all(rm["verified"])
    _, sm = mech.server(ctx, Aggregate(kept.weights @ kept.deltas + 0.5, 3.0))
    assert sm["aggregate_opens"] and not sm["aggregate_matches"]


def test_zkp_composes_with_secure_aggregation():
    batch = make_batch(5, 40, seed=8, scale=0.2)
    deltas = batch.deltas.copy()
    deltas[3] *= 20                                  # malicious, way beyond the bound
    batch = batch.replace(deltas=deltas)
    ctx = ctx_for(batch, dropped=(0,))
    z = MechanismDriver(RangeProofs(bound=1.0, coordinates=40, bits=ZKP_BITS,
                                    malicious_ids=(3,), sum_error=2.0 ** -16))
    s = MechanismDriver(SecureAggregation())
    b1, _ = z.client(ctx, batch)
    b2, _ = s.client(ctx, b1)
    alive = b2.select(np.array([c != 0 for c in b2.client_ids]))
    kept, rm = z.receive(ctx, alive)
    assert rm["rejected"] == [3]
    total, sm = s.secure_sum(ctx, kept)
    assert sm["dropped"] == [0, 3]
    _, zm = z.server(ctx, Aggregate(total, float(kept.weights.sum())))
    assert zm["aggregate_check"] is True
    keep = np.array([c not in (0, 3) for c in batch.client_ids])
    assert np.allclose(total, b1.weights[keep] @ b1.deltas[keep], atol=sm["error_bound"])


# --------------------------------------------------------------------------- configuration
def _cfg(**privacy):
    return SimulationConfig.from_dict({"privacy": privacy})


def test_from_config_returns_none_when_off():
    cfg = SimulationConfig.from_dict({})
    assert secagg_mod.from_config(cfg) is None
    assert he_mod.from_config(cfg) is None
    assert zkp_mod.from_config(cfg) is None


def test_from_config_builds_mechanisms():
    cfg = SimulationConfig.from_dict({
        "clients": {"num_clients": 6, "malicious": {"ids": [2]}},
        "privacy": {"secure_aggregation": {"enabled": True, "neighbors": 2, "clip": 0.5},
                    "zkp": {"enabled": True, "bound": 1.0, "coordinates": 8}}})
    sa = secagg_mod.from_config(cfg)
    assert isinstance(sa, SecureAggregation) and sa.neighbors == 2
    assert (sa.name, sa.order, sa.hides_updates) == ("secagg", 30, True)
    z = zkp_mod.from_config(cfg)
    assert isinstance(z, RangeProofs) and z.clip == 0.5 and z.malicious_ids == {2}
    assert (z.name, z.order) == ("zkp", 20)
    h = he_mod.from_config(_cfg(he={"scheme": "ckks"}))
    assert isinstance(h, HomomorphicEncryption) and (h.name, h.order) == ("he", 30)
    with pytest.raises(ConfigError):
        he_mod.from_config(_cfg(he={"scheme": "paillier", "layer": 0}))     # no layout given
    assert he_mod.from_config(_cfg(he={"scheme": "paillier", "layer": 0}),
                              layer_slices=[slice(0, 3)]).layer == 0


def test_secure_aggregation_with_median_is_incompatible():
    with pytest.raises(IncompatibleConfigError):
        SimulationConfig.from_dict({"aggregation": {"name": "median"},
                                    "privacy": {"secure_aggregation": {"enabled": True}}})
    with pytest.raises(IncompatibleConfigError):
        SimulationConfig.from_dict({"aggregation": {"name": "krum"},
                                    "privacy": {"he": {"scheme": "paillier"}}})


def test_zkp_bound_below_secagg_clip_is_incompatible():
    with pytest.raises(IncompatibleConfigError) as err:
        _cfg(secure_aggregation={"enabled": True, "clip": 2.0}, zkp={"enabled": True,
                                                                      "bound": 1.0})
    assert err.value.field == "privacy.zkp.bound"


def test_secagg_and_he_together_are_incompatible():
    with pytest.raises(IncompatibleConfigError):
        _cfg(secure_aggregation={"enabled": True}, he={"scheme": "ckks"})
