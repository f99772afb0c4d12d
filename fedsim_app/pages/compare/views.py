"""The Compare page's knobs: each turns the current configuration into labelled variants.

Pure (no Streamlit, no TensorFlow): :func:`variants` returns ``(label, SimulationConfig)``
pairs that differ from the base configuration only in the knob (the seed is always the same),
and :func:`run_variant` runs one to the end.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

from fedsim.config import SimulationConfig

from fedsim.engine.runner import RunSummary

from fedsim_app.base.params import with_changes
from fedsim_app.i18n import t

#: knob → list of (label text key, format values, dotted-path changes).
KNOBS: dict[str, list[tuple[str, dict, dict[str, Any]]]] = {
    # 100 (IID-like), 0.1 (each client mostly one or two digits), 0.01 (nearly one digit each):
    # three curves a class can tell apart (α = 1 lies on top of α = 100 on digits).
    "alpha": [("cmp.var.alpha", {"v": v}, {"partition.name": "dirichlet", "partition.alpha": v})
              for v in (100.0, 0.1, 0.01)],
    "algorithm": [
        ("cmp.var.fedavg", {}, {"training.prox_mu": 0.0, "aggregation.name": "fedavg",
                                "aggregation.server_optimizer": "sgd",
                                "aggregation.server_lr": 1.0}),
        ("cmp.var.fedprox", {}, {"training.prox_mu": 0.1, "aggregation.name": "fedavg",
                                 "aggregation.server_optimizer": "sgd",
                                 "aggregation.server_lr": 1.0}),
        # Reddi et al.'s FedAdam; server lr 0.03 worked best on digits in a quick sweep.
        ("cmp.var.fedadam", {}, {"training.prox_mu": 0.0, "aggregation.name": "fedavg",
                                 "aggregation.server_optimizer": "fedadam",
                                 "aggregation.server_lr": 0.03}),
    ],
    "weighting": [("cmp.var.weighted", {}, {"aggregation.name": "fedavg",
                                            "aggregation.weighted": True}),
                  ("cmp.var.simple", {}, {"aggregation.name": "fedavg",
                                          "aggregation.weighted": False})],
    "epochs": [("cmp.var.epochs", {"v": v}, {"training.local_epochs": v}) for v in (1, 3, 5)],
    "clients": [("cmp.var.clients", {"v": v}, {"clients.num_clients": v}) for v in (5, 10, 20)],
}


class Shared(NamedTuple):
    """A setting every variant of a knob shares, chosen beside the variants: its dotted path,
    text key (``key.help`` is its help), options and the index of the default."""

    path: str
    key: str
    options: tuple
    index: int


#: knob → its shared setting. Label skew only shows when clients train long enough to drift
#: apart. Measured on digits (10 clients, 20 rounds, seed 0): the old first run, α = 100 / 1 /
#: 0.1 with 1 local epoch, drew three curves 0.017 apart on average (finals 0.914 / 0.925 /
#: 0.922); α = 100 / 0.1 / 0.01 with 5 local epochs are 0.087 and 0.115 apart on average over
#: rounds 1–10 (finals 0.958 / 0.944 / 0.925; ``tests/app/test_classroom.py`` checks it). So the
#: first comparison a teacher runs uses 5.
SHARED: dict[str, Shared] = {
    "alpha": Shared("training.local_epochs", "cls.cmp.epochs", (1, 2, 3, 5, 10), 3),
}
#: Curves closer than this on average (max − min over the variants, rounds after 0) are "flat":
#: the page then says why instead of leaving overlapping lines unexplained.
FLAT_SPREAD = 0.03


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def variants(base: SimulationConfig, knob: str, rounds: int | None = None,
             shared: Any = None) -> list[tuple[str, SimulationConfig]]:
    """``(label, config)`` for every value of ``knob``; the seed and the rest stay as in base
    (``shared``: the value of the knob's :data:`SHARED` setting, set in every variant).

    Raises :class:`~fedsim.errors.ConfigError` if a variant is not a valid configuration
    (e.g. secure aggregation is on and the variant asks for a median).
    """
    out = []
    for key, fmt, changes in KNOBS[knob]:
        ch = dict(changes)
        if rounds is not None:
            ch["rounds"] = rounds
        if shared is not None and knob in SHARED:
            ch[SHARED[knob].path] = shared
        label = t(key, **{k: _fmt(v) for k, v in fmt.items()})
        out.append((label, with_changes(base, ch)))
    return out


def variant_view(run: RunSummary) -> dict:
    """What the page shows of one variant: its curve and its split."""
    return {"curve": run.curve(), "label_counts": run.label_counts,
            "label_names": run.label_names}


def run_variant(cfg: SimulationConfig,
                progress: Callable[[int], None] | None = None) -> dict:
    """Run ``cfg`` to the end (:func:`fedsim.engine.runner.run`); its :func:`variant_view`."""
    from fedsim.engine.runner import run

    return variant_view(run(cfg, progress))


def base_key(cfg: SimulationConfig, shared: Any = None) -> tuple[str, Any]:
    """What a set of results was computed for: the configuration and the shared setting."""
    return cfg.to_json(indent=None), shared


def is_stale(res: dict, cfg: SimulationConfig, knob: str, shared: Any) -> bool:
    """Whether stored results no longer match the configuration (or, for the same knob, the
    shared setting): then the page says so."""
    base = res["base"]
    want_cfg, _ = base_key(cfg)
    return base[0] != want_cfg or (res["knob"] == knob and base[1] != shared)


def spread(curves: Sequence[tuple[str, Sequence[int], Sequence[float]]]) -> float | None:
    """The mean gap (max − min) between the variants over the rounds after round 0 (None:
    fewer than two curves)."""
    by_round: dict[int, list[float]] = {}
    for _, rounds, values in curves:
        for r, v in zip(rounds, values):
            if r > 0:
                by_round.setdefault(int(r), []).append(float(v))
    gaps = [max(v) - min(v) for v in by_round.values() if len(v) > 1]
    return sum(gaps) / len(gaps) if gaps else None


def flat_note(curves, metric: str) -> str | None:
    """A sentence when the curves lie on top of each other (spread below :data:`FLAT_SPREAD`;
    for MSE relative to its size), saying why that can happen; else None."""
    gap = spread(curves)
    if gap is None:
        return None
    scale = 1.0
    if metric == "mse":
        scale = max(max(abs(v) for _, _, vs in curves for v in vs), 1e-12)
    if gap / scale >= FLAT_SPREAD:
        return None
    return t("cls.cmp.flat", gap=f"{gap:.3f}")


#: A run JSON (``fedsim run --out`` or ``fedsim flower run --out``) up to this size may be
#: overlaid; 1,000 rounds of 100 clients is ~10 MB.
MAX_RUN_BYTES = 20 * 1024 * 1024


def curve_from_run(data: bytes, name: str) -> tuple[str, list[int], list[float], str]:
    """(label, rounds, metric per round, metric key) from a run JSON's bytes.

    Parsed by the strict, bounded loader; anything that is not a run JSON is a
    :class:`~fedsim.errors.ConfigError` saying what is missing. The label says which engine
    made it (Flower's runs carry ``engine``)."""
    from fedsim.errors import ConfigError
    from fedsim.jsonio import loads
    from fedsim.engine.results import metric_key

    run = loads(data, what="the run file", max_bytes=MAX_RUN_BYTES)
    if not isinstance(run, dict) or not isinstance(run.get("rounds"), list) or not run["rounds"]:
        raise ConfigError("rounds", "(missing)", "a run JSON with a non-empty 'rounds' list "
                          "(from python -m fedsim run --out, or fedsim flower run --out)")
    key = metric_key(run.get("task", "classification"))
    rounds, values = [], []
    initial = run.get("initial") or {}
    if isinstance(initial.get(key), (int, float)):
        rounds.append(0)
        values.append(float(initial[key]))
    for i, r in enumerate(run["rounds"]):
        g = r.get("global") if isinstance(r, dict) else None
        if not isinstance(g, dict) or not isinstance(g.get(key), (int, float)):
            raise ConfigError(f"rounds[{i}].global.{key}", "(missing)", "a number")
        rounds.append(int(r.get("round", i + 1)))
        values.append(float(g[key]))
    engine = run.get("engine") or {}
    who = "Flower" if isinstance(engine, dict) and "flwr" in str(engine).lower() else "fedsim"
    return f"{name} ({who})", rounds, values, key
