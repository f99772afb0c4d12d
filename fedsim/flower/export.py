"""Export a fedsim experiment as a self-contained Flower App (``flwr`` Message API).

``export_app(cfg, directory)`` writes::

    DIR/pyproject.toml            [tool.flwr.app] publisher, components, run config
    DIR/fedsim_app/server_app.py  ServerApp: Strategy.start with fedsim's evaluation
    DIR/fedsim_app/client_app.py  ClientApp: one fedsim client per SuperNode (partition-id)
    DIR/fedsim_app/strategies.py  Flower strategies set to fedsim's conventions
    DIR/fedsim_app/task.py        the Keras model and local training loop
    DIR/fedsim_app/settings.json  the experiment (rounds, training, strategy, DP)
    DIR/data/                     initial_weights.npz, client_<k>.npz, server_test.npz,
                                  partition.json (fedsim's client indices), run_header.json
    DIR/README.md                 how to run it (simulation, deployment)

The app depends on ``flwr`` and TensorFlow only, not on fedsim: the split, the standardized
features and the seeded initial weights are the arrays fedsim computed. (Flower's FAB bundles
only carry code and configuration, at most 10 MB, so the arrays live in ``data/`` beside the
app; each SuperNode reads its own file from ``data-dir``.)

How fedsim's settings map to Flower (a combination Flower cannot express raises
:class:`~fedsim.errors.IncompatibleConfigError` naming the field and what Flower lacks):

=====================================  =====================================================
fedsim                                  Flower
=====================================  =====================================================
fedavg, weighted                        ``FedAvg(weighted_by_key="num-examples")``
fedavg, simple mean                     ``FedAvg(weighted_by_key="unit-weight")``
training.prox_mu > 0                    ``FedProx(proximal_mu=μ)`` (the ClientApp adds μ/2‖w−w_g‖²)
server_optimizer sgd, server_lr ≠ 1     ``FedAvgM(server_learning_rate=η, server_momentum=0)``
fedavgm                                 ``FedAvgM(server_learning_rate=η, server_momentum=β)``
fedadam / fedyogi / fedadagrad          ``FedAdam``/``FedYogi``/``FedAdagrad`` subclassed: v₀ = τ²
                                        and (Adam) no bias correction, as fedsim does
median                                  ``FedMedian``
trimmed_mean                            ``FedTrimmedAvg(beta=trim_fraction)`` (fedsim keeps at
                                        least one value when 2·⌊βK⌋ ≥ K; Flower's β < 0.5 does too)
krum (select 1) / Multi-Krum            ``Krum`` / ``MultiKrum`` (plain mean of the selected)
central DP, fixed clip                  ``DifferentialPrivacyServerSideFixedClipping``
local DP                                ``LocalDpMod`` with ε chosen so its noise std is z·C
=====================================  =====================================================

Differences that remain (documented, not hidden):

- Client sampling: fedsim draws clients from its own seeded stream (Poisson with central DP);
  Flower's grid samples ``round(fraction·N)`` nodes uniformly with its own RNG. With
  ``fraction = 1`` both train every client every round.
- Batch order: each ClientApp shuffles with ``default_rng([seed, round, partition-id])``;
  fedsim draws all clients' orders in one vectorized call. Same distribution, other draws, so
  curves agree within noise (≈ ±0.5 accuracy points on digits), not bit for bit.
- Central DP: Flower's wrapper adds N(0, (z·C/m)²) to the *mean of the m sampled* clients'
  clipped updates (fixed-size sampling, so no amplification by Poisson sampling, and the mean
  is over the clients that arrived). fedsim Poisson-samples, divides the noisy sum by the
  *expected* count qN and accounts ε with RDP/PLD; Flower 1.42 reports no ε unless given an
  accountant. With fraction 1 and no dropout the released model has the same distribution.
  Adaptive clipping is refused: Flower's ``DifferentialPrivacyServerSideAdaptiveClipping``
  moves the clip bound the opposite way (``C·exp(−η(clipped_fraction − γ))`` grows C when few
  updates are clipped). Server optimizers other than plain FedAvg under central DP are refused
  (Flower adds the noise after the inner strategy's step; fedsim before it).
- Local DP: ``LocalDpMod`` clips to C and adds N(0, σ²) with σ = C·√(2 ln(1.25/δ))/ε; the
  export sets ε = √(2 ln(1.25/δ))/z so σ = z·C as in fedsim. The ε Flower logs is that
  classical per-round bound (valid for ε < 1), not fedsim's accountant.
- Refused: DP-SGD (Flower ships no per-example DP; its Opacus example is PyTorch), secure
  aggregation (Flower's SecAgg+ runs as a ``SecAggPlusWorkflow`` of the legacy strategy API,
  not with ``flwr.serverapp.strategy``), homomorphic encryption and zero-knowledge proofs
  (not in Flower), simulated dropout and malicious clients (fedsim's teaching devices), and
  FedProx together with a server optimizer or robust aggregator.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np

from fedsim.config import SimulationConfig
from fedsim.errors import IncompatibleConfigError, short

TEMPLATE = Path(__file__).resolve().parent / "app_template"
PACKAGE = "fedsim_app"
_FILES = ("__init__.py", "task.py", "client_app.py", "server_app.py", "strategies.py")


def _lacks(field: str, value: object, what: str) -> IncompatibleConfigError:
    return IncompatibleConfigError(field, value, what, message=(
        f"{field}: got {value!r}; the Flower export cannot express this: {what}"))


def flower_strategy(cfg: SimulationConfig) -> dict:
    """The Flower strategy settings for ``cfg`` (no TensorFlow, no flwr import needed).

    Raises :class:`~fedsim.errors.IncompatibleConfigError` with one line naming the field and
    what Flower lacks.
    """
    agg, tr, priv = cfg.aggregation, cfg.training, cfg.privacy
    n = cfg.clients.num_clients
    m = max(1, int(round(cfg.clients.fraction * n)))
    if cfg.clients.dropout > 0:
        raise _lacks("clients.dropout", cfg.clients.dropout,
                     "Flower has no simulated dropout (on real machines, a node that does not "
                     "reply is simply left out of the round); use 0")
    if cfg.clients.malicious.ids:
        raise _lacks("clients.malicious.ids", list(cfg.clients.malicious.ids),
                     "Flower has no built-in malicious clients; use []")
    if priv.secure_aggregation.enabled:
        raise _lacks("privacy.secure_aggregation.enabled", True,
                     "Flower's SecAgg+ is a SecAggPlusWorkflow of the legacy strategy API, not "
                     "available to flwr.serverapp.strategy; use false")
    if priv.he.enabled:
        raise _lacks("privacy.he.scheme", priv.he.scheme,
                     "Flower has no homomorphic encryption; use 'off'")
    if priv.zkp.enabled:
        raise _lacks("privacy.zkp.enabled", True,
                     "Flower has no zero-knowledge proofs; use false")
    dp = priv.dp
    if dp.mode == "dpsgd":
        raise _lacks("privacy.dp.mode", "dpsgd",
                     "Flower ships no example-level DP-SGD (its Opacus example is PyTorch); "
                     "use 'central', 'local' or 'off'")
    if dp.mode != "off" and dp.target_epsilon is not None:
        raise _lacks("privacy.dp.target_epsilon", dp.target_epsilon,
                     "Flower's DP wrappers take a noise multiplier, not a target ε; set "
                     "privacy.dp.noise_multiplier and target_epsilon null")
    if dp.mode == "central" and dp.adaptive_clip:
        raise _lacks("privacy.dp.adaptive_clip", True,
                     "Flower 1.42's DifferentialPrivacyServerSideAdaptiveClipping moves the "
                     "clip bound the wrong way (it grows when few updates are clipped); use "
                     "false")
    if dp.mode == "local" and dp.noise_multiplier <= 0:
        raise _lacks("privacy.dp.noise_multiplier", dp.noise_multiplier,
                     "Flower's LocalDpMod needs noise (ε < ∞); use > 0")
    opt = agg.server_optimizer
    lr = float(getattr(agg, "effective_server_lr", agg.server_lr))
    plain = opt == "sgd" and lr == 1.0
    s: dict = {"fraction_train": float(cfg.clients.fraction), "min_train_nodes": m,
               "min_available_nodes": n, "client_lr": float(tr.lr),
               "weighted_by_key": "num-examples" if (agg.name == "fedavg" and agg.weighted)
               else "unit-weight"}
    if tr.prox_mu > 0 and not (agg.name == "fedavg" and plain):
        raise _lacks("training.prox_mu", tr.prox_mu,
                     "Flower's FedProx is FedAvg with a proximal term; it has no server "
                     "optimizer or robust aggregator; use aggregation fedavg with "
                     "server_optimizer 'sgd' and server_lr 1, or prox_mu 0")
    if agg.name != "fedavg" and not plain:
        raise _lacks("aggregation.server_optimizer", opt,
                     f"Flower's {agg.name} strategy applies its result directly, with no server "
                     "optimizer; use 'sgd' with server_lr 1")
    if dp.mode == "central" and not plain:
        raise _lacks("aggregation.server_optimizer", opt,
                     "Flower's central-DP wrapper adds noise after the inner strategy's server "
                     "step, fedsim before it; use 'sgd' with server_lr 1 under central DP")
    if agg.name == "fedavg":
        if tr.prox_mu > 0:
            s.update(kind="fedprox", proximal_mu=float(tr.prox_mu))
        elif plain:
            s["kind"] = "fedavg"
        elif opt in ("sgd", "fedavgm"):
            s.update(kind="fedavgm", server_lr=lr,
                     server_momentum=float(agg.server_momentum) if opt == "fedavgm" else 0.0)
        else:
            s.update(kind=opt, server_lr=lr, beta1=float(agg.beta1),
                     beta2=float(agg.beta2), tau=float(agg.tau))
    elif agg.name == "median":
        s["kind"] = "fedmedian"
    elif agg.name == "trimmed_mean":
        s.update(kind="fedtrimmedavg", beta=float(agg.trim_fraction))
    else:  # krum
        s.update(kind="krum" if agg.krum_select == 1 else "multikrum",
                 num_malicious_nodes=int(agg.krum_byzantine),
                 num_nodes_to_select=int(agg.krum_select))
    if dp.mode == "central":
        s["central_dp"] = {"noise_multiplier": float(dp.noise_multiplier),
                           "clip": float(dp.clip), "num_sampled_clients": m}
    return s


def _dp_settings(cfg: SimulationConfig) -> dict:
    dp = cfg.privacy.dp
    out = {"mode": dp.mode, "clip": float(dp.clip), "delta": float(dp.delta),
           "noise_multiplier": float(dp.noise_multiplier)}
    if dp.mode == "local":
        out["flower_epsilon"] = math.sqrt(2 * math.log(1.25 / dp.delta)) / dp.noise_multiplier
    return out


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
                 "\f": "\\f", "\r": "\\r"}


def toml_string(value: str, field: str = "DIR") -> str:
    """``value`` as a TOML basic string (``"..."``).

    Every character is written as itself (the file is UTF-8) except the ones TOML requires
    escaped: the quote, the backslash and the control characters (U+0000-U+001F, U+007F).
    ``json.dumps`` was used before, and it writes a character outside the BMP (an emoji in a
    folder name) as a UTF-16 surrogate pair, ``\\ud83d\\ude42``, which TOML rejects ("not a
    Unicode scalar value"), so ``flwr`` could not read the exported app. A lone surrogate (a
    byte of the path that is not UTF-8, kept by Python's surrogateescape) has no TOML form at
    all and is refused, naming ``field``.
    """
    out = []
    for ch in value:
        o = ord(ch)
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04X}")
        elif 0xD800 <= o <= 0xDFFF:
            raise IncompatibleConfigError(field, value, "a path that is valid Unicode", message=(
                f"{field}: got {short(value)}; allowed: a path that is valid Unicode (it has "
                "a byte that is not UTF-8, which pyproject.toml cannot hold)"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _check_toml(text: str, expected: dict, where: Path) -> None:
    """Parse ``text`` with ``tomllib`` and compare ``[tool.flwr.app.config]`` with
    ``expected``: a pyproject.toml that Flower cannot read, or reads differently, is an error
    here rather than an exported app that fails later on another machine."""
    import tomllib

    try:
        got = tomllib.loads(text)["tool"]["flwr"]["app"]["config"]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        got, why = None, f"{type(exc).__name__}: {exc}"
    else:
        why = "values differ"
    if got != expected:
        raise IncompatibleConfigError("DIR", str(where), "a folder path TOML can hold", message=(
            f"DIR: got {short(str(where))}; the pyproject.toml written for it does not read back "
            f"({why}); allowed: a folder path TOML can hold"))


def _run_config(cfg: SimulationConfig, data_dir: Path, result_path: Path) -> dict:
    """``[tool.flwr.app.config]`` as data: what :func:`_pyproject` writes and must read back."""
    return {"num-server-rounds": int(cfg.rounds), "seed": int(cfg.seed),
            "data-dir": str(data_dir), "result-path": str(result_path)}


def _pyproject(cfg: SimulationConfig, data_dir: Path, result_path: Path) -> str:
    run = _run_config(cfg, data_dir, result_path)
    return f'''[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "fedsim-app"
version = "1.0.0"
description = "A fedsim experiment exported to Flower (seed {cfg.seed}, {cfg.clients.num_clients} clients)"
license = "Apache-2.0"
dependencies = [
    "flwr[simulation]>=1.20",
    "tensorflow-cpu>=2.16; platform_machine == 'x86_64'",
    "tensorflow>=2.16; platform_machine != 'x86_64'",
    "numpy>=1.26",
]

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "fedsim"

[tool.flwr.app.components]
serverapp = "{PACKAGE}.server_app:app"
clientapp = "{PACKAGE}.client_app:app"

[tool.flwr.app.config]
num-server-rounds = {run["num-server-rounds"]}
seed = {run["seed"]}
data-dir = {toml_string(run["data-dir"])}
result-path = {toml_string(run["result-path"])}
'''


_README = """# fedsim experiment on Flower

Exported by `python -m fedsim flower export`. {n} clients, {rounds} rounds, strategy `{kind}`.

Simulation Engine (one machine, Ray):

    python -m fedsim flower run --config fedsim_config.json --out run.json

Deployment Engine (one SuperLink, one SuperNode per client; Flower 1.42 serves the Fleet and
Control APIs on one HTTP port, 8000 by default):

    # server machine
    flower-superlink --insecure --host 0.0.0.0 --port 8000 --disable-runtime-dependency-installation
    # client machine k = 0..{last}, holding data/client_k.npz in /data/fedsim
    flower-supernode --insecure --superlink SERVER:8000 \\
        --node-config "partition-id=k num-partitions={n} data-dir=/data/fedsim"
    # your laptop: add to ~/.flwr/config.toml
    #   [superlink.lab]
    #   address = "SERVER:8000"
    #   insecure = true
    flwr run . lab --stream --run-config 'data-dir="/srv/fedsim/data" result-path="/srv/fedsim/run.json"'

Every SuperNode needs `data-dir` to hold `client_<partition-id>.npz`; the SuperLink's needs
`initial_weights.npz`, `server_test.npz` and `run_header.json` (the `data-dir` in the run
config). The ServerApp writes fedsim's run JSON to `result-path`.
"""


def export_app(cfg: SimulationConfig, directory, *, federation=None) -> Path:
    """Write a Flower App for ``cfg`` into ``directory`` (created; must be empty if it exists).

    Returns the directory. ``federation`` (from :func:`fedsim.engine.federation.build_federation`)
    may be passed to reuse an already built split.
    """
    strategy = flower_strategy(cfg)  # fail fast, before TensorFlow
    out = Path(directory).resolve()
    if out.exists() and any(out.iterdir()):
        raise IncompatibleConfigError("DIR", str(out), "an empty or new folder",
                                      message=f"flower export: {str(out)!r} is not empty")
    pkg, data = out / PACKAGE, out / "data"
    # The pyproject.toml names this folder; check it reads back before anything is written.
    pyproject = _pyproject(cfg, data, out / "result.json")
    _check_toml(pyproject, _run_config(cfg, data, out / "result.json"), out)
    from fedsim.training.models import initial_weights
    from fedsim.engine.federation import build_federation

    fed = federation or build_federation(cfg)
    pkg.mkdir(parents=True)
    data.mkdir()
    for f in _FILES:
        shutil.copyfile(TEMPLATE / f, pkg / f)
    weights = initial_weights(fed.spec, cfg.seed)
    np.savez(data / "initial_weights.npz", **{f"w{i}": w for i, w in enumerate(weights)})
    cd = fed.client_data
    for k in range(len(cd.counts)):
        x, y, xv, yv = cd.client(k)  # one client's rows, never every client's padded block
        np.savez(data / f"client_{k}.npz", x_train=x, y_train=y, x_val=xv, y_val=yv)
    np.savez(data / "server_test.npz", x_test=np.asarray(fed.data.x_test),
             y_test=np.asarray(fed.data.y_test))
    part = fed.partition
    (data / "partition.json").write_text(json.dumps({
        "note": "row indices into fedsim's standardized training pool; val marks each "
                "client's local validation rows",
        "clients": [{"id": k, "indices": np.asarray(idx).tolist(),
                     "val": np.asarray(val).astype(bool).tolist()}
                    for k, (idx, val) in enumerate(zip(part.indices, part.val_mask))]}))
    num_params = int(sum(w.size for w in weights))
    counts = fed.label_counts()
    task = fed.data.task
    header = {
        "config": cfg.to_dict(), "task": task, "num_params": num_params,
        "partition": {
            "labels": list(fed.data.class_names) if task == "classification"
            else [f"bin {i}" for i in range(counts.shape[1])],
            "clients": [{"id": k, "num_examples": int(part.sizes()[k]),
                         "label_counts": counts[k].tolist()} for k in range(len(counts))]}}
    (data / "run_header.json").write_text(json.dumps(header))
    spec = fed.spec
    settings = {
        "seed": cfg.seed, "num_rounds": cfg.rounds, "num_clients": cfg.clients.num_clients,
        "task": task, "num_params": num_params,
        "model": {"name": spec.name, "num_features": spec.num_features,
                  "num_outputs": spec.num_outputs, "hidden": spec.hidden,
                  "image_shape": list(spec.image_shape) if spec.image_shape else None},
        "training": cfg.training.to_dict(), "strategy": strategy, "dp": _dp_settings(cfg),
        "data_dir": str(data), "result_path": str(out / "result.json")}
    (pkg / "settings.json").write_text(json.dumps(settings, indent=1))
    (out / "fedsim_config.json").write_text(cfg.to_json())
    (out / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    # ...and that what is on disk reads back too (Flower reads the file, not the string).
    _check_toml((out / "pyproject.toml").read_bytes().decode("utf-8"),
                _run_config(cfg, data, out / "result.json"), out)
    (out / "README.md").write_text(_README.format(n=cfg.clients.num_clients, rounds=cfg.rounds,
                                                  kind=strategy["kind"],
                                                  last=cfg.clients.num_clients - 1))
    return out
