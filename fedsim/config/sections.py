"""The configuration's sections: frozen dataclasses, one per JSON object, each validating
itself in ``__post_init__``; :class:`SimulationConfig` adds the rules that span sections
(:mod:`fedsim.config.rules`). Every failure raises :class:`~fedsim.errors.ConfigError` naming
the dotted field, the value and what is allowed.

Validation never opens a file (see :class:`DatasetConfig`).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, Optional

from fedsim.config.fields import (AGGREGATORS, ATTACKS, CSV_MISSING, CSV_TASKS, DATASETS,
                                  DEFAULT_MAX_CLIENTS, DEFAULT_MAX_SAMPLES, DP_MODES,
                                  HE_SCHEMES, MAX_CLIENTS, MAX_CLIENTS_BY_DATASET, MAX_SAMPLES,
                                  MAX_SAMPLES_BY_DATASET, MODELS, OPTIMIZERS, PARTITIONS,
                                  PENGUIN_GROUPS,
                                  QUANTITY_DISTS, SERVER_OPTIMIZERS, SHAPES_2D, ZKP_NORMS,
                                  Section, check_range, choice, client_cap, fail, num,
                                  sample_cap)
from fedsim.config.rules import check_combination, resolve_model
from fedsim.errors import ConfigError

# --------------------------------------------------------------------------- sections
@dataclass(frozen=True, kw_only=True)
class DatasetConfig(Section):
    """Which data set, and how it is split into the server's test set and clients' validation sets.

    ``num_samples``, ``shape`` and ``noise`` only apply to the generated sets (``2d`` and
    ``seed_regression``); the scikit-learn sets and ``penguins`` use all their rows.
    ``mnist`` and ``cifar10`` take a seeded sample of ``num_samples`` images (Keras's training
    and test images pooled); ``femnist`` takes ``clients.num_clients`` writers, ``shakespeare``
    that many speaking roles. The downloaded sets (``mnist``, ``cifar10``, ``femnist``,
    ``shakespeare``) are fetched once and cached (docs/data.md).

    ``penguins`` (Palmer penguins, 342 rows with all four measurements) is split by nature with
    partition ``natural``: one client per ``partition_column``, ``island`` (null: the default)
    or ``year``. ``femnist`` with ``natural`` gives one client per writer, ``shakespeare`` one
    per role.

    ``csv`` is the user's own file (:mod:`fedsim.data.csvfile`): ``path`` (required), ``label``
    (default: the last column), ``task_override`` (``auto`` infers it from the label column),
    the feature ``columns`` (null: all but the label and the partition column), columns forced
    ``categorical``/``numeric``, what to do with ``missing`` values (``error``, ``drop`` the
    rows, ``impute``) and ``partition_column``, whose values become the clients of partition
    ``natural``. These keys are ignored by the other data sets.
    """

    _path: typing.ClassVar[str] = "dataset"
    name: str = choice("digits", DATASETS)
    test_fraction: float = num(0.2, 0.05, 0.5)
    val_fraction: float = num(0.2, 0.0, 0.5)
    num_samples: int = num(1000, 100, MAX_SAMPLES, per_dataset=True, doc=(
        f"generated sets: at most {MAX_SAMPLES_BY_DATASET['2d']:,} rows for '2d', "
        f"{DEFAULT_MAX_SAMPLES:,} for 'seed_regression'; images sampled from 'mnist' (at most "
        f"{MAX_SAMPLES_BY_DATASET['mnist']:,}) and 'cifar10' "
        f"(at most {MAX_SAMPLES_BY_DATASET['cifar10']:,})"))
    shape: str = choice("moons", SHAPES_2D)
    noise: float = num(0.2, 0.0, 2.0)
    path: Optional[str] = field(default=None, metadata={
        "doc": "csv: the CSV file (at most 20 MB and 200,000 rows; header on line 1)"})
    label: Optional[str] = field(default=None, metadata={
        "doc": "csv: the label column (null: the last column)"})
    task_override: str = choice("auto", CSV_TASKS, doc="csv: classification or regression "
                                "(auto: regression for a numeric label with more than 20 "
                                "distinct or non-integer values)")
    columns: Optional[tuple[str, ...]] = field(default=None, metadata={
        "doc": "csv: the feature columns (null: all but the label and the partition column)"})
    categorical: tuple[str, ...] = field(default=(), metadata={
        "doc": "csv: feature columns to one-hot encode even if they hold numbers"})
    numeric: tuple[str, ...] = field(default=(), metadata={
        "doc": "csv: feature columns that must be numbers (the first other value is an error)"})
    missing: str = choice("error", CSV_MISSING, doc="csv: missing values are an error, drop "
                          "their rows, or impute (training-pool mean / a '(missing)' category)")
    partition_column: Optional[str] = field(default=None, metadata={
        "doc": "csv: one client per distinct value of this column (partition 'natural'); "
               "penguins: 'island' (null) or 'year'"})

    def _check(self):
        cap = sample_cap(self.name)
        check_range("dataset.num_samples", self.num_samples, 100, cap,
                     why=f" with dataset {self.name!r} (only '2d' allows up to {MAX_SAMPLES})"
                     if self.name == "seed_regression" else
                     f" with dataset {self.name!r}" if self.name in MAX_SAMPLES_BY_DATASET
                     and self.name != "2d" else "")
        if self.name == "penguins" and self.partition_column not in (None, *PENGUIN_GROUPS):
            fail("dataset.partition_column", self.partition_column,
                 "'island' or 'year' with dataset 'penguins' (null: 'island')")
        if self.name != "csv":
            return
        if not self.path:
            fail("dataset.path", self.path, "the path of a CSV file (dataset 'csv' needs one)")
        if len(self.path) > 4096 or "\0" in self.path:
            fail("dataset.path", self.path[:80], "a file path (at most 4096 characters, no NUL)")
        # Nothing here opens the file: a configuration may come from anyone (an upload to the
        # app, a share link). Whether the path may be read, and what the file holds, is decided
        # when the federation is built (fedsim.data.load.check_files), by a caller that knows
        # which files are allowed (the CLI: any path its user names; the app: only the files
        # this session uploaded).

    @property
    def task(self) -> str | None:
        """``classification`` or ``regression``; None for a CSV whose task is inferred from
        its label column (known once the file is read: :func:`fedsim.data.load.check_files`)."""
        if self.name == "csv":
            return None if self.task_override == "auto" else self.task_override
        return "regression" if self.name == "seed_regression" else "classification"



@dataclass(frozen=True, kw_only=True)
class MaliciousConfig(Section):
    """Malicious clients (:mod:`fedsim.engine.poisoning`), from round ``start_round`` on.

    ``attack``: ``scale`` (Δ ← factor·Δ), ``random`` (a random direction, factor × the honest
    norm), ``sign_flip`` (Δ ← −factor·Δ), ``gaussian`` (Δ plus noise of factor × its norm),
    ``label_flip`` (train with ``source_label`` relabelled ``target_label``) or ``backdoor``
    (a pixel trigger on ``poison_fraction`` of the client's digits, relabelled
    ``target_label``; the update is boosted by ``factor``, 1.0 = plain)."""

    _path: typing.ClassVar[str] = "clients.malicious"
    ids: tuple[int, ...] = num((), 0)
    attack: str = choice("scale", ATTACKS)
    factor: float = num(10.0, -1e6, 1e6)
    start_round: int = num(1, 1, 10_000)
    target_label: int = num(0, 0, 1000)
    source_label: int = num(1, 0, 1000)
    poison_fraction: float = num(0.5, 0.0, 1.0, lo_open=True)

    def _check(self):
        if len(set(self.ids)) != len(self.ids):
            fail("clients.malicious.ids", list(self.ids), "distinct client ids")
        if self.attack == "label_flip" and self.source_label == self.target_label:
            fail("clients.malicious.source_label", self.source_label,
                  f"a label other than target_label={self.target_label}")

    @property
    def targeted(self) -> bool:
        """True for attacks with a target label (and so an attack success rate)."""
        return bool(self.ids) and self.attack in ("label_flip", "backdoor")


@dataclass(frozen=True, kw_only=True)
class ClientsConfig(Section):
    """How many clients exist, and who takes part in each round."""

    _path: typing.ClassVar[str] = "clients"
    #: Checked by SimulationConfig, which knows the data set (:func:`client_cap`).
    num_clients: int = num(10, 1, MAX_CLIENTS, per_dataset=True, doc=(
        f"at most {MAX_CLIENTS_BY_DATASET['2d']:,} with dataset '2d', "
        f"{DEFAULT_MAX_CLIENTS:,} with the others"))
    fraction: float = num(1.0, 0.0, 1.0, lo_open=True)
    dropout: float = num(0.0, 0.0, 1.0, hi_open=True)
    malicious: MaliciousConfig = field(default_factory=MaliciousConfig)

    def _check(self):
        if self.num_clients < 1:
            return  # SimulationConfig reports num_clients itself, with its data set's bound
        for i, cid in enumerate(self.malicious.ids):
            if cid >= self.num_clients:
                fail(f"clients.malicious.ids[{i}]", cid,
                      f"a client id from 0 to {self.num_clients - 1}")

    @property
    def per_round(self) -> int:
        """Clients sampled per round without DP's Poisson sampling: max(1, round(q·N))."""
        return max(1, int(round(self.fraction * self.num_clients)))


@dataclass(frozen=True, kw_only=True)
class PartitionConfig(Section):
    """How the training pool is split among clients (names follow flwr-datasets).

    - ``iid``: a uniform random split into (almost) equal parts.
    - ``dirichlet``: label skew; each class is spread over clients by Dirichlet(``alpha``).
    - ``pathological``: each client holds exactly ``classes_per_client`` classes (labels no
      client can hold are left out; see :class:`fedsim.data.partition.Partition`).
    - ``shards``: sort by label, cut into shards, deal ``shards_per_client`` to each client.
    - ``quantity``: IID labels, unequal sizes from a ``lognormal`` (``sigma``) or ``powerlaw``
      (exponent ``power``) distribution.
    - ``feature``: IID labels, each client's inputs shifted and noised (``feature_shift``,
      ``feature_noise`` in standardized units).
    """

    _path: typing.ClassVar[str] = "partition"
    name: str = choice("iid", PARTITIONS)
    alpha: float = num(0.5, 0.0, 1e6, lo_open=True)
    classes_per_client: int = num(2, 1, 1000)
    shards_per_client: int = num(2, 1, 100)
    distribution: str = choice("lognormal", QUANTITY_DISTS)
    sigma: float = num(1.0, 0.0, 5.0)
    power: float = num(1.5, 0.1, 10.0)
    feature_shift: float = num(0.5, 0.0, 10.0)
    feature_noise: float = num(0.5, 0.0, 10.0)
    min_samples: int = num(4, 2, 1000)
    label_bins: int = num(5, 2, 50)


@dataclass(frozen=True, kw_only=True)
class ModelConfig(Section):
    """The Keras model every client trains. ``auto`` picks the data set's default."""

    _path: typing.ClassVar[str] = "model"
    name: str = choice("auto", MODELS)
    hidden: int = num(32, 1, 1024)


@dataclass(frozen=True, kw_only=True)
class TrainingConfig(Section):
    """Local training on each client (the article's step 3)."""

    _path: typing.ClassVar[str] = "training"
    local_epochs: int = num(1, 1, 100)
    batch_size: int = num(16, 1, 4096)
    lr: float = num(0.05, 0.0, 10.0, lo_open=True)
    optimizer: str = choice("sgd", OPTIMIZERS)
    momentum: float = num(0.9, 0.0, 1.0, hi_open=True)
    prox_mu: float = num(0.0, 0.0, 100.0)


#: The server learning rate each server optimizer gets when ``server_lr`` is null, measured on
#: digits (10 IID clients, 20 rounds; accuracy after rounds 5/10/20): sgd 1.0 is plain FedAvg;
#: fedavgm 1.0 (0.87/0.93/0.96); fedadam 0.1 (0.94/0.93/0.95; at 1.0 the first steps are ~1 per
#: coordinate and round 5 is at 0.55); fedyogi 0.1 (same as Adam here); fedadagrad 0.3
#: (0.91/0.95/0.96). Reddi et al. (ICLR 2021) tune η in 10^-2..10^0.5 for the adaptive ones.
SERVER_LR_DEFAULTS = {"sgd": 1.0, "fedavgm": 1.0, "fedadam": 0.1, "fedyogi": 0.1,
                      "fedadagrad": 0.3}


@dataclass(frozen=True, kw_only=True)
class AggregationConfig(Section):
    """How the server combines updates (the article's step 4) and applies them (step 5).

    Server optimizers follow Reddi et al., "Adaptive Federated Optimization" (ICLR 2021):
    the averaged update is a pseudo-gradient fed to SGD (``sgd``; with ``server_lr=1`` this is
    plain FedAvg), SGD with momentum (``fedavgm``), Adam, Yogi or Adagrad. ``server_lr`` null
    means the optimizer's own default (:data:`SERVER_LR_DEFAULTS`).

    Conventions, against Flower 1.42's strategies (both are checked in ``test_aggregators``):

    ============  =========================  ==================================
    what          fedsim                     Flower
    ============  =========================  ==================================
    v₀ (Adam…)    τ² in every coordinate     0
    bias corr.    none (as in Reddi et al.)  FedAdam adds Adam's bias correction
    Multi-Krum    plain mean of the chosen   plain mean of the chosen
    Krum's f      rejected if f ≥ m − 2      not checked
    ============  =========================  ==================================
    """

    _path: typing.ClassVar[str] = "aggregation"
    name: str = choice("fedavg", AGGREGATORS)
    weighted: bool = True
    server_optimizer: str = choice("sgd", SERVER_OPTIMIZERS)
    server_lr: Optional[float] = num(None, 0.0, 100.0, lo_open=True)
    server_momentum: float = num(0.9, 0.0, 1.0, hi_open=True)
    beta1: float = num(0.9, 0.0, 1.0, hi_open=True)
    beta2: float = num(0.99, 0.0, 1.0, hi_open=True)
    tau: float = num(1e-3, 0.0, 10.0, lo_open=True)
    trim_fraction: float = num(0.1, 0.0, 0.5, hi_open=True)
    krum_byzantine: int = num(1, 0, MAX_CLIENTS)
    krum_select: int = num(1, 1, MAX_CLIENTS)
    #: Server-side L2 clip of every update before aggregation (Sun et al. 2019, "Can You
    #: Really Backdoor Federated Learning?"); null = off. Applies with every aggregator.
    norm_bound: Optional[float] = num(None, 0.0, 1e6, lo_open=True)

    @property
    def effective_server_lr(self) -> float:
        """``server_lr``, or the server optimizer's default when it is null."""
        return SERVER_LR_DEFAULTS[self.server_optimizer] if self.server_lr is None \
            else self.server_lr


@dataclass(frozen=True, kw_only=True)
class DPConfig(Section):
    """Differential privacy. ``mode``: ``off``, ``central`` (DP-FedAvg, McMahan et al. 2018),
    ``local`` (each client noises its own update) or ``dpsgd`` (example-level DP-SGD inside each
    client, Abadi et al. 2016). Give ``noise_multiplier`` or ``target_epsilon`` (which then wins).
    ``noise_multiplier`` 0 is allowed, to show clipping alone: its ε is infinite, and the
    engine reports it as such.
    """

    _path: typing.ClassVar[str] = "privacy.dp"
    mode: str = choice("off", DP_MODES)
    clip: float = num(1.0, 0.0, 1e6, lo_open=True)
    noise_multiplier: float = num(1.0, 0.0, 1e4)
    target_epsilon: Optional[float] = num(None, 0.0, 1e4, lo_open=True)
    adaptive_clip: bool = False
    target_quantile: float = num(0.5, 0.0, 1.0, lo_open=True, hi_open=True)
    clip_lr: float = num(0.2, 0.0, 10.0, lo_open=True)
    delta: float = num(1e-5, 0.0, 1.0, lo_open=True, hi_open=True)

    def _check(self):
        if self.target_epsilon is not None and self.target_epsilon < 1e-3:
            fail("privacy.dp.target_epsilon", self.target_epsilon,
                  ">= 0.001 (smaller budgets need more noise than any model can learn under)")

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


@dataclass(frozen=True, kw_only=True)
class SecureAggregationConfig(Section):
    """Secure aggregation (Bonawitz et al. 2017). ``threshold``: the fraction t/n of clients
    whose shares reconstruct a secret. ``neighbors``: SecAgg+ (Bell et al. 2020) masks with k
    ring neighbours instead of all clients; ``null`` means all."""

    _path: typing.ClassVar[str] = "privacy.secure_aggregation"
    enabled: bool = False
    threshold: float = num(0.6, 0.0, 1.0, lo_open=True)
    neighbors: Optional[int] = num(None, 2, MAX_CLIENTS)
    clip: float = num(1.0, 0.0, 1e3, lo_open=True)
    scale_bits: int = num(16, 4, 24)


@dataclass(frozen=True, kw_only=True)
class HEConfig(Section):
    """Additively homomorphic encryption of the updates: ``paillier`` or ``ckks``. ``layer``:
    encrypt only that weight tensor (null: all)."""

    _path: typing.ClassVar[str] = "privacy.he"
    scheme: str = choice("off", HE_SCHEMES)
    key_bits: int = choice(2048, (1024, 2048, 3072))
    layer: Optional[int] = num(None, 0, 64)

    @property
    def enabled(self) -> bool:
        return self.scheme != "off"


@dataclass(frozen=True, kw_only=True)
class ZKPConfig(Section):
    """Zero-knowledge range proofs: each client proves ``coordinates`` randomly chosen
    coordinates of its quantized update lie in [-bound, bound] (Pedersen + Fiat–Shamir).

    The bound is per coordinate (L∞). Honest digits-MLP updates have coordinates below ~0.1, so
    the default catches a client that scales its update by 10 on most checked coordinates.
    Each checked coordinate costs ~4 ms to prove and ~6 ms to verify per client."""

    _path: typing.ClassVar[str] = "privacy.zkp"
    enabled: bool = False
    bound: float = num(0.1, 0.0, 1e3, lo_open=True)
    coordinates: int = num(32, 1, 100_000)
    #: ``linf``: range proofs on ``coordinates`` sampled coordinates (above). ``l2``: RoFL's
    #: L2 norm-bound proof (:mod:`fedsim.privacy.zkp.l2_proof`) that ‖Δ‖₂ ≤ ``bound`` on the whole
    #: update, or on weight tensor ``layer`` only (``coordinates`` is not used). It costs
    #: ~3 ms to prove and ~4 ms to verify per proved coordinate per client, so the whole
    #: 2,410-parameter digits MLP takes seconds per client: use ``layer`` to animate.
    norm: str = choice("linf", ZKP_NORMS)
    layer: Optional[int] = num(None, 0, 64)


@dataclass(frozen=True, kw_only=True)
class PrivacyConfig(Section):
    """The protection pipeline. Client side runs DP → ZKP → secure aggregation/HE; the server
    side runs in reverse (verify → sum → unmask/decrypt → central noise)."""

    _path: typing.ClassVar[str] = "privacy"
    dp: DPConfig = field(default_factory=DPConfig)
    secure_aggregation: SecureAggregationConfig = field(default_factory=SecureAggregationConfig)
    he: HEConfig = field(default_factory=HEConfig)
    zkp: ZKPConfig = field(default_factory=ZKPConfig)


@dataclass(frozen=True, kw_only=True)
class SimulationConfig(Section):
    """A whole simulation: one ``seed`` and every section above."""

    _path: typing.ClassVar[str] = ""
    seed: int = num(0, 0, 2**31 - 1)
    rounds: int = num(20, 1, 10_000)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    clients: ClientsConfig = field(default_factory=ClientsConfig)
    partition: PartitionConfig = field(default_factory=PartitionConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    aggregation: AggregationConfig = field(default_factory=AggregationConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    def _check(self):
        cap = client_cap(self.dataset.name)
        check_range("clients.num_clients", self.clients.num_clients, 1, cap,
                     why=f" with dataset {self.dataset.name!r}" + (
                         f" (only '2d' allows up to {MAX_CLIENTS})" if cap < MAX_CLIENTS else ""))
        check_combination(self)

    # ---- JSON
    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> "SimulationConfig":
        """Parse strict, bounded JSON (:mod:`fedsim.jsonio`): duplicate keys, huge numbers,
        NaN, deep nesting and oversized input are errors. The top level must be an object,
        and a section may be left out (its defaults) but not set to ``null``."""
        from fedsim.jsonio import loads

        data = loads(text)
        if not isinstance(data, dict):
            raise ConfigError("(top level)", data, "a JSON object",
                              message=f"the configuration must be a JSON object such as "
                                      f'{{"rounds": 10}}; got {_json_kind(data)}')
        _no_null_sections(cls, data, "")
        return cls.from_dict(data)

    @property
    def model_name(self) -> str:
        """The model actually used (``auto`` resolved for the data set)."""
        return resolve_model(self.dataset.name, self.model.name)

    @property
    def task(self) -> str:
        return self.dataset.task


def load_config(path: str) -> SimulationConfig:
    """Read a JSON configuration file (at most ``jsonio.MAX_BYTES``); every failure is a
    :class:`ConfigError` naming the file or the field."""
    from fedsim.jsonio import read_file

    return SimulationConfig.from_json(read_file(path, flag="--config"))


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


def _no_null_sections(cls: type, data: dict, path: str) -> None:
    """``"privacy": null`` in a file is an error (it reads as "no privacy" but would mean
    "defaults"); omit the key for the defaults. ``null`` leaves (e.g. ``target_epsilon``)
    keep their documented meaning."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        if not (isinstance(hint, type) and issubclass(hint, Section)) or f.name not in data:
            continue
        sub = f"{path}.{f.name}" if path else f.name
        if data[f.name] is None:
            raise ConfigError(sub, None, "a JSON object",
                              message=f"{sub}: got null; allowed: a JSON object (leave the key "
                                      "out to use this section's defaults)")
        if isinstance(data[f.name], dict):
            _no_null_sections(hint, data[f.name], sub)
