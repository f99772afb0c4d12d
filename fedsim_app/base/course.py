"""The guided lessons: what each step sets, runs, asks, measures and claims (pure: no Streamlit).

A lesson is a list of steps. Every step

- **sets the configuration it talks about** (``changes`` on top of the lesson's ``base``; the
  page loads it into the app, so the page the step points at shows the same run),
- **points at one page** (``page``): the "where to look" line names it and its button opens
  it, both from this one field; the catalogue's ``look`` text only says what to look at there,
- **asks a guess-then-reveal question**: the student picks an option *before* the run; then
  every variant in ``runs`` is run by the real engine (:func:`numbers` of a training run, or
  :func:`fedsim.tools.reconstruct.reconstruct` for a step with ``invert``), ``measure`` turns
  the results into numbers, and ``truth`` says which option those numbers make right. The
  right answer is never written down in advance: it is whatever the engine measured.
- **makes a claim** (``claim``): the option its text teaches. ``bench/check_lessons.py`` runs
  every step for several seeds and reports, per step, for how many of them ``truth`` gave
  ``claim``; the setups are chosen so that it does for seeds 0–4.

Texts live in the ``lessons`` catalogue domain under ``lesson.<lesson>.<step>.*`` (``title``,
``body``, ``q``, ``reveal``, ``why``, ``look``, ``run.<name>`` for every run's legend label,
options ``opt.<id>`` unless shared). **No figure is written into a text**: every number is a
``{placeholder}``, filled from

- the step's configuration (:func:`setup`: ``{rounds}``, ``{epochs}``, ``{alpha}``…, and the
  ``shows`` of other runs' configurations), known before the run, so ``body`` and ``q`` can use
  them;
- the step's constants (``consts``: the thresholds its ``truth`` compares with), and
- after the run, the measured values (``measure``), formatted as ``fmt`` says.

A sentence that depends on what was measured ("no client dominates") is not written once: the
``why`` text has one catalogue variant per outcome (``why.<variant>``), chosen by ``says``
(default: the truth) from the measured values.

Misconceptions confronted (Teaching notes, ``MISCONCEPTIONS``; shown after the reveal): the
server sees the data (flow.localize), noise always ruins accuracy (dp.noise), more local epochs
make up for skewed data (noniid.epochs), encryption makes poisoning impossible
(attacks.secagg), a high test accuracy means nothing is wrong (attacks.backdoor), privacy cost
grows linearly with rounds (dp.growth), only updates travel so nothing leaks (server.leak).

To add a lesson: append a :class:`Lesson` to ``LESSONS`` and its texts to
``fedsim_app/i18n/locales/*/lessons.json`` (the catalogue tests list what is missing), then run
``make check-lessons``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from fedsim.config import SimulationConfig
from fedsim.engine.runner import RunSummary

from fedsim_app.base import runs
from fedsim_app.base.params import get_path, with_changes

Summary = Mapping[str, Any]
Measured = dict[str, Any]


@dataclass(frozen=True)
class Step:
    id: str
    #: dotted-path changes on the lesson's base: the setup this step shows and loads
    changes: Mapping[str, Any]
    #: (name, extra changes on top of ``changes``) for each run the reveal needs; "this" = as is
    runs: tuple[tuple[str, Mapping[str, Any]], ...]
    measure: Callable[[Mapping[str, Summary]], Measured]
    #: which option the measured values (and ``consts``) make right
    truth: Callable[[Measured], str]
    #: the option the step's text teaches (checked for many seeds by bench/check_lessons.py)
    claim: str
    options: tuple[str, ...] = ("yes", "no")
    #: placeholder → "pct" (0.853 → 85.3%), "pct0" (→ 85%), "pts" (0.042 → 4.2),
    #: "n0"/"n1"/"n2"/"n3" decimals; for measured values and ``consts``
    fmt: Mapping[str, str] = field(default_factory=dict)
    #: the one page the step points at (url_path): named in "where to look", opened by its button
    page: str = "training"
    code: tuple[str, ...] = ()  # code_views ids shown under "Show the code"
    #: the metric curves (by run name) drawn next to the reveal
    curves: tuple[str, ...] = ()
    #: the thresholds ``truth`` compares with, also shown in the texts (``{name}``)
    consts: Mapping[str, float] = field(default_factory=dict)
    #: extra setup placeholders from another run's configuration: name → (run, dotted path)
    shows: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: which ``why`` variant the measured values call for (default: the truth, when
    #: ``variants`` is empty: then ``why`` is one text); returns one of ``variants``
    says: Callable[[Measured], str] | None = None
    variants: tuple[str, ...] = ()
    #: the runs are the server's reconstruction of a client's digit from what it receives
    invert: bool = False

    def why_variant(self, measured: Measured) -> str | None:
        """The ``why`` variant for ``measured`` (None: the step has one ``why`` text)."""
        if not self.variants:
            return None
        return self.says(measured) if self.says else self.truth(measured)


@dataclass(frozen=True)
class Lesson:
    id: str
    icon: str
    base: Mapping[str, Any]
    steps: tuple[Step, ...]


def _final(s: Summary) -> float:
    return float(s["metric"][-1])


def _at(s: Summary, r: int) -> float:
    return float(s["metric"][r])


def _yes(cond: bool) -> str:
    return "yes" if cond else "no"


def _best(measured: Measured, by_option: Mapping[str, str], tol: float = 0.005) -> str:
    """The option whose measured value is highest; an earlier option wins ties within ``tol``."""
    best = max(measured[v] for v in by_option.values())
    return next(o for o, v in by_option.items() if measured[v] >= best - tol)


THIS = (("this", {}),)

#: Setup placeholders every step has (from its own configuration): name → (path, kind).
#: kind "num" (as few decimals as the value needs), "pct0" (a fraction as a whole percent),
#: "pow10" (10⁻⁵).
SETUP: dict[str, tuple[str, str]] = {
    "rounds": ("rounds", "num"), "clients": ("clients.num_clients", "num"),
    "epochs": ("training.local_epochs", "num"), "lr": ("training.lr", "num"),
    "alpha": ("partition.alpha", "num"), "classes": ("partition.classes_per_client", "num"),
    "sigma": ("partition.sigma", "num"), "fraction": ("clients.fraction", "pct0"),
    "dropout": ("clients.dropout", "pct0"), "val_share": ("dataset.val_fraction", "pct0"),
    "z": ("privacy.dp.noise_multiplier", "num"), "clip": ("privacy.dp.clip", "num"),
    "delta": ("privacy.dp.delta", "pow10"), "mu": ("training.prox_mu", "num"),
    "slr": ("aggregation.server_lr", "num"),
    "threshold": ("privacy.secure_aggregation.threshold", "pct0"),
    "bound": ("privacy.zkp.bound", "num"), "coords": ("privacy.zkp.coordinates", "num"),
    "factor": ("clients.malicious.factor", "num"), "norm_bound": ("aggregation.norm_bound", "num"),
    "target_label": ("clients.malicious.target_label", "num"),
}

_ARTICLE = {"rounds": 30, "dataset.name": "seed_regression", "dataset.num_samples": 2000,
            "model.name": "seed_mlp", "training.lr": 0.02}
_PATHO = {"partition.name": "pathological", "partition.classes_per_client": 1}
_PENGUINS = {"dataset.name": "penguins", "partition.name": "natural", "clients.num_clients": 3,
             "model.hidden": 16, "rounds": 20}
_CENTRAL_DP = {"rounds": 30, "clients.num_clients": 100, "clients.fraction": 0.2,
               "training.local_epochs": 2, "training.lr": 0.1, "privacy.dp.mode": "central",
               "privacy.dp.clip": 1.0, "privacy.dp.noise_multiplier": 1.0}
_ATTACKER = {"clients.malicious.ids": [3], "clients.malicious.attack": "scale",
             "clients.malicious.factor": -10.0}
_SECAGG = {"privacy.secure_aggregation.enabled": True}
_LOCAL_DP = {"privacy.secure_aggregation.enabled": False, "privacy.dp.mode": "local",
             "privacy.dp.clip": 1.0, "privacy.dp.noise_multiplier": 1.0}


def _hidden(r: Summary) -> float:
    """Width of the article's hidden layer from its parameter count: p = f·h + h + h + 1."""
    return (r["num_params"] - 1) / (r["features"] + 2)


def _inversion(r: Summary) -> Measured:
    return {"psnr": float(r["psnr"]), "guess": float(r["baseline_psnr"]["mean"]),
            "label": r["labels"][0], "got": r["recovered_labels"][0]}


LESSONS: tuple[Lesson, ...] = (
    Lesson("flow", ":material/route:", _ARTICLE, (
        Step("init", {}, (("this", {"rounds": 1}),),
             measure=lambda r: {"params": r["this"]["num_params"],
                                "features": r["this"]["features"],
                                "hidden": _hidden(r["this"])},
             truth=lambda m: min(("110", "1021", "1100", "10100"),
                                 key=lambda o: abs(int(o) - m["params"])),
             claim="1021", options=("110", "1021", "1100", "10100"),
             fmt={"params": "n0", "features": "n0", "hidden": "n0"}, code=("init",)),
        Step("localize", {}, (("this", {"rounds": 1}),),
             measure=lambda r: {"up": r["this"]["bytes_up_per_client"],
                                "weights": 4 * r["this"]["num_params"],
                                "rows": r["this"]["sizes"][0],
                                "val": r["this"]["val_sizes"][0],
                                "data_bytes": r["this"]["sizes"][0] * 4 * r["this"]["features"]},
             truth=lambda m: _yes(m["up"] > m["weights"]), claim="no",
             fmt={"up": "n0", "weights": "n0", "rows": "n0", "val": "n0", "data_bytes": "n0"},
             says=lambda m: "same" if m["up"] == m["weights"] else _yes(m["up"] > m["weights"]),
             variants=("same", "yes", "no"), page="data", code=("localize",)),
        Step("train", {"rounds": 10}, (("this", {}), ("e5", {"training.local_epochs": 5})),
             measure=lambda r: {"e1": _final(r["this"]), "e5": _final(r["e5"])},
             truth=lambda m: _yes(m["e5"] < m["e1"]), claim="yes", fmt={"e1": "n3", "e5": "n3"},
             shows={"more": ("e5", "training.local_epochs")}, variants=("yes", "no"),
             code=("train",), curves=("this", "e5")),
        Step("aggregate", {}, (("this", {}), ("simple", {"aggregation.weighted": False})),
             measure=lambda r: {"weighted": _final(r["this"]), "simple": _final(r["simple"]),
                                "gap": abs(_final(r["this"]) - _final(r["simple"]))
                                / max(_final(r["this"]), 1e-12),
                                "smallest": min(r["this"]["sizes"]),
                                "largest": max(r["this"]["sizes"])},
             truth=lambda m: _yes(m["gap"] > m["tol"]), claim="no", consts={"tol": 0.01},
             fmt={"weighted": "n3", "simple": "n3", "gap": "pct", "tol": "pct0",
                  "smallest": "n0", "largest": "n0"},
             says=lambda m: "equal" if m["smallest"] == m["largest"] else "unequal",
             variants=("equal", "unequal"), code=("aggregate",), curves=("this", "simple")),
        Step("update", {"aggregation.server_lr": 1.0},
             (("this", {}), ("half", {"aggregation.server_lr": 0.5})),
             measure=lambda r: {"full": _final(r["this"]), "half": _final(r["half"])},
             truth=lambda m: "lower" if m["half"] < m["full"] else "higher", claim="higher",
             options=("lower", "higher"), fmt={"full": "n3", "half": "n3"},
             shows={"eta": ("half", "aggregation.server_lr")}, variants=("lower", "higher"),
             code=("update",), curves=("this", "half")),
        Step("evaluate", {}, THIS,
             measure=lambda r: {"fed": _final(r["this"]), "central": r["this"]["centralized"],
                                "ratio": _final(r["this"]) / max(r["this"]["centralized"], 1e-12)
                                - 1.0},
             truth=lambda m: _yes(m["fed"] > m["central"]), claim="yes",
             fmt={"fed": "n3", "central": "n3", "ratio": "pct"}, variants=("yes", "no"),
             code=("evaluate",)),
    )),
    Lesson("noniid", ":material/scatter_plot:", {"rounds": 10}, (
        Step("iid", {"partition.name": "iid"}, THIS,
             measure=lambda r: {"acc": _final(r["this"])},
             truth=lambda m: _yes(m["acc"] >= m["target"]), claim="yes", consts={"target": 0.8},
             fmt={"acc": "pct", "target": "pct0"}, variants=("yes", "no"), page="data",
             code=("localize",), curves=("this",)),
        Step("dirichlet", {"partition.name": "dirichlet", "partition.alpha": 0.1,
                           "training.local_epochs": 5},
             (("this", {}), ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"early": _at(r["this"], 2), "iid_early": _at(r["iid"], 2),
                                "gap": _at(r["iid"], 2) - _at(r["this"], 2),
                                "acc": _final(r["this"]), "iid": _final(r["iid"]),
                                "gap_end": _final(r["iid"]) - _final(r["this"]),
                                "skew": r["this"]["skew"]},
             truth=lambda m: _yes(m["gap"] >= m["behind"]), claim="yes",
             consts={"at": 2, "behind": 0.05},
             fmt={"early": "pct", "iid_early": "pct", "gap": "pts", "acc": "pct", "iid": "pct",
                  "gap_end": "pts", "skew": "n2", "at": "n0", "behind": "pts"},
             says=lambda m: ("no" if m["gap"] < m["behind"] else
                             "caught_up" if m["gap_end"] <= 0.005 else "yes"),
             variants=("yes", "caught_up", "no"), page="data", curves=("this", "iid")),
        Step("pathological", _PATHO, (("this", {}), ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"acc": _final(r["this"]), "iid": _final(r["iid"]),
                                "gap": _final(r["iid"]) - _final(r["this"])},
             truth=lambda m: _yes(m["gap"] >= m["behind"]), claim="yes",
             consts={"behind": 0.05},
             fmt={"acc": "pct", "iid": "pct", "gap": "pts", "behind": "pts"},
             variants=("yes", "no"), page="data", curves=("this", "iid")),
        # The classroom caps local epochs at 20 (fedsim_app/base/limits.py): the sweep ends there.
        Step("epochs", {**_PATHO, "training.local_epochs": 20},
             (("e1", {"training.local_epochs": 1}), ("e5", {"training.local_epochs": 5}),
              ("this", {}), ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"e1": _final(r["e1"]), "e5": _final(r["e5"]),
                                "e20": _final(r["this"]), "iid": _final(r["iid"]),
                                "gain": _final(r["this"]) - _final(r["e5"]),
                                "gap": _final(r["iid"]) - _final(r["this"])},
             truth=lambda m: _yes(m["gain"] >= m["enough"]), claim="no",
             consts={"enough": 0.10},
             fmt={"e1": "pct", "e5": "pct", "e20": "pct", "iid": "pct", "gain": "pts",
                  "gap": "pts", "enough": "pts"},
             shows={"one": ("e1", "training.local_epochs"), "few": ("e5", "training.local_epochs")},
             says=lambda m: ("yes" if m["gain"] >= m["enough"] else
                             "hurt" if m["gain"] < 0 else "no"),
             variants=("yes", "no", "hurt"), code=("train",), curves=("e1", "e5", "this", "iid")),
        Step("drift", {**_PATHO, "training.local_epochs": 20},
             (("this", {}), ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"first": _at(r["this"], 1), "iid_first": _at(r["iid"], 1),
                                "gap": _at(r["iid"], 1) - _at(r["this"], 1),
                                "acc": _final(r["this"]), "iid": _final(r["iid"])},
             truth=lambda m: _yes(m["gap"] >= m["behind"]), claim="yes",
             consts={"behind": 0.30},
             fmt={"first": "pct", "iid_first": "pct", "gap": "pts", "behind": "pts",
                  "acc": "pct", "iid": "pct"},
             variants=("yes", "no"), curves=("this", "iid")),
        Step("fedprox", {**_PATHO, "training.local_epochs": 20, "training.prox_mu": 0.1},
             (("fedavg", {"training.prox_mu": 0.0}), ("small", {"training.prox_mu": 0.01}),
              ("this", {}), ("large", {"training.prox_mu": 1.0})),
             measure=lambda r: {"a0": _final(r["fedavg"]), "a_small": _final(r["small"]),
                                "a_mid": _final(r["this"]), "a_large": _final(r["large"])},
             truth=lambda m: _best(m, {"mu0": "a0", "small": "a_small", "mid": "a_mid",
                                       "large": "a_large"}),
             claim="mu0", options=("mu0", "small", "mid", "large"),
             fmt={"a0": "pct", "a_small": "pct", "a_mid": "pct", "a_large": "pct"},
             shows={"mu_0": ("fedavg", "training.prox_mu"), "mu_s": ("small", "training.prox_mu"),
                    "mu_l": ("large", "training.prox_mu")},
             says=lambda m: "none" if max(m["a_small"], m["a_mid"], m["a_large"])
             <= m["a0"] + 0.005 else "helps",
             variants=("none", "helps"), code=("train",),
             curves=("fedavg", "small", "this", "large")),
        # Real data split by nature (issue #25): Palmer penguins, one client per island.
        # Torgersen has only Adelie penguins; the same rows split IID are the comparison.
        Step("natural", _PENGUINS, (("this", {}), ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"skew": r["this"]["skew"], "iid_skew": r["iid"]["skew"],
                                "acc": _final(r["this"]), "iid": _final(r["iid"])},
             truth=lambda m: _yes(m["skew"] >= m["iid_skew"] + m["apart"]), claim="yes",
             consts={"apart": 0.2},
             fmt={"skew": "n2", "iid_skew": "n2", "acc": "pct", "iid": "pct", "apart": "n1"},
             variants=("yes", "no"), page="data", curves=("this", "iid")),
    )),
    Lesson("weights", ":material/balance:", {"rounds": 20, "partition.name": "quantity",
                                             "partition.sigma": 1.5}, (
        Step("sizes", {}, (("this", {"rounds": 1}),),
             measure=lambda r: {"share": max(r["this"]["sizes"]) / sum(r["this"]["sizes"]),
                                "largest": max(r["this"]["sizes"]),
                                "smallest": min(r["this"]["sizes"]),
                                "ratio": max(r["this"]["sizes"]) / max(min(r["this"]["sizes"]), 1)},
             truth=lambda m: _yes(m["ratio"] >= m["times"]), claim="yes",
             consts={"times": 5, "dominant": 0.25},
             fmt={"share": "pct", "largest": "n0", "smallest": "n0", "ratio": "n0",
                  "times": "n0", "dominant": "pct0"},
             says=lambda m: "dominant" if m["share"] > m["dominant"] else "spread",
             variants=("dominant", "spread"), page="data"),
        Step("weighted", {}, (("this", {}), ("simple", {"aggregation.weighted": False})),
             measure=lambda r: {"weighted": _final(r["this"]), "simple": _final(r["simple"]),
                                "largest": max(r["this"]["sizes"]),
                                "smallest": min(r["this"]["sizes"])},
             truth=lambda m: ("tie" if abs(m["weighted"] - m["simple"]) < m["tie"] else
                              "weighted" if m["weighted"] > m["simple"] else "simple"),
             claim="weighted", options=("weighted", "simple", "tie"), consts={"tie": 0.005},
             fmt={"weighted": "pct", "simple": "pct", "largest": "n0", "smallest": "n0",
                  "tie": "pts"},
             variants=("weighted", "simple", "tie"), code=("aggregate",),
             curves=("this", "simple")),
        Step("partial", {"clients.num_clients": 20, "clients.fraction": 0.3},
             (("all", {"clients.fraction": 1.0}), ("this", {})),
             measure=lambda r: {"all": _final(r["all"]), "part": _final(r["this"]),
                                "gap": _final(r["all"]) - _final(r["this"])},
             truth=lambda m: _yes(m["gap"] > m["lower"]), claim="no", consts={"lower": 0.05},
             fmt={"all": "pct", "part": "pct", "gap": "pts", "lower": "pts"},
             variants=("yes", "no"), curves=("all", "this")),
        Step("dropout", {"clients.num_clients": 20, "clients.fraction": 0.5,
                         "clients.dropout": 0.3}, THIS,
             measure=lambda r: {"acc": _final(r["this"]), "used": r["this"]["mean_used"]},
             truth=lambda m: _yes(m["acc"] >= m["target"]), claim="yes",
             consts={"target": 0.85}, fmt={"acc": "pct", "used": "n1", "target": "pct0"},
             variants=("yes", "no"), curves=("this",)),
    )),
    Lesson("dp", ":material/shield_lock:", _CENTRAL_DP, (
        Step("epsilon", {}, THIS, measure=lambda r: {"eps": r["this"]["epsilon"][-1]},
             truth=lambda m: _yes(m["eps"] < m["eps_max"]), claim="yes",
             consts={"eps_max": 10}, fmt={"eps": "n2", "eps_max": "n0"},
             variants=("yes", "no"), page="privacy", code=("clip_noise",)),
        Step("growth", {"rounds": 60}, (("r30", {"rounds": 30}), ("this", {})),
             measure=lambda r: {"e30": r["r30"]["epsilon"][-1], "e60": r["this"]["epsilon"][-1],
                                "ratio": r["this"]["epsilon"][-1] / r["r30"]["epsilon"][-1]},
             truth=lambda m: ("less" if m["ratio"] < 1.8 else
                              "double" if m["ratio"] <= 2.2 else "more"),
             claim="less", options=("less", "double", "more"),
             fmt={"e30": "n2", "e60": "n2", "ratio": "n2"},
             shows={"fewer": ("r30", "rounds")}, variants=("less", "double", "more"),
             page="privacy"),
        Step("noise", {"privacy.dp.noise_multiplier": 0.5, "clients.fraction": 0.5},
             (("off", {"privacy.dp.mode": "off"}), ("this", {})),
             measure=lambda r: {"off": _final(r["off"]), "dp": _final(r["this"]),
                                "gap": _final(r["off"]) - _final(r["this"]),
                                "eps": r["this"]["epsilon"][-1]},
             truth=lambda m: _yes(m["gap"] <= m["within"]), claim="yes",
             consts={"within": 0.05},
             fmt={"off": "pct", "dp": "pct", "gap": "pts", "eps": "n1", "within": "pts"},
             variants=("yes", "no"), page="privacy", code=("clip_noise",),
             curves=("off", "this")),
        Step("tradeoff", {"privacy.dp.noise_multiplier": 2.0, "clients.fraction": 0.5},
             (("z05", {"privacy.dp.noise_multiplier": 0.5}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "acc_low": _final(r["z05"]),
                                "drop": _final(r["z05"]) - _final(r["this"]),
                                "eps": r["this"]["epsilon"][-1],
                                "eps_low": r["z05"]["epsilon"][-1],
                                "eps_ratio": r["z05"]["epsilon"][-1] / r["this"]["epsilon"][-1]},
             truth=lambda m: _yes(m["drop"] > m["more"]), claim="yes", consts={"more": 0.05},
             fmt={"acc": "pct", "acc_low": "pct", "drop": "pts", "eps": "n1", "eps_low": "n1",
                  "eps_ratio": "n1", "more": "pts"},
             shows={"z_low": ("z05", "privacy.dp.noise_multiplier")}, variants=("yes", "no"),
             page="privacy", curves=("z05", "this")),
        Step("local", {"privacy.dp.mode": "local"},
             (("central", {"privacy.dp.mode": "central"}), ("this", {})),
             measure=lambda r: {"central": _final(r["central"]), "local": _final(r["this"]),
                                "gap": _final(r["central"]) - _final(r["this"]),
                                "eps_central": r["central"]["epsilon"][-1],
                                "eps_local": r["this"]["epsilon"][-1]},
             truth=lambda m: _yes(m["gap"] <= m["within"]), claim="no", consts={"within": 0.10},
             fmt={"central": "pct", "local": "pct", "gap": "pts", "within": "pts",
                  "eps_central": "n1", "eps_local": "n1"},
             says=lambda m: "eps_higher" if m["eps_local"] > m["eps_central"] else "eps_lower",
             variants=("eps_higher", "eps_lower"), page="privacy", curves=("central", "this")),
    )),
    Lesson("server", ":material/visibility_off:", {"rounds": 10}, (
        Step("leak", {}, THIS, measure=lambda r: _inversion(r["this"]),
             truth=lambda m: _yes(m["psnr"] >= m["clear"]), claim="yes", consts={"clear": 20},
             fmt={"psnr": "n1", "guess": "n1", "label": "n0", "got": "n0", "clear": "n0"},
             variants=("yes", "no"), page="attacks", invert=True),
        Step("secagg", _SECAGG,
             (("plain", {"privacy.secure_aggregation.enabled": False}), ("this", {})),
             measure=lambda r: {"plain": _final(r["plain"]), "masked": _final(r["this"]),
                                "gap": abs(_final(r["plain"]) - _final(r["this"]))},
             truth=lambda m: _yes(m["gap"] > m["apart"]), claim="no", consts={"apart": 0.01},
             fmt={"plain": "pct", "masked": "pct", "gap": "pts", "apart": "pts"},
             variants=("yes", "no"), page="crypto", code=("mask",), curves=("plain", "this")),
        Step("stop", _SECAGG,
             (("plain", {"privacy.secure_aggregation.enabled": False}), ("this", {}),
              ("dp", _LOCAL_DP)),
             measure=lambda r: {"psnr_plain": _inversion(r["plain"])["psnr"],
                                "psnr_sum": _inversion(r["this"])["psnr"],
                                "psnr_dp": _inversion(r["dp"])["psnr"],
                                "guess": _inversion(r["plain"])["guess"]},
             truth=lambda m: _yes(max(m["psnr_sum"], m["psnr_dp"]) >= m["clear"]), claim="no",
             consts={"clear": 20},
             fmt={"psnr_plain": "n1", "psnr_sum": "n1", "psnr_dp": "n1", "guess": "n1",
                  "clear": "n0"},
             shows={"z_dp": ("dp", "privacy.dp.noise_multiplier")},
             variants=("yes", "no"), page="attacks", invert=True),
        Step("dropout", {**_SECAGG, "privacy.secure_aggregation.threshold": 0.6,
                         "clients.dropout": 0.2},
             THIS, measure=lambda r: {"aborted": r["this"]["aborted"],
                                      "dropped": r["this"]["dropped"],
                                      "done": len(r["this"]["metric"]) - 1
                                      - r["this"]["aborted"]},
             truth=lambda m: _yes(m["done"] > m["aborted"]), claim="yes",
             fmt={"aborted": "n0", "dropped": "n0", "done": "n0"},
             says=lambda m: "some" if m["aborted"] else "none", variants=("some", "none"),
             page="crypto", code=("mask",)),
        Step("too_many", {**_SECAGG, "privacy.secure_aggregation.threshold": 0.8,
                          "clients.dropout": 0.5},
             THIS, measure=lambda r: {"aborted": r["this"]["aborted"],
                                      "rounds_run": len(r["this"]["metric"]) - 1},
             truth=lambda m: _yes(m["aborted"] > 0), claim="yes",
             fmt={"aborted": "n0", "rounds_run": "n0"}, variants=("yes", "no"),
             page="training", curves=("this",)),
        Step("he", {"rounds": 5, "privacy.he.scheme": "ckks"},
             (("plain", {"privacy.he.scheme": "off"}), ("this", {})),
             measure=lambda r: {"plain": _final(r["plain"]), "enc": _final(r["this"]),
                                "gap": abs(_final(r["plain"]) - _final(r["this"]))},
             truth=lambda m: _yes(m["gap"] <= m["within"]), claim="yes", consts={"within": 0.01},
             fmt={"plain": "pct", "enc": "pct", "gap": "pts", "within": "pts"},
             variants=("yes", "no"), page="crypto", code=("encrypt",), curves=("plain", "this")),
        # Few rounds and few challenged coordinates: a range proof per coordinate per client is
        # the slow part (seconds), and the claim holds from the first round on.
        Step("zkp", {"rounds": 4, **_ATTACKER, "privacy.zkp.enabled": True,
                     "privacy.zkp.bound": 0.05, "privacy.zkp.coordinates": 8}, THIS,
             measure=lambda r: {"rejected": r["this"]["rejected_of"].get(3, 0),
                                "rounds_run": len(r["this"]["metric"]) - 1,
                                "acc": _final(r["this"])},
             truth=lambda m: _yes(m["rejected"] == m["rounds_run"]), claim="yes",
             fmt={"rejected": "n0", "rounds_run": "n0", "acc": "pct"},
             variants=("yes", "no"), page="crypto", code=("prove",)),
    )),
    Lesson("attacks", ":material/bug_report:", {"rounds": 15}, (
        Step("scale", _ATTACKER, (("honest", {"clients.malicious.ids": []}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "honest": _final(r["honest"])},
             truth=lambda m: _yes(m["acc"] >= m["target"]), claim="no", consts={"target": 0.8},
             fmt={"acc": "pct", "honest": "pct", "target": "pct0"}, variants=("yes", "no"),
             page="attacks", curves=("honest", "this")),
        Step("median", {**_ATTACKER, "aggregation.name": "median"},
             (("mean", {"aggregation.name": "fedavg"}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "mean": _final(r["mean"])},
             truth=lambda m: _yes(m["acc"] >= m["target"]), claim="yes", consts={"target": 0.8},
             fmt={"acc": "pct", "mean": "pct", "target": "pct0"}, variants=("yes", "no"),
             page="attacks", code=("robust",), curves=("mean", "this")),
        Step("secagg", {**_ATTACKER, **_SECAGG},
             (("honest", {"clients.malicious.ids": []}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "honest": _final(r["honest"])},
             truth=lambda m: _yes(m["acc"] >= m["target"]), claim="no", consts={"target": 0.8},
             fmt={"acc": "pct", "honest": "pct", "target": "pct0"}, variants=("yes", "no"),
             page="crypto", code=("mask",), curves=("honest", "this")),
        Step("normbound", {**_ATTACKER, "aggregation.norm_bound": 0.5},
             (("mean", {"aggregation.norm_bound": None}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "mean": _final(r["mean"])},
             truth=lambda m: _yes(m["acc"] >= m["target"]), claim="yes", consts={"target": 0.8},
             fmt={"acc": "pct", "mean": "pct", "target": "pct0"}, variants=("yes", "no"),
             page="attacks", code=("robust",), curves=("mean", "this")),
        Step("backdoor", {"clients.malicious.ids": [3], "clients.malicious.attack": "backdoor"},
             (("honest", {"clients.malicious.ids": []}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "honest": _final(r["honest"]),
                                "drop": _final(r["honest"]) - _final(r["this"]),
                                "asr": r["this"]["attack_success"]},
             truth=lambda m: _yes(m["drop"] > m["lower"]), claim="no",
             consts={"lower": 0.03, "works": 0.5},
             fmt={"acc": "pct", "honest": "pct", "asr": "pct", "drop": "pts", "lower": "pts",
                  "works": "pct0"},
             says=lambda m: ("weak" if (m["asr"] or 0.0) < m["works"] else
                             _yes(m["drop"] > m["lower"])),
             variants=("yes", "no", "weak"), page="attacks", curves=("honest", "this")),
    )),
)

BY_ID: dict[str, Lesson] = {lesson.id: lesson for lesson in LESSONS}
MISCONCEPTIONS: dict[str, str] = {
    "server_sees_data": "flow.localize", "noise_ruins": "dp.noise",
    "more_epochs_better": "noniid.epochs", "encryption_stops_poisoning": "attacks.secagg",
    "accuracy_means_safe": "attacks.backdoor", "epsilon_linear": "dp.growth",
    "updates_are_safe": "server.leak",
}


# ------------------------------------------------------------------ configurations


def step_config(lesson: Lesson, step: Step, seed: int = 0,
                run: Mapping[str, Any] | None = None) -> SimulationConfig:
    """The configuration of ``step`` (or of one of its runs), on the defaults, with ``seed``."""
    changes = {**lesson.base, **step.changes, **(run or {})}
    return with_changes(SimulationConfig(seed=seed), changes)


def run_configs(lesson: Lesson, step: Step, seed: int = 0) -> dict[str, SimulationConfig]:
    return {name: step_config(lesson, step, seed, extra) for name, extra in step.runs}


def setup(lesson: Lesson, step: Step, seed: int = 0) -> dict[str, tuple[Any, str]]:
    """The step's setup placeholders: name → (value, kind), from its own configuration
    (:data:`SETUP`, plus ``per_round``, ``train_share`` and ``attacker``), the ``shows`` of its
    runs and its ``consts`` (kind: their ``fmt``)."""
    cfg = step_config(lesson, step, seed)
    out: dict[str, tuple[Any, str]] = {}
    for name, (path, kind) in SETUP.items():
        value = get_path(cfg, path)
        if value is not None:
            out[name] = (value, kind)
    n = cfg.clients.num_clients
    out["per_round"] = (max(1, int(round(cfg.clients.fraction * n))), "num")
    out["train_share"] = (1.0 - cfg.dataset.val_fraction, "pct0")
    if cfg.clients.malicious.ids:
        out["attacker"] = (cfg.clients.malicious.ids[0], "num")
    if step.shows:
        extra = dict(step.runs)
        for name, (run, path) in step.shows.items():
            value = get_path(step_config(lesson, step, seed, extra[run]), path)
            out[name] = (value, "num")
    for name, value in step.consts.items():
        out[name] = (value, step.fmt.get(name, "num"))
    return out


def find(lesson_id: object, step_no: object) -> tuple[Lesson, int]:
    """The lesson and 0-based step index a URL names (``lesson=dp`` or ``lesson=4``,
    ``step=2`` is the second step); anything unknown falls back to the first."""
    lesson = BY_ID.get(str(lesson_id)) if lesson_id is not None else None
    if lesson is None and str(lesson_id).isdigit() and 1 <= int(lesson_id) <= len(LESSONS):
        lesson = LESSONS[int(lesson_id) - 1]
    lesson = lesson or LESSONS[0]
    try:
        i = int(str(step_no)) - 1
    except ValueError:
        i = 0
    return lesson, min(max(i, 0), len(lesson.steps) - 1)


# ------------------------------------------------------------------ running


def numbers(run: RunSummary, centralized: float | None = None) -> dict:
    """The numbers the lessons measure, from a finished run (:func:`fedsim.engine.runner.run`)
    and, for lesson 1, the pooled model's final score."""
    from fedsim.data.partition import skew_score

    key, h = run.metric_key, run.history
    arrived = [len(r.sampled) - len(r.dropped) for r in h]
    first_up = next((r.bytes_up / n for r, n in zip(h, arrived) if n), 0.0)
    rejected_of: dict[int, int] = {}
    for r in h:
        for c in r.rejected:
            rejected_of[c] = rejected_of.get(c, 0) + 1
    return {
        "key": key,
        "metric": [float(v) for v in run.metric],
        "epsilon": [float(r.privacy["epsilon"]) for r in h if "epsilon" in r.privacy],
        "num_params": run.num_params,
        "features": run.num_features,
        "bytes_up_per_client": float(first_up),
        "sizes": list(run.train_sizes), "val_sizes": list(run.val_sizes),
        "skew": float(skew_score(run.label_counts)),
        "aborted": sum(bool(r.aborted) for r in h),
        "dropped": sum(len(r.dropped) for r in h),
        "rejected_of": rejected_of,
        "mean_used": sum(n - len(r.rejected) for r, n in zip(h, arrived)) / max(len(h), 1),
        "attack_success": (float(h[-1].global_metrics["attack_success"])
                           if h and "attack_success" in h[-1].global_metrics else None),
        "centralized": centralized,
    }


#: The reconstruction a step with ``invert`` runs: the first client's update after one SGD
#: step on one of its digits, inverted analytically (exact for a dense first layer).
INVERT = {"client": 0, "method": "analytic", "batch": 1, "steps": 1}


def reconstruction(cfg: SimulationConfig) -> dict:
    """What the server rebuilds of client 0's digit under ``cfg``
    (:func:`fedsim.tools.reconstruct.reconstruct`, :data:`INVERT`)."""
    from fedsim.tools.reconstruct import reconstruct

    return reconstruct(cfg, INVERT["client"], INVERT["method"], INVERT["batch"], INVERT["steps"])


def run_summary(cfg: SimulationConfig, progress: Callable[[int], None] | None = None) -> dict:
    """Run ``cfg`` to the end with the real engine; :func:`numbers` of it."""
    from fedsim.engine.runner import run

    return numbers(run(cfg, progress), _centralized(cfg))


def result_of(step: Step, cfg: SimulationConfig, cached: bool = True) -> dict:
    """One run of ``step`` under ``cfg``: a reconstruction (``invert``) or :func:`numbers` of a
    training run; through the server's shared cache unless ``cached`` is False."""
    if step.invert:
        if not cached:
            return reconstruction(cfg)
        key = "lesson-inversion:" + json.dumps([cfg.to_json(indent=None), INVERT])
        return runs.cached(key, lambda _p: reconstruction(cfg))
    if not cached:
        return run_summary(cfg)
    return numbers(runs.summary(cfg), centralized(cfg))


def evaluate(lesson: Lesson, step: Step, seed: int = 0,
             get: Callable[[Step, SimulationConfig], dict] = result_of,
             before: Callable[[str, int, int], None] | None = None) -> dict:
    """Run every variant of ``step`` for ``seed`` and judge it: the results by run name, the
    measured values (with the step's ``consts``), the truth, and whether it is the claim.
    ``get(step, cfg)`` makes one run (default: :func:`result_of`, through the server's cache);
    ``before(name, i, n)`` is called before each run (a progress bar)."""
    configs = run_configs(lesson, step, seed)
    results = {}
    for j, (name, cfg) in enumerate(configs.items()):
        if before is not None:
            before(name, j, len(configs))
        results[name] = get(step, cfg)
    measured = {**step.consts, **step.measure(results)}
    truth = step.truth(measured)
    return {"results": results, "measured": measured, "truth": truth,
            "held": truth == step.claim, "variant": step.why_variant(measured)}


def _centralized(cfg: SimulationConfig) -> float | None:
    """Lesson 1 compares the article's regression with the model trained on pooled data."""
    if cfg.dataset.name != "seed_regression":
        return None
    from fedsim.engine.results import metric_key
    from fedsim.engine.federation import build_federation
    from fedsim.tools.baselines import centralized_curve

    fed = build_federation(cfg)
    return float(centralized_curve(fed, cfg.rounds)[-1][metric_key(fed.data.task)])


def centralized(cfg: SimulationConfig) -> float | None:
    """:func:`_centralized`, computed once per server (it trains a model)."""
    if cfg.dataset.name != "seed_regression":
        return None
    return runs.cached("centralized:" + cfg.to_json(indent=None), lambda _p: _centralized(cfg))
