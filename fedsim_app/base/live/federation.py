"""Federation mode: the class is the federation. Client ``k`` of the teacher's simulation is
played by the ``k``-th student; each round the students' choices (honest, an attack the engine
has, or drop out) become the engine's :class:`~fedsim.engine.round.RoundPlan`, the engine runs
the round, and this module reads back what the server saw and what each client's phone shows.

What is simulated, plainly: the phones do not train. The teacher's server trains every client
in one vectorized call; a phone only chooses and watches. In real federated learning each
phone would train on its own data and send only its update.
"""

from __future__ import annotations

import threading
from typing import Mapping

import numpy as np

from fedsim.config import MaliciousConfig, SimulationConfig

from fedsim_app.base.live.model import ClientOutcome

#: A student's attack choice → the engine's attack with the strength a class can see in a few
#: rounds of ten to sixty digits clients (poisoning.py describes each attack).
ATTACKS: Mapping[str, dict] = {
    "scale": {"attack": "scale", "factor": 10.0},          # Δ ← 10·Δ
    "sign_flip": {"attack": "sign_flip", "factor": 5.0},   # Δ ← −5·Δ
    "label_flip": {"attack": "label_flip", "source_label": 1, "target_label": 7},
    "backdoor": {"attack": "backdoor", "target_label": 0, "factor": 3.0},
}


def plan_of(choices: Mapping[int, str], num_clients: int, data: tuple = ()):
    """The engine's round plan for client → choice (unknown clients ignored); ``data``: the
    clients that train on rows of their own (``(client, x, y)``)."""
    from fedsim.engine.round import RoundPlan

    drop = tuple(sorted(c for c, a in choices.items() if a == "drop" and 0 <= c < num_clients))
    groups = []
    for action, settings in ATTACKS.items():
        ids = tuple(sorted(c for c, a in choices.items() if a == action and 0 <= c < num_clients))
        if ids:
            groups.append(MaliciousConfig(ids=ids, **settings))
    return RoundPlan(drop=drop, attacks=tuple(groups), data=tuple(data))


def federation_config(cfg: SimulationConfig, clients: int) -> SimulationConfig:
    """The teacher's configuration with one client slot per student (every client takes part
    in every round: a student whose client sits out would have nothing to watch)."""
    d = cfg.to_dict()
    d["clients"] = {**d["clients"], "num_clients": int(clients), "fraction": 1.0,
                    "malicious": {}}
    d["rounds"] = max(int(d.get("rounds", 1)), 200)
    return SimulationConfig.from_dict(d)


class LiveFederation:
    """The teacher's simulation for one live class (built on first use, stepped one round at
    a time under its own lock, so two teacher clicks never interleave)."""

    def __init__(self, cfg: SimulationConfig):
        self.config = cfg
        self.lock = threading.Lock()
        self._sim = None

    @property
    def sim(self):
        if self._sim is None:
            from fedsim.engine.simulation import Simulation

            self._sim = Simulation(self.config)
        return self._sim

    def initial_metric(self) -> float:
        from fedsim.engine.results import metric_key

        sim = self.sim
        return float(sim.initial_metrics[metric_key(sim.fed.data.task)])

    def label_counts(self) -> np.ndarray:
        return np.asarray(self.sim.fed.label_counts())

    def features(self, pixels: np.ndarray) -> np.ndarray:
        """8×8 counts → the model's input (standardized like the data set's rows)."""
        from fedsim.tools.inversion import to_features

        data = self.sim.fed.data
        flat = np.asarray(pixels, np.float64).reshape(len(pixels), -1)
        return to_features(flat, data.feature_mean, data.feature_std).astype(np.float32)

    def step(self, choices: Mapping[int, str], drawings: Mapping[int, dict] | None = None
             ) -> tuple[dict, dict[int, ClientOutcome]]:
        """Run one round with the students' choices (and the clients that train on their
        students' drawings); the server's view of it and each client's outcome."""
        with self.lock:
            sim = self.sim
            n = sim.config.clients.num_clients
            drawings = {c: d for c, d in (drawings or {}).items() if 0 <= c < n
                        and choices.get(c) != "drop"} if self.drawable else {}
            data = tuple((c, self.features(d["pixels"]), d["labels"])
                         for c, d in sorted(drawings.items()))
            plan = plan_of(choices, n, data)
            result = sim.step_round(plan)
            server = self._server_view(sim, result, plan)
            server["reconstructions"] = [self._reconstruct(sim, result, c, d)
                                         for c, d in sorted(drawings.items()) if d["consent"]]
            return server, self._outcomes(sim, result, choices)

    @property
    def drawable(self) -> bool:
        """Drawings need the 8×8 digits (the data set students draw like)."""
        return self.config.dataset.name == "digits"

    def _reconstruct(self, sim, result, client: int, drawing: dict) -> dict:
        """What the server makes of this client's update with the analytic inversion (Phong et
        al. 2018; exact for one example through a first dense layer): from the update *as
        the server receives it* -- in the clear, clipped and noised by local DP, or hidden
        by secure aggregation / encryption (then there is nothing of this client alone)."""
        from fedsim.tools.inversion import invert_analytic, psnr, to_pixels

        truth = np.asarray(drawing["pixels"][-1], np.float64)
        out = {"client": client, "drawn": truth.astype(int).tolist(), "pixels": None,
               "psnr": None, "how": "clear", "examples": int(len(drawing["pixels"]))}
        if sim.pipeline.hider is not None:
            out["how"] = "hidden"
            return out
        last = sim.last
        ids = list(last.protected.client_ids) if last.protected is not None else []
        if client not in ids or client in result.dropped:
            out["how"] = "absent"
            return out
        if sim.config.privacy.dp.mode == "local":
            out["how"] = "noised"
        update = sim._unflat(np.asarray(last.protected.deltas[ids.index(client)]))
        try:
            x = invert_analytic(update).x
        except ValueError:
            out["how"] = "no_dense"
            return out
        data = sim.fed.data
        rec = np.clip(to_pixels(x, data.feature_mean, data.feature_std), 0, 16).reshape(8, 8)
        out["pixels"] = np.round(rec, 2).tolist()
        out["psnr"] = float(psnr(rec, truth))
        return out

    @staticmethod
    def _server_view(sim, result, plan) -> dict:
        from fedsim.engine.results import metric_key

        key = metric_key(sim.fed.data.task)
        table = result.client_table
        hidden = sim.pipeline.hider is not None
        agg = result.phase("update").measurements
        return {"round": result.round, "metric": float(result.global_metrics[key]),
                "metric_key": key, "loss": float(result.global_metrics["loss"]),
                "sampled": len(result.sampled), "arrived": len(result.sampled)
                - len(result.dropped), "dropped": list(result.dropped),
                "rejected": list(result.rejected), "aborted": result.aborted or None,
                # the server sees each update's length only when updates are not hidden
                "norms": None if hidden else [round(float(v), 4) for v in table.update_norm],
                "ids": [int(i) for i in table.ids],
                "aggregate_norm": float(agg.get("aggregate_norm", 0.0)),
                "bytes_up": int(result.bytes_up), "hidden": hidden,
                "attackers": len(plan.attackers)}

    @staticmethod
    def _outcomes(sim, result, choices) -> dict[int, ClientOutcome]:
        table = result.client_table
        bound = sim.config.aggregation.norm_bound
        last = sim.last
        delta = None if last is None or last.aggregate is None else np.asarray(last.aggregate)
        dn = float(np.linalg.norm(delta)) if delta is not None else 0.0
        rejected = set(result.rejected)
        out = {}
        for row, cid in enumerate(table.ids):
            cid = int(cid)
            dropped = bool(table.dropped[row])
            norm = float(table.update_norm[row])
            loss = table.train_loss[row]
            toward = None
            if not dropped and delta is not None and dn > 0 and last is not None:
                u = np.asarray(last.raw_updates[row])
                un = float(np.linalg.norm(u))
                toward = float(u @ delta / (un * dn)) if un > 0 else None
            out[cid] = ClientOutcome(
                round=result.round, client=cid, action=choices.get(cid, "honest"), sampled=True,
                dropped=dropped, rejected=cid in rejected,
                clipped=bool(bound is not None and norm > bound and not dropped),
                train_loss=float(loss[-1]) if len(loss) else None,
                update_norm=None if dropped else norm, toward=toward)
        return out
