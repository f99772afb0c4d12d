"""Secure aggregation, HE and proofs inside the running engine (the primitives: test_crypto.py)."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from fedsim import Simulation, SimulationConfig  # noqa: E402


def _sim(rounds=3, **over):
    base = {"seed": 2, "rounds": rounds, "clients": {"num_clients": 6}}
    for k, v in over.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return Simulation(SimulationConfig.from_dict(base))


def _final_acc(sim):
    sim.run()
    return sim.history[-1].global_metrics["accuracy"]


@pytest.mark.parametrize("privacy", [
    {"secure_aggregation": {"enabled": True}},
    {"secure_aggregation": {"enabled": True, "neighbors": 2}},
    {"he": {"scheme": "ckks"}},
    {"he": {"scheme": "paillier", "key_bits": 1024}},
])
def test_hidden_aggregation_trains_like_plain_fedavg(privacy):
    plain = _final_acc(_sim(rounds=4))
    hidden = _final_acc(_sim(rounds=4, privacy=privacy))
    assert abs(plain - hidden) <= 0.005  # within 0.5 accuracy points


def test_secure_aggregation_recovers_dropouts_and_server_sees_only_masks():
    sim = _sim(rounds=4, clients={"num_clients": 8, "dropout": 0.25},
               privacy={"secure_aggregation": {"enabled": True, "clip": 4.0, "threshold": 0.4}})
    sim.run()
    assert sum(len(r.dropped) for r in sim.history) > 0
    for r in sim.history:
        assert not r.aborted
        s = r.phase("aggregate").measurements["secagg_sum"]
        assert s["max_abs_error"] <= s["error_bound"] + 1e-9
        assert s["dropped_recovered"] == len(r.dropped)
    prot = sim.last.protected.payload
    assert "secagg" in prot


def test_too_many_dropouts_abort_the_round_not_corrupt_the_model():
    # threshold 1.0: every sampled client's share is needed, so any dropout is fatal.
    sim = _sim(rounds=6, clients={"num_clients": 5, "dropout": 0.3},
               privacy={"secure_aggregation": {"enabled": True, "threshold": 1.0}})
    seen = 0
    for _ in range(6):
        before = sim.weights.copy()
        r = sim.step_round()
        if 0 < len(r.dropped) < len(r.sampled):
            seen += 1
            assert "survived" in r.aborted
            np.testing.assert_array_equal(sim.weights, before)
            assert r.aggregated == ()
        elif not r.dropped:
            assert not r.aborted and not np.array_equal(sim.weights, before)
    assert seen > 0


def test_scaling_attacker_is_rejected_with_proofs_and_harms_without():
    mal = {"num_clients": 6, "malicious": {"ids": [2], "attack": "scale", "factor": -10.0}}
    with_zkp = _sim(rounds=3, clients=mal, privacy={"zkp": {"enabled": True, "bound": 0.05,
                                                             "coordinates": 16}})
    with_zkp.run()
    for r in with_zkp.history:
        assert 2 in r.rejected
        verified = {c.id: c.extra.get("verified") for c in r.clients}
        assert verified[2] is False and all(verified[c] for c in verified if c != 2)
        assert r.phase("update").measurements["zkp"]["aggregate_check"] in (True, "ok") or \
            r.phase("update").measurements["zkp"]["aggregate_matches"]
    honest = _final_acc(_sim(rounds=3))
    attacked = _final_acc(_sim(rounds=3, clients=mal))
    protected = with_zkp.history[-1].global_metrics["accuracy"]
    assert honest - attacked > 0.3  # the sign-flipping attacker wrecks plain FedAvg
    assert protected >= honest - 0.03  # with proofs, training stays on course
