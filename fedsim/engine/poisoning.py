"""Malicious clients: integrity attacks on federated learning (poisoning and backdoors).

A malicious client (``clients.malicious.ids``), from round ``start_round`` on, attacks in one
or both of two places, each a table here so a new attack is one entry:

**Its training data** (:data:`DATA_ATTACKS`, applied by :func:`poison_client_data` before
local training, in the ``train`` phase):

- ``label_flip`` — every example of class ``source_label`` is relabelled ``target_label``
  (Tolpegin et al., ESORICS 2020, "Data Poisoning Attacks Against Federated Learning
  Systems"); the update is sent as trained (``factor`` is not used);
- ``backdoor`` — a pixel-pattern trigger (:data:`TRIGGER_PIXELS`, the bottom-right 2×2
  corner of a digit set to full ink, 16) is stamped on ``poison_fraction`` of the client's
  examples, which are relabelled ``target_label`` (Bagdasaryan et al., AISTATS 2020, "How To
  Backdoor Federated Learning": the client trains on a mix of clean and backdoored inputs so
  the main task stays accurate). The update is then boosted by ``factor`` (their *model
  replacement*; ``1.0`` is a plain backdoor).

**Its update** (:data:`UPDATE_ATTACKS`, applied by :func:`tamper_updates` after training):

- ``scale`` — model replacement by boosting: Δ ← factor·Δ;
- ``random`` — a random direction with factor × the honest norm (a noise attack);
- ``sign_flip`` — Δ ← −factor·Δ (Damaskinos et al. 2018; Li et al. 2019 "RSA");
- ``gaussian`` — Δ + N(0, σ²I) with σ = factor·‖Δ‖/√P, i.e. noise of factor × the honest
  norm added to the honest update (Fang et al., USENIX Security 2020's Gaussian attack).
- ``backdoor`` — the boosting above.

**Attack success** (:func:`attack_success`, computed in the ``evaluate`` phase on the server's
test set): for ``backdoor`` the share of triggered test inputs whose true label is not the
target that the global model classifies as ``target_label``; for ``label_flip`` the share of
``source_label`` test inputs classified as ``target_label``. The untargeted attacks have none
(their effect is the clean accuracy).

Every random draw comes from the stream ``("attack", round, client)`` (update attacks) or
``("attack", "backdoor", round, client)`` (which examples get the trigger).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fedsim.rng import generator

#: (row, column) of the 8×8 digit pixels the backdoor trigger sets to :data:`TRIGGER_VALUE`.
TRIGGER_PIXELS = ((6, 6), (6, 7), (7, 6), (7, 7))
TRIGGER_VALUE = 16.0  # full ink on digits' 0–16 scale
#: Attacks that change the malicious clients' training data and have an attack success rate.
TARGETED_ATTACKS = ("label_flip", "backdoor")


# --------------------------------------------------------------------------- update attacks
def _scale(raw: np.ndarray, factor: float, seed: int, rnd: int, cid: int) -> np.ndarray:
    return raw * factor


def _random(raw: np.ndarray, factor: float, seed: int, rnd: int, cid: int) -> np.ndarray:
    g = generator(seed, "attack", rnd, int(cid))
    norm = np.linalg.norm(raw)
    return g.normal(size=raw.shape[0]) * abs(factor) * norm / np.sqrt(raw.shape[0])


def _sign_flip(raw: np.ndarray, factor: float, seed: int, rnd: int, cid: int) -> np.ndarray:
    return -abs(factor) * raw


def _gaussian(raw: np.ndarray, factor: float, seed: int, rnd: int, cid: int) -> np.ndarray:
    g = generator(seed, "attack", rnd, int(cid))
    sigma = abs(factor) * np.linalg.norm(raw) / np.sqrt(raw.shape[0])
    return raw + g.normal(size=raw.shape[0]) * sigma


def _plain(raw: np.ndarray, factor: float, seed: int, rnd: int, cid: int) -> np.ndarray:
    return raw


#: attack name → f(honest update [P], factor, seed, round, client) → sent update [P]
UPDATE_ATTACKS: dict[str, Callable[..., np.ndarray]] = {
    "scale": _scale, "random": _random, "sign_flip": _sign_flip, "gaussian": _gaussian,
    "label_flip": _plain, "backdoor": _scale}


def active(malicious, rnd: int) -> frozenset[int]:
    """The malicious client ids that attack in round ``rnd`` (none before ``start_round``)."""
    if not malicious.ids or rnd < getattr(malicious, "start_round", 1):
        return frozenset()
    return frozenset(int(c) for c in malicious.ids)


def tamper_updates(raw: np.ndarray, ids, malicious, seed: int, rnd: int
                   ) -> tuple[np.ndarray, tuple[int, ...]]:
    """Apply ``malicious`` (a :class:`~fedsim.config.MaliciousConfig`) to the rows of ``raw``
    whose client is malicious. Returns the updates and the ids that attacked this round."""
    bad = active(malicious, rnd)
    if not bad:
        return raw, ()
    attack = UPDATE_ATTACKS[malicious.attack]
    out = raw.copy()
    who = []
    for row, cid in enumerate(ids):
        if int(cid) in bad:
            out[row] = attack(raw[row], malicious.factor, seed, rnd, int(cid))
            who.append(int(cid))
    return out, tuple(who)


# --------------------------------------------------------------------------- data attacks
def trigger_features(feature_mean: np.ndarray | None, feature_std: np.ndarray | None,
                     num_features: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(feature indices, standardized values) of the trigger: the pixels of
    :data:`TRIGGER_PIXELS` at :data:`TRIGGER_VALUE`, as the model sees them."""
    idx = np.array([r * 8 + c for r, c in TRIGGER_PIXELS], int)
    mean = np.zeros(num_features) if feature_mean is None else np.asarray(feature_mean)
    std = np.ones(num_features) if feature_std is None else np.asarray(feature_std)
    return idx, ((TRIGGER_VALUE - mean[idx]) / std[idx]).astype(np.float32)


def add_trigger(x: np.ndarray, dataset) -> np.ndarray:
    """A copy of standardized inputs ``x [..., d]`` with the backdoor trigger stamped on."""
    idx, val = trigger_features(dataset.feature_mean, dataset.feature_std, x.shape[-1])
    out = np.array(x, np.float32, copy=True)
    out[..., idx] = val
    return out


def _label_flip(x, y, n, malicious, dataset, g):
    y = y.copy()
    hit = (y[:n] == malicious.source_label)
    y[:n][hit] = malicious.target_label
    return x, y, int(hit.sum())


def _backdoor(x, y, n, malicious, dataset, g):
    k = int(round(malicious.poison_fraction * n))
    if k == 0:
        return x, y, 0
    rows = np.sort(g.choice(n, size=k, replace=False))
    x, y = x.copy(), y.copy()
    x[rows] = add_trigger(x[rows], dataset)
    y[rows] = malicious.target_label
    return x, y, k


#: attack name → f(x [N, d], y [N], real rows n, malicious, dataset, rng) → (x, y, poisoned)
DATA_ATTACKS: dict[str, Callable[..., tuple]] = {"label_flip": _label_flip,
                                                 "backdoor": _backdoor}


def poison_client_data(data, ids, malicious, dataset, seed: int, rnd: int
                       ) -> tuple[Any, dict[int, int]]:
    """The sampled clients' training data (a :class:`~fedsim.training.batching.ClientData` for clients
    ``ids``) with the malicious clients' rows poisoned by a :data:`DATA_ATTACKS` attack.
    Returns the data (the same object when nothing changes) and ``{client: rows poisoned}``.
    Validation rows are left clean: a client reporting its own validation accuracy is honest
    about it (the server cannot check it anyway)."""
    attack = DATA_ATTACKS.get(malicious.attack)
    bad = active(malicious, rnd)
    if attack is None or not bad or not any(int(c) in bad for c in ids):
        return data, {}
    from dataclasses import replace

    x, y = np.array(data.x, copy=True), np.array(data.y, copy=True)
    poisoned = {}
    for row, cid in enumerate(ids):
        if int(cid) not in bad:
            continue
        n = int(data.counts[row])
        g = generator(seed, "attack", malicious.attack, rnd, int(cid))
        x[row], y[row], poisoned[int(cid)] = attack(x[row], y[row], n, malicious, dataset, g)
    return replace(data, x=x, y=y), poisoned


# --------------------------------------------------------------------------- success rate
def attack_test_set(malicious, dataset) -> tuple[np.ndarray, np.ndarray] | None:
    """(inputs, the labels the attacker wants) on which :func:`attack_success` is measured,
    or ``None`` when the attack has no target (or the test set has no such inputs)."""
    if malicious.attack not in TARGETED_ATTACKS or not malicious.ids:
        return None
    x, y = dataset.x_test, dataset.y_test
    if malicious.attack == "backdoor":
        keep = y != malicious.target_label
        xs = add_trigger(x[keep], dataset)
    else:
        keep = y == malicious.source_label
        xs = np.asarray(x[keep], np.float32)
    if not keep.any():
        return None
    return xs, np.full(int(keep.sum()), malicious.target_label, dtype=y.dtype)


def attack_success(trainer, weights, malicious, dataset) -> float | None:
    """The share of :func:`attack_test_set` the model ``weights`` (its tensors or its flat
    vector) sends to the target label (its accuracy against the attacker's labels); ``None``
    without a targeted attack."""
    ts = attack_test_set(malicious, dataset)
    if ts is None:
        return None
    _, hit = trainer.evaluate(weights, *ts)
    return float(hit)
