"""What the Attacks & defences page shows, computed from real engine runs (no Streamlit
widgets here; whole runs are cached per configuration with ``state.cached_run``)."""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np

from fedsim.config import SimulationConfig

#: The malicious client and the attacks offered (config of ``clients.malicious``).
MALICIOUS_ID = 3
ATTACKS: dict[str, dict] = {
    "backdoor": {"attack": "backdoor", "factor": 10.0, "target_label": 0},
    "label_flip": {"attack": "label_flip", "source_label": 7, "target_label": 1},
    "scale": {"attack": "scale", "factor": 10.0},
    "sign_flip": {"attack": "sign_flip", "factor": 1.0},
}
#: Defences: a patch of the configuration each.
DEFENCES: dict[str, dict] = {
    "none": {},
    "norm_bound": {"aggregation": {"norm_bound": 0.5}},
    "median": {"aggregation": {"name": "median"}},
    "trimmed_mean": {"aggregation": {"name": "trimmed_mean", "trim_fraction": 0.2}},
    "krum": {"aggregation": {"name": "krum", "krum_byzantine": 1, "krum_select": 1}},
    "l2_proof": {"privacy": {"zkp": {"enabled": True, "norm": "l2", "bound": 0.1, "layer": 3}}},
}


def _merge(base: dict, patch: dict) -> dict:
    out = dict(base)
    for k, v in patch.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def scenario(attack: str, defence: str, rounds: int = 10, seed: int = 0) -> SimulationConfig:
    """Digits, 10 IID clients, client 3 malicious with ``attack``, under ``defence``."""
    d = {"seed": seed, "rounds": rounds, "clients": {"num_clients": 10, "malicious": {
        "ids": [MALICIOUS_ID], **ATTACKS[attack]}}}
    return SimulationConfig.from_dict(_merge(d, DEFENCES[defence]))


def curves(history) -> dict:
    """Per round: clean accuracy, attack success (None if none), attacker active, rejected."""
    return {"rounds": [r.round for r in history],
            "acc": [r.global_metrics.get("accuracy", np.nan) for r in history],
            "asr": [r.global_metrics.get("attack_success") for r in history],
            "attacked": [bool(r.phase("train").measurements.attacked) for r in history],
            "rejected": [list(r.rejected) for r in history]}


def run_summary(cfg: SimulationConfig, progress: Callable[[int], None] | None = None) -> dict:
    """Run ``cfg`` to the end; its curves (what the matrix keeps)."""
    from fedsim import Simulation

    sim = Simulation(cfg)
    sim.run(progress=(lambda r: progress(r.round)) if progress else None)
    return curves(sim.history)


def matrix(rounds: int, cached_run: Callable, progress: Callable[[float], None] | None = None,
           attacks=tuple(ATTACKS), defences=tuple(DEFENCES)) -> dict:
    """Final clean accuracy and attack success of every attack × defence (NaN: none)."""
    acc = np.full((len(attacks), len(defences)), np.nan)
    asr = acc.copy()
    total = len(attacks) * len(defences)
    for i, a in enumerate(attacks):
        for j, d in enumerate(defences):
            cfg = scenario(a, d, rounds)
            res = cached_run("attacks:" + cfg.to_json(None), lambda p, c=cfg: run_summary(c))
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
              cached_run: Callable) -> dict:
    """The server's reconstruction of client 0 (cached per setting)."""
    from fedsim.tools.reconstruct import reconstruct

    cfg = inversion_config(batch, steps, noise, secagg)
    key = "inversion:" + json.dumps([cfg.to_json(None), batch, steps, method])
    return cached_run(key, lambda p: reconstruct(cfg, 0, method, batch, steps,
                                                 iterations=300, restarts=1))


def epsilon_of(noise: float, delta: float = 1e-5) -> float:
    """ε of one Gaussian release with noise multiplier ``noise`` (RDP accountant)."""
    from fedsim.privacy.accountant import rdp_epsilon

    return float(rdp_epsilon(noise, 1.0, 1, delta))


NOISES = (0.01, 0.03, 0.1, 0.3, 1.0)


def epsilon_curve(method: str, cached_run: Callable,
                  progress: Callable[[float], None] | None = None) -> dict:
    """Reconstruction PSNR of client 0's digit (batch 1, 1 step) against ε, from real runs."""
    eps, ps, guess = [], [], float("nan")
    for i, z in enumerate(NOISES):
        res = inversion(1, 1, z, False, method, cached_run)
        eps.append(epsilon_of(z))
        ps.append(res["psnr"])
        guess = res["baseline_psnr"].get("mean", guess)
        if progress:
            progress((i + 1) / len(NOISES))
    return {"eps": eps, "psnr": ps, "guess": guess}
