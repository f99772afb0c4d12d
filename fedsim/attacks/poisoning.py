"""Malicious clients: what a poisoning client does to the update it sends (integrity attacks).

The honest trainer runs first; then each malicious client, from ``start_round`` on, replaces
its update. Kept out of the simulation so that new attacks are added here, in one table:

- ``scale`` — model replacement by boosting (Bagdasaryan et al., AISTATS 2020, "How To
  Backdoor Federated Learning"): Δ ← factor·Δ;
- ``random`` — a random direction with factor × the honest norm (a noise attack).

Every random draw comes from the stream ``("attack", round, client)``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..rng import generator


def _scale(raw: np.ndarray, factor: float, seed: int, rnd: int, cid: int) -> np.ndarray:
    return raw * factor


def _random(raw: np.ndarray, factor: float, seed: int, rnd: int, cid: int) -> np.ndarray:
    g = generator(seed, "attack", rnd, int(cid))
    norm = np.linalg.norm(raw)
    return g.normal(size=raw.shape[0]) * abs(factor) * norm / np.sqrt(raw.shape[0])


#: attack name → f(honest update [P], factor, seed, round, client) → sent update [P]
UPDATE_ATTACKS: dict[str, Callable[..., np.ndarray]] = {"scale": _scale, "random": _random}


def tamper_updates(raw: np.ndarray, ids, malicious, seed: int, rnd: int
                   ) -> tuple[np.ndarray, tuple[int, ...]]:
    """Apply ``malicious`` (a :class:`~fedsim.config.MaliciousConfig`) to the rows of ``raw``
    whose client is malicious. Returns the updates and the ids that attacked this round."""
    bad = set(malicious.ids)
    start = getattr(malicious, "start_round", 1)
    if not bad or rnd < start:
        return raw, ()
    attack = UPDATE_ATTACKS[malicious.attack]
    out = raw.copy()
    who = []
    for row, cid in enumerate(ids):
        if int(cid) in bad:
            out[row] = attack(raw[row], malicious.factor, seed, rnd, int(cid))
            who.append(int(cid))
    return out, tuple(who)
