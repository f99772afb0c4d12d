"""Engine results → the numbers the Privacy page shows (pure; no Streamlit, no TensorFlow).

Everything here reads what the engine recorded: ``RoundResult.privacy`` (ε per round),
``ClientRecord.extra`` (``pre_clip_norm``, ``clipped``, ``noise_norm``) and the phase trace
(``protect``/``update`` measurements under ``"dp"``). Nothing is recomputed or estimated, so
the page shows the engine's numbers. :func:`run_to_end` is the one function that runs the
engine (TensorFlow is imported lazily there, as in the Compare page's ``run_variant``). The
views the Training page shares (ε formatting, ε per round, clip bounds) are in
:mod:`fedsim_app.base.views`.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Sequence

import numpy as np

from fedsim.config import SimulationConfig
from fedsim.engine.results import RoundResult
from fedsim.engine.runner import RunSummary

from fedsim_app.base.views import dp_measurements, fmt_eps
from fedsim_app.i18n import t

#: Hand-picked, non-linear steps for the sliders (TF Playground / Transformer Explainer style).
EPS_STEPS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
Z_STEPS = (0.0, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0)
CLIP_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
QUANTILE_STEPS = (0.1, 0.25, 0.5, 0.75, 0.9)
DELTA_STEPS = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
#: Noise multipliers of the privacy–utility sweep.
SWEEP_Z = (0.3, 0.6, 1.0, 2.0, 4.0)
#: Above this ε the promise is weak (e^10 ≈ 22,000): the page says so.
WEAK_EPSILON = 10.0
#: Central DP divides the noise by the expected number of clients per round; below this many
#: the noise swamps the average.
FEW_CLIENTS = 10

_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# ------------------------------------------------------------------ formatting


def fmt_odds(e: float) -> str:
    """e^ε, the factor an attacker's odds may change by: '2.7', '2,981', '5.2e+13'."""
    e = float(e)
    if not math.isfinite(e) or e > 700:
        return "∞"
    x = math.exp(e)
    if x < 10:
        return f"{x:.1f}"
    if x < 1e6:
        return f"{x:,.0f}"
    return f"{x:.1e}"


def fmt_delta(d: float) -> str:
    """1e-05 → '10⁻⁵' (powers of ten), anything else in plain 'g' format."""
    d = float(d)
    k = round(math.log10(d)) if d > 0 else 0
    if d > 0 and math.isclose(d, 10.0 ** k, rel_tol=1e-9):
        return "10" + str(k).translate(_SUP)
    return f"{d:g}"


def nearest_step(value: float, steps: Sequence[float]) -> float:
    """The step closest to ``value`` on a log scale (∞ or NaN → the largest step)."""
    v = float(value)
    if v <= 0:
        return float(steps[0])
    if not math.isfinite(v):  # ∞ (no noise) or NaN
        return float(steps[-1])
    return float(min(steps, key=lambda s: abs(math.log(s) - math.log(v))))


# ------------------------------------------------------------------ history views


def clip_points(history: Sequence[RoundResult]) -> list[dict]:
    """One row per client and round that had its update clipped (or not): central and local.

    ``norm`` is the update's L2 norm *before* clipping (``pre_clip_norm``); ``clipped`` means
    it was scaled down to the bound.
    """
    rows = []
    for r in history:
        for c in r.clients:
            if "pre_clip_norm" not in c.extra:
                continue
            rows.append({"round": r.round, "client": c.id, "norm": float(c.extra["pre_clip_norm"]),
                         "clipped": bool(c.extra.get("clipped", False)), "dropped": c.dropped})
    return rows


def signal_noise(history: Sequence[RoundResult], mode: str) -> dict:
    """Per round, the size of the useful signal and of the added noise (L2 norms).

    central: ‖mean of the clipped updates‖ (``signal_norm``, before noise) and ‖noise/qN‖
    (``noise_norm``), both from the server's ``update`` measurements. local: the mean clipped
    update norm ``min(‖Δ‖, C)`` and the mean norm of the noise each client added. Rounds
    without measurements (nobody sampled, aborted) are skipped.
    """
    rounds, signal, noise = [], [], []
    for r in history:
        if mode == "central":
            upd = dp_measurements(r, "update")
            if "signal_norm" not in upd:
                continue
            rounds.append(r.round)
            signal.append(float(upd["signal_norm"]))
            noise.append(float(upd["noise_norm"]))
        elif mode == "local":
            clip = dp_measurements(r, "protect").get("clip")
            cs = [c for c in r.clients if "noise_norm" in c.extra]
            if clip is None or not cs:
                continue
            rounds.append(r.round)
            signal.append(float(np.mean([min(c.extra["pre_clip_norm"], clip) for c in cs])))
            noise.append(float(np.mean([c.extra["noise_norm"] for c in cs])))
    return {"round": rounds, "signal": signal, "noise": noise}


# ------------------------------------------------------------------ configuration views


def sampling_info(cfg: SimulationConfig) -> dict:
    """q, N and the expected clients per round q·N."""
    q, n = cfg.clients.fraction, cfg.clients.num_clients
    return {"q": q, "n": n, "expected": q * n}


def has_crypto(cfg: SimulationConfig) -> bool:
    """Secure aggregation, HE or ZKP on: every extra run is much slower."""
    p = cfg.privacy
    return bool(p.secure_aggregation.enabled or p.he.enabled or p.zkp.enabled)


def dpsgd_sample_rate(batch_size: int, smallest_client: int) -> float:
    return min(1.0, batch_size / max(smallest_client, 1))


def privacy_warnings(cfg: SimulationConfig, z: float, planned_final: float,
                     dpsgd_q: float | None = None) -> list[tuple[str, str]]:
    """Honest warnings for the current setup: ``[(st kind, text), ...]``, most serious first.

    - no noise at all (z = 0): ε = ∞, no promise;
    - central DP with q = 1: every client is in every round, so sampling hides nobody (no
      amplification) and ε grows fast;
    - central DP with few expected clients per round: the noise is divided by q·N only;
    - DP-SGD with batches as large as a client's data (q = 1 per step);
    - planned ε above :data:`WEAK_EPSILON`: a weak guarantee.
    """
    dp = cfg.privacy.dp
    out: list[tuple[str, str]] = []
    if not dp.enabled:
        return out
    s = sampling_info(cfg)
    if z <= 0 or not math.isfinite(planned_final):
        out.append(("error", t("priv.warn.no_noise")))
    if dp.mode == "central" and s["q"] >= 1:
        out.append(("warning", t("priv.warn.no_sampling", eps=fmt_eps(planned_final),
                                 rounds=cfg.rounds)))
    if dp.mode == "central" and s["expected"] < FEW_CLIENTS:
        out.append(("warning", t("priv.warn.few_clients", m=f"{s['expected']:g}",
                                 min=FEW_CLIENTS)))
    if dp.mode == "dpsgd" and dpsgd_q is not None and dpsgd_q >= 1:
        out.append(("warning", t("priv.warn.dpsgd_full_batch")))
    if math.isfinite(planned_final) and planned_final > WEAK_EPSILON:
        out.append(("warning", t("priv.warn.weak", eps=fmt_eps(planned_final),
                                 odds=fmt_odds(planned_final), limit=f"{WEAK_EPSILON:g}")))
    return out


# ------------------------------------------------------------------ variants and runs


def without_dp(cfg: SimulationConfig) -> SimulationConfig:
    """The same configuration (seed included) with differential privacy off (adaptive
    clipping, a central-DP option, goes off with it)."""
    dp = cfg.privacy.dp.replace(mode="off", adaptive_clip=False)
    return cfg.replace(privacy=cfg.privacy.replace(dp=dp))


def with_noise(cfg: SimulationConfig, z: float) -> SimulationConfig:
    """The same configuration with noise multiplier ``z`` (and no ε target).

    Raises :class:`~fedsim.errors.ConfigError` if ``z`` is not allowed with the rest (adaptive
    clipping needs z < expected clients per round / 10).
    """
    dp = cfg.privacy.dp.replace(noise_multiplier=float(z), target_epsilon=None)
    return cfg.replace(privacy=cfg.privacy.replace(dp=dp))


def sweep_key(cfg: SimulationConfig) -> str:
    """What a sweep depends on: the configuration minus the noise setting."""
    d = cfg.to_dict()
    d["privacy"]["dp"].update(noise_multiplier=None, target_epsilon=None)
    return json.dumps(d, sort_keys=True)


def end_view(run: RunSummary) -> dict:
    """The global curve (round 0 … R), the final test metric, its key, and the final ε
    (``None`` without DP) of a finished run."""
    curve = run.curve()
    return {"curve": curve, "key": run.metric_key, "final": curve["metric"][-1],
            "epsilon": run.epsilon}


def run_to_end(cfg: SimulationConfig, progress: Callable[[int], None] | None = None) -> dict:
    """Run ``cfg`` to its last round (:func:`fedsim.engine.runner.run`); its :func:`end_view`."""
    from fedsim.engine.runner import run

    return end_view(run(cfg, progress))


def sweep_point(z: float, result: dict) -> dict[str, Any]:
    return {"z": float(z), "epsilon": result["epsilon"], "metric": result["final"]}


#: DP-SGD's clip bound when the Privacy page switches to it from the default C = 1.0. DP-SGD
#: clips every *example's* gradient, and on digits those are longer than 1: with C = 1 every
#: step shrinks so much that the model underfits whatever the noise. Measured (10 digits
#: clients, 20 rounds, lr 0.05, seed 0): C = 1 gives 0.560 / 0.563 / 0.574 / 0.565 / 0.552 for
#: z = 0.3 / 0.6 / 1 / 2 / 4 (and 0.557 with no noise at all; 0.922 without DP); C = 5 gives
#: 0.914 / 0.911 / 0.903 / 0.864 / 0.677, the trade-off the sweep is there to show.
DPSGD_CLIP = 5.0
#: A sweep whose final scores differ by less than this (relative for MSE) is "flat".
FLAT_SWEEP = 0.03


def sweep_flat(points: Sequence[dict], no_dp: float | None, key: str) -> str | None:
    """Why a flat sweep is flat: ``"clip"`` when the run without DP does clearly better than
    every z (the clipping, not the noise, limits the model), ``"noise"`` when it does about
    as well (the noise is too small here to cost anything), None when the sweep is not flat.
    """
    vals = [float(p["metric"]) for p in points if p.get("metric") is not None]
    if len(vals) < 2:
        return None
    scale = max(max(abs(v) for v in vals), 1e-12) if key == "mse" else 1.0
    if (max(vals) - min(vals)) / scale >= FLAT_SWEEP:
        return None
    if no_dp is None:
        return "flat"
    best = min(vals) if key == "mse" else max(vals)
    gap = (best - no_dp) if key == "mse" else (no_dp - best)
    return "clip" if gap / scale >= FLAT_SWEEP else "noise"
