"""Run a whole configuration and keep what every view of a finished run reads.

The app's Lessons, Compare, Privacy, server-view and Attacks pages all need the same thing: a
configuration run to its last round, summarized as a small immutable value they can share
(between reruns, and between students asking for the same run). One function makes it, so
the four pages cannot drift apart in how they run or what they keep.

Example
-------
>>> from fedsim.config import SimulationConfig
>>> s = run(SimulationConfig.from_dict({"rounds": 2, "dataset": {"name": "2d"},
...                                      "clients": {"num_clients": 3}}))  # doctest: +SKIP
>>> s.rounds, s.metric_key                                                  # doctest: +SKIP
((0, 1, 2), 'accuracy')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from fedsim.config import SimulationConfig
from fedsim.engine.results import RoundResult, frozen, metric_key


@dataclass(frozen=True)
class RunSummary:
    """A finished run: its configuration, the initial model's metrics, every round's result
    (immutable :class:`RoundResult` values) and the federation's label counts."""

    config: SimulationConfig
    task: str  # "classification" or "regression"
    initial: Mapping[str, float]  # round 0: the initial global model on the test set
    history: tuple[RoundResult, ...]
    label_counts: np.ndarray  # [clients, labels]
    label_names: tuple[str, ...]
    num_params: int  # the model's parameter count
    num_features: int
    train_sizes: tuple[int, ...]  # each client's local training rows
    val_sizes: tuple[int, ...]  # and local validation rows

    @property
    def metric_key(self) -> str:
        """``accuracy`` or ``mse``."""
        return metric_key(self.task)

    @property
    def rounds(self) -> tuple[int, ...]:
        """0 (the initial model), then every finished round."""
        return (0,) + tuple(r.round for r in self.history)

    @property
    def metric(self) -> tuple[float, ...]:
        """The global test metric per entry of :attr:`rounds`."""
        k = self.metric_key
        return (self.initial[k],) + tuple(r.global_metrics[k] for r in self.history)

    @property
    def loss(self) -> tuple[float, ...]:
        return (self.initial["loss"],) + tuple(r.global_metrics["loss"] for r in self.history)

    @property
    def final(self) -> float:
        return self.metric[-1]

    @property
    def epsilon(self) -> float | None:
        """The ε spent by the end of the run (``inf`` without noise; None without DP)."""
        if not self.history:
            return None
        eps = self.history[-1].privacy.get("epsilon")
        return None if eps is None else float(eps)

    def curve(self) -> dict:
        """The global curve as the app's charts take it."""
        return {"round": list(self.rounds), "metric": list(self.metric),
                "loss": list(self.loss), "key": self.metric_key}


def run(cfg: SimulationConfig, progress: Callable[[int], None] | None = None,
        rounds: int | None = None) -> RunSummary:
    """Run ``cfg`` for ``rounds`` rounds (default: ``cfg.rounds``) with the engine and
    summarize it. ``progress(r)`` is called after each round ``r``."""
    from fedsim.engine.simulation import Simulation

    sim = Simulation(cfg)
    sim.run(rounds, progress=(lambda r: progress(r.round)) if progress else None)
    data = sim.fed.data
    names = (tuple(data.class_names) if data.task == "classification" else
             tuple(f"bin {b}" for b in range(cfg.partition.label_bins)))
    counts = np.asarray(sim.fed.label_counts())
    counts.setflags(write=False)
    cd = sim.fed.client_data
    return RunSummary(cfg, data.task, frozen(sim.initial_metrics), tuple(sim.history),
                      counts, names, int(sim.num_params), int(data.num_features),
                      tuple(int(v) for v in cd.counts), tuple(int(v) for v in cd.vcounts))
