"""A class's first clicks (issue #27): what a session pays the first time it builds and steps
a run, when many sessions do it at the same instant (``python -m bench.load_bench``).

- One trainer per model, however many sessions ask for it at once: ``get_trainer``'s
  ``lru_cache`` alone let every concurrent miss build (and then trace) its own; 10 sessions
  starting together built 9.
- ``warm_up`` runs a traced trainer's functions once ahead (the app's preload does it): the
  first call of a traced function still cost 0.1-0.3 s; it changes no number.
- The initial weights are drawn once per (model, seed): each simulation and each Reset
  built a Keras model for them.
"""

from __future__ import annotations

import threading

import numpy as np

from fedsim.config import SimulationConfig


def _cfg(**extra) -> SimulationConfig:
    base = {"seed": 5, "rounds": 2, "dataset": {"name": "2d", "num_samples": 200},
            "clients": {"num_clients": 3}, "model": {"name": "mlp", "hidden": 11}}
    base.update(extra)
    return SimulationConfig.from_dict(base)


def test_sessions_asking_for_a_new_trainer_at_once_share_one(monkeypatch):
    from fedsim.training import trainer as tr
    from fedsim.training.models import ModelSpec

    built = []
    real_init = tr.VectorizedTrainer.__init__

    def slow_init(self, *a, **k):  # a Keras model takes a while to build: widen the window
        built.append(1)
        threading.Event().wait(0.05)
        real_init(self, *a, **k)

    monkeypatch.setattr(tr.VectorizedTrainer, "__init__", slow_init)
    spec = ModelSpec("mlp", 2, 2, hidden=17)  # a key nothing else in the test run uses
    start = threading.Barrier(8)
    got = []

    def ask():
        start.wait()
        got.append(tr.get_trainer(spec, "classification", "sgd", 0.9, False))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1
    assert len({id(t) for t in got}) == 1
    # the same arguments later: the cached trainer, nothing built
    assert tr.get_trainer(spec, "classification", "sgd", 0.9, False) is got[0]
    assert len(built) == 1


def test_warm_up_changes_no_result_and_traces_nothing_new():
    from fedsim.engine.simulation import build_federation
    from fedsim.training.trainer import VectorizedTrainer, trace_ahead, warm_up

    cfg = _cfg()
    fed = build_federation(cfg)
    args = (fed.spec, fed.data.task, cfg.training.optimizer, cfg.training.momentum, False)
    warmed, cold = VectorizedTrainer(*args), VectorizedTrainer(*args)  # not the shared one
    trace_ahead(warmed)
    warm_up(warmed)
    fns = lambda t: (t._train, t._eval, t._eval_one)  # noqa: E731
    assert [f.experimental_get_tracing_count() for f in fns(warmed)] == [1, 1, 1]

    def one_round(t):
        w0 = [np.full(s, 0.05, np.float32) for s in t.shapes]
        res = t.train(w0, fed.client_data, epochs=2, batch_size=8, lr=0.1,
                      rng=np.random.default_rng(3))
        return res, t.evaluate(w0, fed.data.x_test, fed.data.y_test)

    (a, ea), (b, eb) = one_round(warmed), one_round(cold)
    assert np.array_equal(a.flat, b.flat) and np.array_equal(a.delta, b.delta)
    assert np.array_equal(a.epoch_loss, b.epoch_loss, equal_nan=True)
    assert ea == eb
    assert [f.experimental_get_tracing_count() for f in fns(warmed)] == [1, 1, 1]


def test_the_preload_warms_up_what_it_traces(monkeypatch):
    from fedsim.training import trainer as tr
    from fedsim_app.base import runtime

    warmed = []
    monkeypatch.setattr(tr, "warm_up", lambda t: warmed.append(t))
    runtime._trace_presets()
    default = SimulationConfig()
    from fedsim.engine.simulation import build_federation

    fed = build_federation(default)
    first = tr.get_trainer(fed.spec, fed.data.task, default.training.optimizer,
                           default.training.momentum, False)
    assert warmed and warmed[0] is first  # the default model first: a class opens it


def test_initial_weights_are_drawn_once_and_never_shared_for_writing():
    from fedsim.engine.simulation import Simulation, _initial_weights
    from fedsim.training.models import initial_weights
    from fedsim.weights import flatten

    cfg = _cfg(seed=12)
    a = Simulation(cfg)
    hits = _initial_weights.cache_info().hits
    b = Simulation(cfg)
    assert _initial_weights.cache_info().hits == hits + 1
    want = flatten(initial_weights(a.fed.spec, 12))
    assert np.array_equal(a.snapshot.weights, want) and np.array_equal(b.snapshot.weights, want)
    assert not np.shares_memory(a.snapshot.weights, b.snapshot.weights)
    a.run()
    a.reset()  # Reset: the same seeded start again
    assert np.array_equal(a.snapshot.weights, want)
    assert all(not w.flags.writeable for w in _initial_weights(a.fed.spec, 12))
    # the same seed, a different model: other weights
    other = Simulation(_cfg(seed=12, model={"name": "mlp", "hidden": 12}))
    assert other.snapshot.weights.shape != want.shape
