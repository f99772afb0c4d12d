"""Tracing ahead: one trace per trainer serves every round, so the app can pay it at start."""

from __future__ import annotations

from fedsim.config import SimulationConfig


def test_a_traced_ahead_trainer_never_traces_again():
    from fedsim.training.trainer import get_trainer, trace_ahead
    from fedsim.engine.simulation import Simulation, build_federation

    cfg = SimulationConfig.from_dict({"rounds": 2, "dataset": {"name": "2d", "num_samples": 200},
                                      "clients": {"num_clients": 3},
                                      "model": {"name": "mlp", "hidden": 7}})
    fed = build_federation(cfg)
    trainer = get_trainer(fed.spec, fed.data.task, cfg.training.optimizer,
                          cfg.training.momentum, False)
    trace_ahead(trainer)
    counts = [f.experimental_get_tracing_count()
              for f in (trainer._train, trainer._eval, trainer._eval_one)]
    assert counts == [1, 1, 1]
    sim = Simulation(cfg, federation=fed)
    sim.run()
    # a different number of clients and examples: still the same trace (None dimensions)
    Simulation(cfg.replace(clients=cfg.clients.replace(num_clients=5))).run()
    assert [f.experimental_get_tracing_count()
            for f in (trainer._train, trainer._eval, trainer._eval_one)] == counts
    assert sim.trainer is trainer


def test_the_app_traces_the_presets_models_in_the_background():
    from fedsim_app.base import runtime

    runtime._trace_presets()  # what the preload thread runs after importing the engine
    from fedsim.training.trainer import get_trainer
    from fedsim.presets import PRESETS
    from fedsim.engine.simulation import build_federation

    cfg = PRESETS["article-regression"].build()
    fed = build_federation(cfg)
    trainer = get_trainer(fed.spec, fed.data.task, cfg.training.optimizer,
                          cfg.training.momentum, False)
    assert trainer._train.experimental_get_tracing_count() == 1
