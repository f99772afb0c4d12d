"""Per-session caps on work and memory, so one student cannot take the server down for a class.

Every session shares one Python process (and, in a classroom, two CPU cores). Without caps,
2,000 clients × 200,000 rows × a 1,024-wide hidden layer peaks at 5.3 GB and takes a minute per
round, for everyone. The engine accepts such configurations (the CLI on a workstation may want
them); the app checks every configuration it is about to run against these caps and, when one
is reached, says which field, its value, the cap, and how a teacher raises it.

A teacher raises (or lowers) a cap with a flag of the start command, an environment variable,
or in their own settings file — never in the installed package, which a teacher does not
control. The file is ``config.toml`` in the user's configuration folder (``platformdirs``:
``~/.config/fedsim-playground/config.toml`` on Linux, ``%LOCALAPPDATA%\fedsim-playground`` on
Windows, ``~/Library/Application Support/fedsim-playground`` on macOS), or the file
``FEDSIM_CONFIG`` names::

    # ~/.config/fedsim-playground/config.toml
    [limits]
    max_clients = 500
    max_work_mflop = 20000

    FEDSIM_MAX_CLIENTS=500 fedsim-playground       # the environment wins over the file
    fedsim-playground --max-clients 500            # a flag wins over both
    fedsim-playground --show-config                # what is in force, and where it came from

The estimates need no TensorFlow: rows × epochs × parameters for the work of one round, and the
padded per-client tensors plus per-client weight copies for memory (see :func:`estimate`). The
parameters are those of the model the engine will build (:func:`model_spec`, sized by
:func:`fedsim.training.spec.param_count`, the statement of each architecture the Keras models are
tested against). The protections cost far more than the training they protect (whole-model L2
proofs ~7 ms per weight and client), so each round's CPU time is estimated from measured costs
(:data:`COST`) and capped too (``max_round_seconds``, :func:`round_seconds`).
Pure Python; the caps are read once per process (they are the server's, not a user's, state).
"""

from __future__ import annotations

import functools
import math
import os
import pathlib
import sys
from dataclasses import dataclass, fields
from typing import Sequence

from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError
from fedsim.training.spec import ModelSpec, layer_sizes, param_count

#: The distribution's name: the folder of the teacher's settings file.
APP_NAME = "fedsim-playground"


def settings_file(env: dict | None = None) -> pathlib.Path:
    """The teacher's settings file: ``FEDSIM_CONFIG``, else ``config.toml`` in the user's
    configuration folder (it need not exist)."""
    env = os.environ if env is None else env
    if env.get("FEDSIM_CONFIG"):
        return pathlib.Path(env["FEDSIM_CONFIG"]).expanduser()
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / "config.toml"


@dataclass(frozen=True)
class Limits:
    """The caps (defaults measured to keep a round under ~1 s and a session under ~0.5 GB)."""

    max_clients: int = 200
    max_samples: int = 20_000  # dataset.num_samples (generated data sets)
    max_hidden: int = 256  # model.hidden
    max_rounds: int = 1000
    max_epochs: int = 20  # training.local_epochs
    max_work_mflop: int = 3_000  # estimated training work of one round
    max_memory_mb: int = 512  # estimated memory of one simulation
    max_round_seconds: int = 20  # estimated CPU time of one round, protections included


#: cap → (configuration field it bounds, environment variable)
FIELDS = {
    "max_clients": "clients.num_clients",
    "max_samples": "dataset.num_samples",
    "max_hidden": "model.hidden",
    "max_rounds": "rounds",
    "max_epochs": "training.local_epochs",
    "max_work_mflop": "training.local_epochs",
    "max_memory_mb": "clients.num_clients",
    "max_round_seconds": "clients.num_clients",  # (the error names the costliest protection)
}


def env_name(cap: str) -> str:
    return "FEDSIM_" + cap.upper()


class LimitError(ConfigError):
    """A configuration is valid but beyond this server's classroom caps."""

    code = "limit"

    def __init__(self, cap: str, field: str, value: object, limit: int, what: str = "",
                 unit: str = ""):
        self.cap = cap
        self.limit = limit
        what = what or f"{value:,}" if isinstance(value, int) else what or str(value)
        super().__init__(field, value, f"at most {limit:,}{unit} on this server", rule="limit",
                         params={"limit": f"{limit:,}{unit}", "env": env_name(cap), "cap": cap},
                         message=f"{field}: {what} is above this server's classroom limit of "
                                 f"{limit:,}{unit}; a teacher can raise it with "
                                 f"{env_name(cap)} or {cap} in the settings file")


def _read_file(path: pathlib.Path) -> dict:
    if not path.is_file():
        return {}
    try:
        import tomllib

        return dict(tomllib.loads(path.read_text()).get("limits", {}))
    except Exception as exc:  # noqa: BLE001 - a broken file must not take the app down
        print(f"fedsim: ignoring {path}: {exc}", file=sys.stderr)
        return {}


def load(env: dict | None = None, path: pathlib.Path | None = None) -> Limits:
    """The caps from defaults, then ``path`` (``[limits]``; default :func:`settings_file`),
    then the environment (where the start command's flags are put, too)."""
    return load_with_sources(env, path)[0]


def load_with_sources(env: dict | None = None, path: pathlib.Path | None = None,
                      flags: dict | None = None) -> tuple[Limits, dict[str, str]]:
    """:func:`load`, and where each cap came from: ``default``, the file's path, the
    environment variable, or ``flag`` (``flags``: caps given on the command line)."""
    env = os.environ if env is None else env
    path = settings_file(env) if path is None else path
    from_file = _read_file(path)
    values, sources = {}, {}
    for f in fields(Limits):
        name = env_name(f.name)
        if flags and flags.get(f.name) is not None:
            raw, where = flags[f.name], "flag --" + f.name.replace("_", "-")
        elif env.get(name) is not None:
            raw, where = env[name], f"environment {name}"
        elif f.name in from_file:
            raw, where = from_file[f.name], str(path)
        else:
            sources[f.name] = "default"
            continue
        try:
            v = int(float(raw))
            if v < 1:
                raise ValueError
            values[f.name], sources[f.name] = v, where
        except (TypeError, ValueError):
            print(f"fedsim: ignoring {f.name}={raw!r} from {where} (a positive integer is "
                  "needed)", file=sys.stderr)
            sources[f.name] = "default"
    return Limits(**values), sources


@functools.lru_cache(maxsize=1)
def current() -> Limits:
    """This server's caps (read once per process)."""
    return load()


# ------------------------------------------------------------------ the model (no TensorFlow)
#: (rows, input features, outputs, image shape) of the built-in data sets as
#: :mod:`fedsim.data.builtin` makes them; rows ``None``: ``dataset.num_samples`` (generated).
#: ``tests/engine/test_model_spec.py`` checks them against the engine's federation.
_BUILTIN = {"digits": (1797, 64, 10, (8, 8)), "breast_cancer": (569, 30, 2, None),
            "seed_regression": (None, 100, 1, None), "2d": (None, 2, 2, None),
            "penguins": (342, 4, 3, None), "mnist": (None, 784, 10, (28, 28)),
            "cifar10": (None, 3072, 10, (32, 32, 3)), "femnist": (None, 784, 10, (28, 28))}
#: FEMNIST's images per writer (382,705 images, 3,383 writers): its rows are writers × this.
_FEMNIST_PER_WRITER = 113


def _data_shape(cfg: SimulationConfig) -> tuple[int, int, int, tuple[int, int] | None]:
    """(rows, input features, outputs, image shape) of the data set, without TensorFlow. A CSV is
    read (cached by path, mtime and size in fedsim.data.load) since only the file knows; the
    caller has checked it is a file this session may read."""
    ds = cfg.dataset
    if ds.name == "csv":
        from fedsim.data.load import load_dataset

        data = load_dataset(ds, cfg.seed)
        rows = len(data.y_train) + len(data.y_test)
        outputs = data.num_classes if data.task == "classification" else 1
        return rows, data.num_features, outputs, data.image_shape
    rows, feats, outputs, image = _BUILTIN[ds.name]
    if ds.name == "femnist":  # one client per writer
        rows = cfg.clients.num_clients * _FEMNIST_PER_WRITER
    return (ds.num_samples if rows is None else rows), feats, outputs, image


def _shape(cfg: SimulationConfig) -> tuple[int, int, int]:
    """(rows, input features, outputs) of the data set."""
    return _data_shape(cfg)[:3]


def model_spec(cfg: SimulationConfig) -> ModelSpec:
    """The :class:`ModelSpec` :func:`fedsim.engine.simulation.build_federation` builds for
    ``cfg`` (outputs: the data set's classes, or 1 for regression)."""
    _, feats, outputs, image = _data_shape(cfg)
    return ModelSpec(cfg.model_name, feats, outputs, cfg.model.hidden, image)


def _params(cfg: SimulationConfig) -> int:
    return param_count(model_spec(cfg))


# ------------------------------------------------------------------ what a round costs
#: Measured CPU cost of the training and of each protection, in seconds per the unit the key
#: names. Sources: docs/performance.md ("Privacy and protection", ``python -m bench.crypto_bench``:
#: whole rounds at 10 digits clients, 2,410 weights, plain FedAvg 7.9 ms) and the ZKPConfig
#: docstring (fedsim/config/sections.py). Checked on a 2-core development VM (issue #27): range
#: proofs 3.8 ms per checked coordinate per client (4 clients, 8 coordinates, 2-D MLP; 1.8 ms
#: since issue #26), whole-model L2 proofs 4.6 ms per weight per client (4 clients, 42 weights;
#: 1.8 ms since issue #26), one Paillier
#: ``raw_encrypt`` 2.4 ms (1024-bit key) and 17.3 ms (2048-bit).
COST = {
    # plain training: the MFLOP cap's calibration (3,000 MFLOP keep a round under ~1 s)
    "train_s_per_mflop": 1 / 3_000,
    # DP-SGD (per-example gradients, Poisson batches): 7.5-8.2x the plain round
    "dpsgd_factor": 8.2,
    # range proofs on BLS12-381 (issue #26): 1.8 ms per checked coordinate per client when
    # the proof is made whole in the round (~1.4 ms to prove, ~0.35 to verify); ~0.5 ms when
    # its random half was made while the last result was read (bench.privacy_bench, quiet:
    # 32 coordinates x 10 clients 153 ms, 320 x 10 842 ms). The cap counts the worst case.
    "zkp_linf_s_per_coord_client": 0.0018,
    # L2 norm proofs: 1.8 ms per proved weight per client (2,410 weights x 2 clients 8.7 s,
    # same run; was 4.8 ms on ed25519)
    "zkp_l2_s_per_weight_client": 0.0018,
    # Paillier: one raw_encrypt per ciphertext at 2048 bits (measured here; the 4,022 ms round
    # of crypto_bench, encryptions in worker processes on several cores, is 10.3 ms of wall
    # time per ciphertext), times (key_bits / 2048) ** 3 (1024-bit measured: 7.3x cheaper)
    "paillier_s_per_ciphertext_2048": 0.0173,
    # CKKS (N = 8192, 4,096 slots): (53 - 7.9) ms a round at 10 clients, one ciphertext each
    "ckks_s_per_ciphertext_client": (0.053 - 0.0079) / 10,
    # secure aggregation: pairwise masks, clients x peers x weights: (73 - 7.9) ms at
    # 10 x 9 x 2,410 = 0.30 us; SecAgg+ with 4 neighbours (39 - 7.9) ms at 10 x 4 x 2,410 = 0.32 us
    "secagg_s_per_pair_weight": (0.039 - 0.0079) / (10 * 4 * 2410),
}
#: Paillier packs fixed-point slots (fedsim.privacy.he: clip 4, 24 fractional bits, headroom
#: for the sum of the sampled clients); CKKS holds 4,096 values per ciphertext.
_PAILLIER_CLIP, _PAILLIER_FRAC, _CKKS_SLOTS = 4.0, 24, 4096


def _paillier_slots(key_bits: int, clients: int) -> int:
    bits = (2 * math.ceil(_PAILLIER_CLIP * (1 << _PAILLIER_FRAC)) * max(1, clients)).bit_length()
    return max(1, (key_bits - 1) // (8 * math.ceil(bits / 8)))


@dataclass(frozen=True)
class Cost:
    """One line of a round's CPU bill."""

    what: str  # err.round.what.<what> names it to the user
    field: str  # the setting that turns it on (a classroom error names it)
    seconds: float
    detail: dict  # the label's placeholders (coordinates, weights, bits)


def round_costs(cfg: SimulationConfig, work_mflop: float, sampled: int,
                spec: ModelSpec | None = None) -> list[Cost]:
    """The CPU time of one round of ``cfg`` with ``sampled`` clients, by item: training
    (``work_mflop`` already counts DP-SGD's factor) and each protection that is on."""
    spec = spec or model_spec(cfg)
    sizes = layer_sizes(spec)
    weights = sum(sizes)
    p = cfg.privacy
    m = max(1, sampled)
    dpsgd = p.dp.mode == "dpsgd"
    out = [Cost("dpsgd" if dpsgd else "training",
                "privacy.dp.mode" if dpsgd else "training.local_epochs",
                work_mflop * COST["train_s_per_mflop"], {})]
    z = p.zkp
    if z.enabled:
        if z.norm == "l2":
            part = sizes[z.layer] if z.layer is not None and z.layer < len(sizes) else weights
            what = "zkp_l2" if z.layer is None else "zkp_l2_layer"
            out.append(Cost(what, "privacy.zkp.norm",
                            m * part * COST["zkp_l2_s_per_weight_client"],
                            {"k": f"{part:,}", "layer": z.layer}))
        else:
            k = min(z.coordinates, weights)
            field = "privacy.zkp.coordinates" if z.coordinates > type(z)().coordinates \
                else "privacy.zkp.enabled"
            out.append(Cost("zkp_linf", field, m * k * COST["zkp_linf_s_per_coord_client"],
                            {"k": f"{k:,}"}))
    he = p.he
    if he.enabled:
        part = sizes[he.layer] if he.layer is not None and he.layer < len(sizes) else weights
        if he.scheme == "paillier":
            cts = math.ceil(part / _paillier_slots(he.key_bits, m))
            each = COST["paillier_s_per_ciphertext_2048"] * (he.key_bits / 2048) ** 3
            # every client encrypts; the server decrypts the sum (about one client's worth)
            out.append(Cost("paillier", "privacy.he.scheme", (m + 1) * cts * each,
                            {"bits": he.key_bits}))
        else:
            cts = math.ceil(part / _CKKS_SLOTS)
            out.append(Cost("ckks", "privacy.he.scheme",
                            m * cts * COST["ckks_s_per_ciphertext_client"], {}))
    sa = p.secure_aggregation
    if sa.enabled:
        peers = m - 1 if sa.neighbors is None else min(sa.neighbors, m - 1)
        out.append(Cost("secagg", "privacy.secure_aggregation.enabled",
                        m * peers * weights * COST["secagg_s_per_pair_weight"], {}))
    return out


@dataclass(frozen=True)
class Estimate:
    train_rows: int
    params: int
    work_mflop: float  # one round: forward + backward ≈ 6 flops per weight and row (× DP-SGD)
    memory_mb: float
    round_seconds: float = 0.0  # CPU time of one round, protections included
    costs: tuple[Cost, ...] = ()


def _work_mflop(cfg: SimulationConfig, train: int, params: int, share: float) -> float:
    """MFLOP of one round: ``share`` of the ``train`` rows (the sampled clients'), each seen
    ``local_epochs`` times; DP-SGD's per-example gradients cost :data:`COST` ``dpsgd_factor``×."""
    work = 6.0 * train * share * cfg.training.local_epochs * params / 1e6
    return work * (COST["dpsgd_factor"] if cfg.privacy.dp.mode == "dpsgd" else 1.0)


def estimate(cfg: SimulationConfig, train_sizes: Sequence[int] | None = None) -> Estimate:
    """Work of one round and memory of one simulation. ``train_sizes`` (from the split, when
    known) gives the largest client, which sets the padding of the stacked client tensors."""
    ds = cfg.dataset
    rows, feats, _, _ = _data_shape(cfg)
    train = int(rows * (1 - ds.test_fraction) * (1 - ds.val_fraction))
    n = cfg.clients.num_clients
    spec = model_spec(cfg)
    params = param_count(spec)
    sampled = max(1, round(cfg.clients.fraction * n))
    work = _work_mflop(cfg, train, params, sampled / n)
    biggest = max(train_sizes) if train_sizes is not None and len(train_sizes) else train
    # stacked, padded client data (train + validation, x and y) and ~6 weight-sized copies per
    # client (local weights, gradients, optimizer slots, update, protected update)
    data = n * biggest * (feats + 1) * 4 * 2
    weights = n * params * 4 * 6
    costs = tuple(round_costs(cfg, work, sampled, spec))
    return Estimate(train, params, work, (data + weights) / 1e6,
                    sum(c.seconds for c in costs), costs)


def _max_clients(cfg: SimulationConfig, budget: float, train: int, params: int,
                 spec: ModelSpec) -> int:
    """The most clients ``cfg`` could have within ``budget`` CPU-seconds a round (0: none)."""
    frac, n = cfg.clients.fraction, cfg.clients.num_clients

    def fits(clients: int) -> bool:
        m = max(1, round(frac * clients))
        work = _work_mflop(cfg, train, params, m / clients)
        return sum(c.seconds for c in round_costs(cfg, work, m, spec)) <= budget

    if not fits(1):
        return 0
    lo, hi = 1, n  # fits(lo); the cost grows with the clients
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


class RoundCostError(LimitError):
    """A round's estimated CPU time is above ``max_round_seconds``: names the costliest
    protection's setting, its cost and how many clients would fit. Worded from the ``errors``
    catalogue: English for the engine's message, the session's language for the app."""

    def __init__(self, cost: Cost, clients: int, seconds: float, limit: int, allowed: int,
                 weights: int):
        self.cost, self.clients, self.seconds = cost, clients, seconds
        self.allowed_clients, self.weights = allowed, weights
        from fedsim_app import i18n

        with i18n.language("en"):
            value, limit_text = self._texts(limit)
        ConfigError.__init__(
            self, cost.field, value, limit_text, rule="limit",
            params={"limit": limit_text, "env": env_name("max_round_seconds"),
                    "cap": "max_round_seconds"},
            message=f"{cost.field}: {value} is above this server's classroom limit of "
                    f"{limit_text}; a teacher can raise it with "
                    f"{env_name('max_round_seconds')} or max_round_seconds in "
                    "the settings file")
        self.cap, self.limit = "max_round_seconds", limit

    def _texts(self, limit: int) -> tuple[str, str]:
        from fedsim_app.i18n import t, tn

        what = t(f"err.round.what.{self.cost.what}", **self.cost.detail)
        value = tn("err.round.value", self.clients, what=what, seconds=f"{self.seconds:,.0f}")
        allowed = (tn("err.round.allowed", self.allowed_clients, what=what)
                   if self.allowed_clients else
                   t("err.round.none", what=what, weights=f"{self.weights:,}"))
        return value, t("err.round.limit", seconds=f"{limit:,}", allowed=allowed)

    def fields(self) -> dict:
        """The parts of the message in the language of the code asking (the app's session)."""
        value, limit_text = self._texts(self.limit)
        return {**super().fields(), "value": value, "limit": limit_text}


def check(cfg: SimulationConfig, train_sizes: Sequence[int] | None = None,
          limits: Limits | None = None, *, memory: bool = True) -> None:
    """Raise :class:`LimitError` for the first cap ``cfg`` exceeds (``memory=False``: skip the
    memory estimate, which needs the split's client sizes to be accurate)."""
    lim = limits or current()
    for cap, value in (("max_clients", cfg.clients.num_clients),
                       ("max_rounds", cfg.rounds),
                       ("max_epochs", cfg.training.local_epochs)):
        if value > getattr(lim, cap):
            raise LimitError(cap, FIELDS[cap], value, getattr(lim, cap))
    if cfg.dataset.name in ("2d", "seed_regression") and \
            cfg.dataset.num_samples > lim.max_samples:
        raise LimitError("max_samples", "dataset.num_samples", cfg.dataset.num_samples,
                         lim.max_samples)
    if cfg.model_name == "mlp" and cfg.model.hidden > lim.max_hidden:
        raise LimitError("max_hidden", "model.hidden", cfg.model.hidden, lim.max_hidden)
    est = estimate(cfg, train_sizes)
    if est.work_mflop > lim.max_work_mflop:
        raise LimitError("max_work_mflop", "training.local_epochs", cfg.training.local_epochs,
                         lim.max_work_mflop,
                         what=f"{cfg.training.local_epochs} epoch(s) × {est.train_rows:,} rows "
                              f"× {est.params:,} weights"
                              + (f" × {COST['dpsgd_factor']} (DP-SGD)"
                                 if cfg.privacy.dp.mode == "dpsgd" else "")
                              + f" ≈ {est.work_mflop:,.0f} MFLOP per round", unit=" MFLOP")
    if est.round_seconds > lim.max_round_seconds:
        worst = max(est.costs, key=lambda c: c.seconds)
        spec = model_spec(cfg)
        raise RoundCostError(worst, cfg.clients.num_clients, est.round_seconds,
                             lim.max_round_seconds,
                             _max_clients(cfg, lim.max_round_seconds, est.train_rows,
                                          est.params, spec), est.params)
    if memory and est.memory_mb > lim.max_memory_mb:
        raise LimitError("max_memory_mb", "clients.num_clients", cfg.clients.num_clients,
                         lim.max_memory_mb, unit=" MB",
                         what=f"{cfg.clients.num_clients} clients need ≈ "
                              f"{est.memory_mb:,.0f} MB")
