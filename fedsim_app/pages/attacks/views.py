"""What the Attacks & defences page shows, computed from real engine runs (no Streamlit
widgets here; the page passes in how runs are shared: :mod:`fedsim_app.base.runs`)."""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np

from fedsim.config import SimulationConfig

from fedsim_app.base.params import with_changes

#: The malicious client and the attacks offered (config of ``clients.malicious``).
MALICIOUS_ID = 3
ATTACKS: dict[str, dict] = {
    "backdoor": {"attack": "backdoor", "factor": 10.0, "target_label": 0},
    "label_flip": {"attack": "label_flip", "source_label": 7, "target_label": 1},
    "scale": {"attack": "scale", "factor": 10.0},
    "sign_flip": {"attack": "sign_flip", "factor": 1.0},
}
#: Defences: the configuration changes of each, as dotted paths (the app's one patch dialect,
#: :func:`fedsim_app.base.params.with_changes`).
DEFENCES: dict[str, dict] = {
    "none": {},
    "norm_bound": {"aggregation.norm_bound": 0.5},
    "median": {"aggregation.name": "median"},
    "trimmed_mean": {"aggregation.name": "trimmed_mean", "aggregation.trim_fraction": 0.2},
    "krum": {"aggregation.name": "krum", "aggregation.krum_byzantine": 1,
             "aggregation.krum_select": 1},
    "l2_proof": {"privacy.zkp.enabled": True, "privacy.zkp.norm": "l2",
                 "privacy.zkp.bound": 0.1, "privacy.zkp.layer": 3},
    # Not a defence against poisoning (lesson 6 asks whether it is one): it hides each update
    # from the server, so the server cannot even look for the attacker.
    "secagg": {"privacy.secure_aggregation.enabled": True},
}
#: The defences the attack × defence matrix runs (secure aggregation aside: it defends
#: nothing, and the single run shows that).
MATRIX_DEFENCES: tuple[str, ...] = tuple(d for d in DEFENCES if d != "secagg")
ROBUST_AGGREGATORS = ("median", "trimmed_mean", "krum")
#: An attack's factor matters for these (the backdoor boosts its update by it).
FACTOR_ATTACKS = ("scale", "sign_flip", "backdoor")


# ------------------------------------------------------------------ the shared configuration
# The page's scenario choices read and write the session's one configuration
# (fedsim_app.base.state) as dotted-path changes: what the page shows is what a lesson step,
# a share link or another page set.


def attack_of(cfg: SimulationConfig) -> str:
    """The attack ``cfg`` runs ("none" without a malicious client)."""
    mal = cfg.clients.malicious
    return mal.attack if mal.ids else "none"


def attack_changes(attack: str, cfg: SimulationConfig) -> dict[str, Any]:
    """Dotted-path changes that make ``cfg`` run ``attack`` (the malicious clients kept, else
    client 3, or the last client of a smaller federation)."""
    if attack == "none":
        return {"clients.malicious.ids": ()}
    ids = tuple(cfg.clients.malicious.ids) or (min(MALICIOUS_ID,
                                                    cfg.clients.num_clients - 1),)
    return {"clients.malicious.ids": ids,
            **{f"clients.malicious.{k}": v for k, v in ATTACKS[attack].items()}}


def defences_on(cfg: SimulationConfig) -> list[str]:
    """Every defence of :data:`DEFENCES` that ``cfg`` has on (most specific first)."""
    on = []
    zkp = cfg.privacy.zkp
    if zkp.enabled and zkp.norm == "l2":
        on.append("l2_proof")
    if cfg.aggregation.name in ROBUST_AGGREGATORS:
        on.append(cfg.aggregation.name)
    if cfg.aggregation.norm_bound is not None:
        on.append("norm_bound")
    if cfg.privacy.secure_aggregation.enabled:
        on.append("secagg")
    return on


def defence_of(cfg: SimulationConfig) -> str:
    """The defence the page's selector shows for ``cfg`` (the first of :func:`defences_on`)."""
    on = defences_on(cfg)
    return on[0] if on else "none"


def defence_changes(defence: str, cfg: SimulationConfig) -> dict[str, Any]:
    """Dotted-path changes that make ``defence`` the only defence of ``cfg``."""
    off: dict[str, Any] = {"aggregation.norm_bound": None, "privacy.zkp.enabled": False,
                           "privacy.secure_aggregation.enabled": False}
    if cfg.aggregation.name in ROBUST_AGGREGATORS:
        off["aggregation.name"] = "fedavg"
    return {**off, **DEFENCES[defence]}


def scenario(attack: str, defence: str, rounds: int = 10, seed: int = 0) -> SimulationConfig:
    """Digits, 10 IID clients, client 3 malicious with ``attack``, under ``defence``."""
    attacker = {"clients.malicious.ids": (MALICIOUS_ID,),
                **{f"clients.malicious.{k}": v for k, v in ATTACKS[attack].items()}}
    return with_changes(SimulationConfig(seed=seed, rounds=rounds),
                        {"clients.num_clients": 10, **attacker, **DEFENCES[defence]})


def curves(history) -> dict:
    """Per round: clean accuracy, attack success (None if none), attacker active, rejected."""
    return {"rounds": [r.round for r in history],
            "acc": [r.global_metrics.get("accuracy", np.nan) for r in history],
            "asr": [r.global_metrics.get("attack_success") for r in history],
            "attacked": [bool(r.phase("train").measurements.attacked) for r in history],
            "rejected": [list(r.rejected) for r in history]}


def run_summary(cfg: SimulationConfig, progress: Callable[[int], None] | None = None) -> dict:
    """Run ``cfg`` to the end (:func:`fedsim.engine.runner.run`); its curves."""
    from fedsim.engine.runner import run

    return curves(run(cfg, progress).history)


def matrix(rounds: int, summary: Callable, progress: Callable[[float], None] | None = None,
           attacks=tuple(ATTACKS), defences=MATRIX_DEFENCES, seed: int = 0) -> dict:
    """Final clean accuracy and attack success of every attack × defence (NaN: none);
    ``summary(cfg)`` gives a run's :class:`~fedsim.engine.runner.RunSummary`."""
    acc = np.full((len(attacks), len(defences)), np.nan)
    asr = acc.copy()
    total = len(attacks) * len(defences)
    for i, a in enumerate(attacks):
        for j, d in enumerate(defences):
            cfg = scenario(a, d, rounds, seed)
            res = curves(summary(cfg).history)
            acc[i, j] = res["acc"][-1]
            asr[i, j] = np.nan if res["asr"][-1] is None else res["asr"][-1]
            if progress:
                progress((i * len(defences) + j + 1) / total)
    return {"attacks": list(attacks), "defences": list(defences), "acc": acc, "asr": asr}


def inversion_config(batch: int, steps: int, noise: float, secagg: bool,
                     seed: int = 0) -> SimulationConfig:
    priv: dict[str, Any] = {}
    if noise > 0:
        priv["dp"] = {"mode": "local", "clip": 0.5, "noise_multiplier": noise}
    if secagg:
        priv["secure_aggregation"] = {"enabled": True}
    return SimulationConfig.from_dict({"seed": seed, "training": {"lr": 0.1},
                                       "privacy": priv})


def inversion(batch: int, steps: int, noise: float, secagg: bool, method: str,
              cached: Callable) -> dict:
    """The server's reconstruction of client 0 (cached per setting)."""
    from fedsim.tools.reconstruct import reconstruct

    cfg = inversion_config(batch, steps, noise, secagg)
    key = "inversion:" + json.dumps([cfg.to_json(None), batch, steps, method])
    return cached(key, lambda p: reconstruct(cfg, 0, method, batch, steps,
                                                 iterations=300, restarts=1))


def epsilon_of(noise: float, delta: float = 1e-5) -> float:
    """ε of one Gaussian release with noise multiplier ``noise`` (RDP accountant)."""
    from fedsim.privacy.accountant import rdp_epsilon

    return float(rdp_epsilon(noise, 1.0, 1, delta))


NOISES = (0.01, 0.03, 0.1, 0.3, 1.0)


def epsilon_curve(method: str, cached: Callable,
                  progress: Callable[[float], None] | None = None) -> dict:
    """Reconstruction PSNR of client 0's digit (batch 1, 1 step) against ε, from real runs."""
    eps, ps, guess = [], [], float("nan")
    for i, z in enumerate(NOISES):
        res = inversion(1, 1, z, False, method, cached)
        eps.append(epsilon_of(z))
        ps.append(res["psnr"])
        guess = res["baseline_psnr"].get("mean", guess)
        if progress:
            progress((i + 1) / len(NOISES))
    return {"eps": eps, "psnr": ps, "guess": guess}
