"""What the server sees: engine results → plain arrays and numbers for the crypto page.

Pure NumPy (no Streamlit, no TensorFlow), so every function is unit-tested on hand-built
inputs (``tests/app/test_crypto_charts.py``). The page reads a live
:class:`~fedsim.engine.simulation.Simulation`'s ``last`` round (the bulky arrays: each client's
update, what it sent, the aggregate the server applied) and its ``history`` (measurements per
phase).

Two views, kept apart on purpose (PAIR's "server view vs simulator view"):

- **server view**: what crossed the network: masked vectors, ciphertext bytes, proofs, sizes,
  the recovered sum;
- **simulator view**: what only the simulation knows: each client's plain update and the plain
  sum, drawn so students can check the server's result against the truth.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from fedsim.config import SimulationConfig
from fedsim.engine.results import RoundResult

from fedsim_app.i18n import t

#: The "hide updates with" choice: none, secure aggregation, or one of the HE schemes.
HIDE_OPTIONS = ("none", "secagg", "paillier", "ckks")
#: Client status in the proofs chart (index = code).
PROOF_CODES = ("not_sampled", "verified", "dropped", "rejected", "unchecked")
#: Coordinates drawn in the "what the server sees" strips.
PREVIEW_COORDS = 24


# ------------------------------------------------------------------ configuration helpers


def hide_of(cfg: SimulationConfig) -> str:
    """The current "hide updates with" choice."""
    if cfg.privacy.secure_aggregation.enabled:
        return "secagg"
    if cfg.privacy.he.enabled:
        return cfg.privacy.he.scheme
    return "none"


def hide_changes(choice: str) -> dict[str, Any]:
    """Dotted-path changes that select ``choice`` (both fields at once: they exclude each other)."""
    if choice not in HIDE_OPTIONS:
        raise ValueError(f"unknown choice {choice!r}")
    return {"privacy.secure_aggregation.enabled": choice == "secagg",
            "privacy.he.scheme": choice if choice in ("paillier", "ckks") else "off"}


def harmonize(cfg: SimulationConfig, changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` plus the one fix-up that makes proofs and secure aggregation work together.

    The engine requires ``zkp.bound >= secure_aggregation.clip`` (an honest client's masked,
    clipped update must pass its proof). With proofs on, honest clients already clip every
    coordinate to min(bound, clip), so lowering the masking clip to the bound changes nothing
    for them; it only makes the combination valid. Returns the changes unchanged otherwise.
    """
    out = dict(changes)
    flat = {"zkp": cfg.privacy.zkp.enabled, "bound": cfg.privacy.zkp.bound,
            "secagg": cfg.privacy.secure_aggregation.enabled,
            "clip": cfg.privacy.secure_aggregation.clip}
    zkp = out.get("privacy.zkp.enabled", flat["zkp"])
    bound = out.get("privacy.zkp.bound", flat["bound"])
    secagg = out.get("privacy.secure_aggregation.enabled", flat["secagg"])
    clip = out.get("privacy.secure_aggregation.clip", flat["clip"])
    if zkp and secagg and bound < clip:
        out["privacy.secure_aggregation.clip"] = bound
    return out


def without_crypto(cfg: SimulationConfig) -> SimulationConfig:
    """The same configuration as plain FedAvg: no masking, no encryption, no proofs."""
    p = cfg.privacy
    return cfg.replace(privacy=p.replace(
        secure_aggregation=p.secure_aggregation.replace(enabled=False),
        he=p.he.replace(scheme="off"), zkp=p.zkp.replace(enabled=False)))


def proofs_flipped(cfg: SimulationConfig) -> SimulationConfig:
    """The same configuration with zero-knowledge proofs switched the other way."""
    p = cfg.privacy
    on = not p.zkp.enabled
    sa = p.secure_aggregation
    if on and sa.enabled and p.zkp.bound < sa.clip:
        sa = sa.replace(clip=p.zkp.bound)  # see harmonize()
    return cfg.replace(privacy=p.replace(zkp=p.zkp.replace(enabled=on), secure_aggregation=sa))


def layer_label(i: int, shape: Sequence[int]) -> str:
    """'2 · 32×10 (320 values)'."""
    size = int(np.prod(shape)) if len(shape) else 1
    dims = "×".join(str(d) for d in shape) or "1"
    return t("crypto.layer_label", i=i, dims=dims, size=f"{size:,}")


# ------------------------------------------------------------------ the latest round


def preview_coords(raw: np.ndarray, k: int = PREVIEW_COORDS) -> np.ndarray:
    """``k`` coordinates worth looking at, in index order: those the clients moved most.

    The first coordinates of a model are often constant (digit images have blank border
    pixels, so their weights never change); a strip of zeros would teach nothing.
    """
    raw = np.atleast_2d(np.asarray(raw, np.float64))
    p = raw.shape[1]
    k = min(k, p)
    score = np.abs(raw).mean(axis=0) if raw.shape[0] else np.zeros(p)
    if not np.any(score):
        return np.arange(k)
    top = np.argsort(-score, kind="stable")[:k]
    return np.sort(top)


def layer_of(coords: Sequence[int], layer_slices: Sequence[slice]) -> list[int]:
    """Weight-tensor index of each flat coordinate."""
    out = []
    for c in coords:
        out.append(next(i for i, s in enumerate(layer_slices) if s.start <= c < s.stop))
    return out


@dataclass(frozen=True)
class SumCheck:
    """The server's aggregate next to the plain one (both as the average update)."""

    recovered: np.ndarray  # [P] the mean update the server applied
    plain: np.ndarray  # [P] Σ w_k Δ_k / Σ w_k over the clients whose update was used
    max_error: float  # max |recovered − plain| over all P coordinates
    bound: float | None  # the engine's error bound for this sum, divided by Σ w_k
    weight_sum: float
    used: tuple[int, ...]


def sum_check(last, result: RoundResult) -> SumCheck | None:
    """Compare the aggregate the server applied with the plain weighted mean of the same
    clients' updates (as they left the client-side stages: after proof clipping). ``None``
    for an aborted round or one where no update was used."""
    if result.aborted or last is None or last.aggregate is None or last.protected is None:
        return None
    used = result.aggregated
    if not used or last.plain_mean is None:
        return None
    w = np.asarray(last.state.accepted.weights, np.float64)
    plain = last.plain_mean  # the engine's plain weighted mean of the same clients
    recovered = np.asarray(last.aggregate, np.float64)
    agg = result.phase("aggregate").measurements
    bound = None
    for key in ("secagg_sum", "he_sum"):
        m = agg.get(key) or {}
        if "error_bound" in m:
            bound = float(m["error_bound"]) / float(w.sum())
    return SumCheck(recovered, plain, float(np.max(np.abs(recovered - plain))), bound,
                    float(w.sum()), tuple(used))


def hex_lines(hexstr: str, per_line: int = 16) -> str:
    """'a1b2…' → rows of ``per_line`` space-separated bytes (a hex dump)."""
    pairs = [hexstr[i:i + 2] for i in range(0, len(hexstr), 2)]
    return "\n".join(" ".join(pairs[i:i + per_line]) for i in range(0, len(pairs), per_line))


@dataclass(frozen=True)
class Recovery:
    """How secure aggregation coped with dropouts in one round."""

    dropped: tuple[int, ...]
    survivors: int
    threshold: int
    share_holders: int
    recovered: int
    aborted: str


def secagg_recovery(result: RoundResult) -> Recovery | None:
    """From the round's measurements (None when secure aggregation was off)."""
    prot = result.phase("protect").measurements.get("secagg")
    summ = result.phase("aggregate").measurements.get("secagg_sum")
    if prot is None or summ is None:
        return None
    return Recovery(tuple(result.dropped), int(summ.get("survivors", len(result.sampled) -
                                                        len(result.dropped))),
                    int(prot["threshold"]), int(prot["share_holders"]),
                    int(summ.get("dropped_recovered", 0)), str(summ.get("aborted", "")))


# ------------------------------------------------------------------ proofs


def proof_matrix(history: Sequence[RoundResult], num_clients: int
                 ) -> tuple[np.ndarray, list[list[str]]]:
    """``[K, R]`` codes into :data:`PROOF_CODES` and the verifier's reason per cell ('' if none).

    A client's proof is checked only if its upload arrived; rounds without proofs mark every
    used update "unchecked".
    """
    m = np.zeros((num_clients, len(history)), np.int8)
    why = [["" for _ in history] for _ in range(num_clients)]
    for j, r in enumerate(history):
        z = r.phase("aggregate").measurements.get("zkp")
        verdict = dict(zip(z["clients"], zip(z["verified"], z["reasons"]))) if z else {}
        for k in r.sampled:
            if k in r.dropped:
                code = "dropped"
            elif k in verdict:
                ok, reason = verdict[k]
                code = "verified" if ok else "rejected"
                why[k][j] = reason
            elif k in r.rejected:
                code = "rejected"
            else:
                code = "unchecked"
            m[k, j] = PROOF_CODES.index(code)
    return m, why


def aggregate_checks(history: Sequence[RoundResult]) -> list[bool | None]:
    """Per round: did the accepted commitments open to the aggregate used (RoFL)? None = not
    checked (no proofs, an aborted round, or no accepted client)."""
    out: list[bool | None] = []
    for r in history:
        z = r.phase("update").measurements.get("zkp") or {}
        v = z.get("aggregate_check")
        out.append(None if v is None else bool(v))
    return out


# ------------------------------------------------------------------ proof verdicts

#: The verifier's reasons (fedsim/privacy/zkp: English, for logs and the CLI) that a student
#: meets on this page, as catalogue keys in the user's language; any other reason is shown
#: as the verifier wrote it, inside a translated frame.
_REASONS = (
    (re.compile(r"^coordinate (?P<i>\d+): the bits do not add up to the committed value"),
     "crypto.why.out_of_range"),
    (re.compile(r"^coordinate (?P<i>\d+) bit (?P<b>\d+): the OR-proof fails"),
     "crypto.why.not_a_bit"),
    (re.compile(r"^proof made for another (client|round)|^payload row belongs to another"),
     "crypto.why.replayed"),
    (re.compile(r"^the sum of squares exceeds the bound"), "crypto.why.l2_over"),
)


def proof_reason(reason: str) -> str:
    """The verifier's ``reason`` for a failed proof, in the user's language."""
    for pattern, key in _REASONS:
        m = pattern.search(reason)
        if m:
            return t(key, **m.groupdict())
    return t("crypto.why.other", reason=reason)


# ------------------------------------------------------------------ cost


def round_costs(history: Sequence[RoundResult]) -> list[dict]:
    """Per round: phase times, bytes and each mechanism's own timings (all measured)."""
    rows = []
    for r in history:
        ms = {p.phase: float(p.ms) for p in r.trace}
        k = max(len(r.sampled), 1)
        arrived = max(len(r.sampled) - len(r.dropped), 1)
        prot = r.phase("protect").measurements
        agg = r.phase("aggregate").measurements
        mech_client = {name: float(prot[name].get("client_ms", 0.0))
                       for name in ("zkp", "secagg", "he") if isinstance(prot.get(name), Mapping)}
        # made before the round, while the last result was read (Paillier's obfuscators,
        # CKKS's encryptions of zero, the proofs' random parts): not in the round's times
        ahead = sum(float(prot[name].get("precompute_ms") or 0.0)
                    for name in ("zkp", "he") if isinstance(prot.get(name), Mapping))
        mech_server = {}
        for name, key in (("zkp", "zkp"), ("secagg", "secagg_sum"), ("he", "he_sum")):
            m = agg.get(key)
            if isinstance(m, Mapping) and "server_ms" in m:
                mech_server[name] = float(m["server_ms"])
        rows.append({
            "round": r.round, "sampled": len(r.sampled), "arrived": len(r.sampled) -
            len(r.dropped),
            "train_ms_per_client": ms.get("train", 0.0) / k,
            "protect_ms_per_client": ms.get("protect", 0.0) / k,
            "server_ms": ms.get("aggregate", 0.0) + ms.get("update", 0.0),
            "round_ms": sum(ms.values()),
            "up_per_client": r.bytes_up / arrived,
            "down_per_client": r.bytes_down / k,
            "mech_client_ms": mech_client, "mech_server_ms": mech_server,
            "ahead_ms_per_client": ahead / k,
        })
    return rows


COST_FIELDS = ("protect_ms_per_client", "server_ms", "up_per_client", "down_per_client",
               "train_ms_per_client")


def typical_costs(rows: Sequence[dict]) -> dict[str, float]:
    """The median of each :data:`COST_FIELDS` over rounds (NaN when there is no round).

    The median, not the mean: a session's first round also pays one-off costs (TensorFlow
    compiling the training step, HE key generation) that say nothing about a typical round.
    """
    if not rows:
        return {f: float("nan") for f in COST_FIELDS}
    return {f: float(np.median([r[f] for r in rows])) for f in COST_FIELDS}


def fmt_ms(v: float) -> str:
    """'47.5' / '0.0073' (two significant digits below 1 ms, so tiny costs do not read 0.0)."""
    if math.isnan(v):
        return "–"
    return f"{v:,.1f}" if abs(v) >= 1 else f"{v:.2g}"


def ratio(this: float, plain: float) -> str:
    """'×12' / '×1.05' / '–' (plain is zero or unknown)."""
    if not plain or math.isnan(plain) or math.isnan(this):
        return "–"
    x = this / plain
    return f"×{x:,.0f}" if x >= 100 else f"×{x:.1f}" if x >= 10 else f"×{x:.2f}"


# ------------------------------------------------------------------ the masking toy


def toy_sent(values: Sequence[float], masks: Mapping[tuple[int, int], float]) -> np.ndarray:
    """What each user sends in the pairwise-masking toy (Bonawitz et al.'s cancelling masks):
    user u adds r_uv for every partner v > u and subtracts r_vu for every v < u, so the masks
    cancel in the sum: Σ sent = Σ values whatever the masks are."""
    sent = np.asarray(values, np.float64).copy()
    for (u, v), r in masks.items():
        if u == v:
            raise ValueError("a mask needs two different users")
        lo, hi = min(u, v), max(u, v)
        sent[lo] += r
        sent[hi] -= r
    return sent
