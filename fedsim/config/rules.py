"""Rules that span sections: settings that are each valid but cannot work together.

Each rule is written once, here: the configuration runs them when it is built (so a bad
combination is reported before TensorFlow is imported), and the privacy pipeline and the data
loader call the same functions (:func:`require_linear`, :func:`check_task`) rather than
restating them.
"""

from __future__ import annotations

import typing

from fedsim.config.fields import (BUILTIN_CLASSES, IMAGE_DATASETS, LINEAR_AGGREGATORS,
                                  PENGUIN_GROUPS)
from fedsim.errors import IncompatibleConfigError

#: What every rule takes: a :class:`fedsim.config.sections.SimulationConfig` (named, not
#: imported: the sections call these rules while they are being built).
Config = typing.Any


def resolve_model(dataset: str, model: str) -> str:
    """The data set's default model where ``model`` is ``auto``."""
    if model != "auto":
        return model
    return {"seed_regression": "seed_mlp", "breast_cancer": "logistic",
            "shakespeare": "char_cnn"}.get(dataset, "mlp")


def adaptive_clip_noise_limit(cfg: Config) -> float:
    """The largest noise multiplier adaptive clipping allows: z < 2σ_b = m/10, with σ_b = m/20
    and m = expected clients per round (Andrew et al. 2021; see ``fedsim.privacy.dp``)."""
    return cfg.clients.fraction * cfg.clients.num_clients / 10


def linear_reasons(cfg: Config) -> list[str]:
    """Why this configuration needs a linear (sum-based) aggregator, one phrase per reason."""
    priv = cfg.privacy
    out = []
    if priv.secure_aggregation.enabled:
        out.append("secure aggregation is on: the server only learns a sum")
    if priv.he.enabled:
        out.append("homomorphic encryption is on: the server only learns a sum")
    if priv.dp.mode == "central":
        out.append("central DP is on: its noise is calibrated to a sum of clipped updates")
    return out


def require_linear(aggregator: str, reasons: list[str]) -> None:
    """The one place that says "this needs a linear aggregator" (config and pipeline use it).

    ``Aggregator.linear`` in :mod:`fedsim.engine.aggregators` is checked against
    :data:`LINEAR_AGGREGATORS` by the tests."""
    if reasons and aggregator not in LINEAR_AGGREGATORS:
        raise IncompatibleConfigError(
            "aggregation.name", aggregator,
            f"'fedavg' when {reasons[0]}, so a median, trimmed mean or Krum cannot be computed")


def _builtin_classes(cfg: Config) -> int:
    return BUILTIN_CLASSES.get(cfg.dataset.name, 2)


def check_task(cfg: Config, task: str, classes: int | None) -> None:
    """The rules that depend on the learning task and the number of classes: for the built-in
    data sets they are known from the configuration, for a CSV once its label column is read
    (:func:`fedsim.data.load.check_files` calls this again with what the file holds).
    ``classes`` None: not known yet (label ranges are then not checked)."""

    def bad(field_: str, value: object, allowed: str) -> typing.NoReturn:
        raise IncompatibleConfigError(field_, value, allowed)

    model = cfg.model_name
    regression = task == "regression"
    if model == "cnn" and cfg.dataset.name not in IMAGE_DATASETS:
        bad("model.name", model, "'cnn' only with dataset 'digits' (it needs images)"
            if cfg.dataset.name in ("breast_cancer", "seed_regression", "2d", "csv") else
            "'cnn' only with an image data set (" + ", ".join(map(repr, IMAGE_DATASETS)) + ")")
    if (model == "char_cnn") != (cfg.dataset.name == "shakespeare"):
        bad("model.name", model, "'char_cnn' (or 'auto') for dataset 'shakespeare', and "
            "'char_cnn' only there: its inputs are character ids")
    if model == "seed_mlp" and not regression:
        bad("model.name", model, "'seed_mlp' only with dataset 'seed_regression'")
    if regression and model != "seed_mlp" and model != "mlp":
        bad("model.name", model, "'seed_mlp' or 'mlp' for the regression data set")
    if regression and cfg.partition.name == "pathological" and \
            cfg.partition.classes_per_client > cfg.partition.label_bins:
        bad("partition.classes_per_client", cfg.partition.classes_per_client,
            f"at most partition.label_bins={cfg.partition.label_bins} for regression")
    mal = cfg.clients.malicious
    if not (mal.ids and mal.attack in ("label_flip", "backdoor")):
        return
    if task != "classification":
        bad("clients.malicious.attack", mal.attack,
            "'scale', 'random', 'sign_flip' or 'gaussian' for a regression data set "
            "(label flipping and backdoors need class labels)")
    if mal.attack == "backdoor" and cfg.dataset.name != "digits":
        bad("clients.malicious.attack", mal.attack,
            "'backdoor' only with dataset 'digits' (its trigger is a pixel pattern)")
    if classes is None:
        return
    for key in ("target_label", "source_label") if mal.attack == "label_flip" \
            else ("target_label",):
        if getattr(mal, key) >= classes:
            bad(f"clients.malicious.{key}", getattr(mal, key),
                f"a label from 0 to {classes - 1} for dataset {cfg.dataset.name!r}")


def check_combination(cfg: Config) -> None:
    """Reject settings that are each valid but cannot work together.

    The same checks guard the privacy pipeline when it is built; running them here means a bad
    combination is reported before TensorFlow is imported.
    """

    def bad(field_: str, value: object, allowed: str) -> typing.NoReturn:
        raise IncompatibleConfigError(field_, value, allowed)

    _check_natural(cfg, bad)
    if cfg.task is not None:  # a CSV's task is known once it is read: check_files checks it
        check_task(cfg, cfg.task, None if cfg.dataset.name == "csv" else _builtin_classes(cfg))

    priv = cfg.privacy
    require_linear(cfg.aggregation.name, linear_reasons(cfg))
    if priv.secure_aggregation.enabled and priv.he.enabled:
        bad("privacy.he.scheme", priv.he.scheme,
            "'off' when secure aggregation is on (pick one way to hide updates)")
    agg = cfg.aggregation
    if agg.name == "krum" and priv.dp.mode != "central":
        # Blanchard et al. 2017: Krum scores each update by its m − f − 2 nearest neighbours,
        # so it needs m ≥ f + 3 updates per round to tolerate f Byzantine clients.
        m = cfg.clients.per_round
        if agg.krum_byzantine > m - 3:
            bad("aggregation.krum_byzantine", agg.krum_byzantine,
                f"at most {max(m - 3, 0)} (clients per round − 3) with {m} clients per round; "
                "Krum cannot tolerate more" if m >= 3 else
                f"Krum needs at least 3 clients per round (this configuration samples {m})")
        if agg.krum_select > m:
            bad("aggregation.krum_select", agg.krum_select,
                f"at most {m} (the clients sampled per round)")
    n = cfg.clients.num_clients
    if priv.dp.adaptive_clip and priv.dp.mode != "central":
        bad("privacy.dp.adaptive_clip", True, "false unless privacy.dp.mode is 'central'")
    if priv.dp.mode == "central" and priv.dp.adaptive_clip and priv.dp.target_epsilon is None:
        # Andrew et al. 2021: the update noise z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2) with σ_b = m/20 is
        # only real when z < 2σ_b = m/10 (m = expected clients per round).
        limit = adaptive_clip_noise_limit(cfg)
        if priv.dp.noise_multiplier >= limit:
            bad("privacy.dp.noise_multiplier", priv.dp.noise_multiplier,
                f"< {limit:g} (expected clients per round / 10) with adaptive clipping; "
                "sample more clients per round or turn adaptive clipping off")
    if priv.secure_aggregation.enabled:
        nb = priv.secure_aggregation.neighbors
        if nb is not None and nb >= n:
            bad("privacy.secure_aggregation.neighbors", nb,
                f"fewer than clients.num_clients={n}, or null for all")
        if priv.secure_aggregation.threshold * n < 1:
            bad("privacy.secure_aggregation.threshold", priv.secure_aggregation.threshold,
                "a fraction that leaves at least one share needed")
    if priv.zkp.enabled and priv.dp.enabled and priv.dp.mode in ("central", "local") \
            and priv.zkp.bound < priv.dp.clip and not priv.dp.adaptive_clip:
        bad("privacy.zkp.bound", priv.zkp.bound,
            f">= privacy.dp.clip={priv.dp.clip} (honest clipped updates must pass the proof)")
    if priv.zkp.enabled and priv.secure_aggregation.enabled and \
            priv.zkp.bound < priv.secure_aggregation.clip:
        bad("privacy.zkp.bound", priv.zkp.bound,
            f">= privacy.secure_aggregation.clip={priv.secure_aggregation.clip}")
    _check_attacks(cfg, bad)


def _check_natural(cfg: Config, bad) -> None:
    """Partition ``natural`` needs data that comes in groups: a CSV and the column whose
    values are the clients (whether the column exists is known once the file is read:
    :func:`fedsim.data.load.check_files`), ``penguins`` (one client per island or per year:
    three either way, known without opening anything) or ``femnist`` (one per writer)."""
    ds = cfg.dataset
    if cfg.partition.name != "natural":
        return
    if ds.name == "penguins":
        by = ds.partition_column or "island"
        k = PENGUIN_GROUPS[by]
        if cfg.clients.num_clients != k:
            bad("clients.num_clients", cfg.clients.num_clients,
                f"{k} with partition 'natural' on dataset 'penguins': one client per {by}")
        return
    if ds.name in ("femnist", "shakespeare"):
        return  # one client per writer / role: clients.num_clients of them are taken
    if ds.name != "csv" or ds.partition_column is None:
        bad("partition.name", "natural", "'natural' only with dataset 'csv' and a "
            "dataset.partition_column (one client per value of that column), 'penguins' "
            "(one per island or year), 'femnist' (one per writer) or 'shakespeare' (one per "
            "speaking role)")


def _check_attacks(cfg: Config, bad) -> None:
    """Attacks and defences that cannot work with the rest of the configuration."""
    priv = cfg.privacy
    if cfg.aggregation.norm_bound is not None and (priv.secure_aggregation.enabled or
                                                   priv.he.enabled):
        bad("aggregation.norm_bound", cfg.aggregation.norm_bound,
            "null when secure aggregation or HE hides the updates (the server cannot measure "
            "their norms; use privacy.zkp with norm 'l2' instead)")
