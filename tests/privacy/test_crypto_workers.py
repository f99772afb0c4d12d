"""Paillier encryptions in worker processes (fedsim.privacy.workers): same results, other cores.

The app's server turns the pool on so one student's Paillier rounds do not hold the
interpreter lock that every other session's clicks need (measured in ``bench.load_bench
--paillier``). These tests hold the pool to the in-process arithmetic.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from fedsim.privacy import workers
from fedsim.privacy.he import paillier_keys

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def pool_on(monkeypatch):
    monkeypatch.setenv("FEDSIM_CRYPTO_WORKERS", "2")
    monkeypatch.setattr(workers, "_enabled", True)
    yield
    monkeypatch.setattr(workers, "_enabled", False)


def test_worker_ciphertexts_decrypt_to_the_plaintexts(pool_on):
    pub, holder, _ = paillier_keys(2048)
    msgs = [[0, 1, 2**100 + 7], [5], []]
    out = workers.paillier_encrypt_many(pub.n, msgs)
    assert workers._pool is not None and not workers._broken  # it really ran in the pool
    assert [len(c) for c, _ in out] == [3, 1, 0]
    assert all(s >= 0 for _, s in out)
    for (cts, _), want in zip(out, msgs):
        assert holder.decrypt_sum(cts) == want
    # fresh randomness per encryption: equal plaintexts, different ciphertexts
    again = workers.paillier_encrypt_many(pub.n, msgs)
    assert again[0][0][0] != out[0][0][0]


def test_off_by_default_and_env_zero_keeps_it_in_process(monkeypatch):
    # a fresh process (the app, run by other tests in this one, turns it on): a library user
    # opts in, since spawned workers re-import the main module
    code = "from fedsim.privacy import workers; print(workers._get_pool() is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "True", out.stderr[-2000:]
    monkeypatch.setattr(workers, "_enabled", True)
    monkeypatch.setenv("FEDSIM_CRYPTO_WORKERS", "0")
    assert workers._get_pool() is None


def test_a_paillier_round_is_the_same_with_and_without_workers(monkeypatch):
    from fedsim import Simulation, SimulationConfig

    cfg = SimulationConfig.from_dict({"seed": 3, "rounds": 1, "clients": {"num_clients": 3},
                                      "privacy": {"he": {"scheme": "paillier"}}})
    runs = []
    for on in (False, True):
        monkeypatch.setattr(workers, "_enabled", on)
        sim = Simulation(cfg)
        sim.step_round()
        runs.append(sim)
    a, b = runs
    np.testing.assert_array_equal(a.weights, b.weights)  # the decrypted sum, bit for bit
    assert a.history[-1].global_metrics == b.history[-1].global_metrics
    assert b.history[-1].trace[3].measurements["he"].encrypt_ms_per_client > 0
