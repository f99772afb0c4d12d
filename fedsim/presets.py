"""Named scenarios that load a whole configuration in one click (app) or ``--preset`` (CLI).

Each preset is a partial configuration dict; omitted keys take the defaults. Titles and blurbs
are plain strings kept here, in one place, so a translation can follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    blurb: str
    config: dict[str, Any]

    def build(self) -> SimulationConfig:
        return SimulationConfig.from_dict(self.config)


_PRESETS = [
    Preset("iid", "IID baseline",
           "10 clients, each with a random slice of the digits: federated averaging works "
           "almost as well as training on pooled data.",
           {"rounds": 20, "partition": {"name": "iid"}}),
    Preset("label-skew", "Label skew, alpha = 0.1",
           "Each client sees mostly one or two digits (Dirichlet alpha = 0.1). Local models "
           "drift apart; with several local epochs the global model lags behind IID.",
           {"rounds": 20, "partition": {"name": "dirichlet", "alpha": 0.1},
            "training": {"local_epochs": 3}}),
    Preset("pathological", "Two digits per client",
           "McMahan et al.'s pathological split: every client holds exactly two classes.",
           {"rounds": 20, "partition": {"name": "pathological", "classes_per_client": 2},
            "training": {"local_epochs": 3}}),
    Preset("quantity-skew", "Quantity skew",
           "Labels are IID but client sizes follow a lognormal: weighted FedAvg listens more "
           "to big clients.",
           {"rounds": 20, "partition": {"name": "quantity", "sigma": 1.5}}),
    Preset("dropouts", "A few clients drop out",
           "20 clients, half sampled each round, and each sampled client fails to return its "
           "update with probability 0.3.",
           {"rounds": 30, "clients": {"num_clients": 20, "fraction": 0.5, "dropout": 0.3}}),
    Preset("fedprox", "FedProx on skewed data",
           "Label skew with 5 local epochs and a proximal term (mu = 0.1) that keeps clients "
           "close to the global model.",
           {"rounds": 20, "partition": {"name": "dirichlet", "alpha": 0.1},
            "training": {"local_epochs": 5, "prox_mu": 0.1}}),
    Preset("article-regression", "The article's regression example",
           "100 numeric features, one target, Dense(10, relu) -> Dense(1) trained with MSE, as "
           "in the article's code.",
           {"rounds": 30, "dataset": {"name": "seed_regression", "num_samples": 2000},
            "model": {"name": "seed_mlp"}, "training": {"lr": 0.02}}),
    Preset("2d-moons", "2-D moons, label skew",
           "Two interleaved half-moons split with label skew: watch each client's decision "
           "boundary and the global one.",
           {"rounds": 30, "dataset": {"name": "2d", "shape": "moons", "num_samples": 600},
            "clients": {"num_clients": 6}, "partition": {"name": "dirichlet", "alpha": 0.3},
            "model": {"name": "mlp", "hidden": 16}, "training": {"lr": 0.1, "local_epochs": 2}}),
    Preset("penguins-islands", "Real data is non-IID by nature",
           "Palmer penguins measured on three islands, one client per island: nobody drew a "
           "Dirichlet here. Torgersen only has Adelie penguins, so its local model knows one "
           "species; the global model learns all three.",
           {"rounds": 20, "dataset": {"name": "penguins"}, "clients": {"num_clients": 3},
            "partition": {"name": "natural"}, "model": {"name": "mlp", "hidden": 16},
            "training": {"lr": 0.05, "local_epochs": 5}}),
    Preset("central-dp", "Central differential privacy",
           "DP-FedAvg: 100 clients, 20% sampled (Poisson), updates clipped to 1.0 and noised "
           "with z = 1. Watch epsilon grow round by round.",
           {"rounds": 30, "clients": {"num_clients": 100, "fraction": 0.2},
            "training": {"local_epochs": 2, "lr": 0.1},
            "privacy": {"dp": {"mode": "central", "clip": 1.0, "noise_multiplier": 1.0}}}),
    Preset("secure-aggregation", "Secure aggregation with dropouts",
           "Clients mask their updates so the server learns only the sum; two of ten drop "
           "out on average and are recovered from the survivors' secret shares.",
           {"rounds": 10, "clients": {"dropout": 0.2},
            "privacy": {"secure_aggregation": {"enabled": True, "threshold": 0.6}}}),
    Preset("malicious-zkp", "A malicious client vs. range proofs",
           "Client 3 sends its update scaled by -10, pushing the model the wrong way. With "
           "zero-knowledge range proofs on, the server rejects it; turn proofs off to see the "
           "harm.",
           {"rounds": 15, "clients": {"malicious": {"ids": [3], "attack": "scale",
                                                    "factor": -10.0}},
            "privacy": {"zkp": {"enabled": True, "bound": 0.05, "coordinates": 16}}}),
]

PRESETS: dict[str, Preset] = {p.name: p for p in _PRESETS}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError("--preset", name, "one of " + ", ".join(PRESETS))
    return PRESETS[name]
