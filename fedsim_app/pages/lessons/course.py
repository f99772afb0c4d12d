"""The guided lessons: what each step sets, runs, asks and measures (pure: no Streamlit).

A lesson is a list of steps. Every step

- **sets the configuration it talks about** (``changes`` on top of the lesson's ``base``; the
  page loads it into the app, so the Training page shows the same run),
- **points at a control or chart** (``look``: a page and, in the catalogue, what to look at),
- **asks a guess-then-reveal question**: the student picks an option *before* the run; then
  every variant in ``runs`` is run by the real engine (:func:`numbers` of its run), ``measure`` turns
  the summaries into numbers, and ``truth`` says which option those numbers make right. The
  right answer is never written down in advance: it is whatever the engine measured, so a new
  seed can change it and the reveal stays true.

Texts live in the ``lessons`` catalogue domain under ``lesson.<lesson>.<step>.*`` (``title``,
``body``, ``q``, ``reveal``, ``why``, ``look``, options ``opt.<id>`` unless yes/no). Numbers in
``reveal`` are ``{placeholders}`` filled from ``measure``, formatted per locale as ``fmt`` says.

Misconceptions confronted (Teaching notes, ``MISCONCEPTIONS``): the server sees the data
(flow.localize), noise always ruins accuracy (dp.noise), more local epochs are always better
(noniid.epochs), encryption makes poisoning impossible (attacks.secagg); and two more: a high
test accuracy means nothing is wrong (attacks.backdoor), privacy cost grows linearly with rounds
(dp.growth).

To add a lesson: append a :class:`Lesson` to ``LESSONS`` and its texts to
``fedsim_app/i18n/locales/*/lessons.json`` (the catalogue test lists what is missing); the
AppTest in ``tests/app/test_lessons.py`` walks every step in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from fedsim.config import SimulationConfig
from fedsim.engine.runner import RunSummary

from fedsim_app.base import runs
from fedsim_app.base.params import with_changes

Summary = Mapping[str, Any]
Measured = dict[str, float]


@dataclass(frozen=True)
class Step:
    id: str
    #: dotted-path changes on the lesson's base: the setup this step shows and loads
    changes: Mapping[str, Any]
    #: (name, extra changes on top of ``changes``) for each run the reveal needs; "this" = as is
    runs: tuple[tuple[str, Mapping[str, Any]], ...]
    measure: Callable[[Mapping[str, Summary]], Measured]
    truth: Callable[[Measured], str]
    options: tuple[str, ...] = ("yes", "no")
    #: placeholder → "pct" (0.853 → 85.3%), "pts" (0.042 → 4.2), "n0"/"n1"/"n2"/"n3" decimals
    fmt: Mapping[str, str] = field(default_factory=dict)
    page: str = "training"  # url_path of the page with the control or chart it talks about
    code: tuple[str, ...] = ()  # code_views ids shown under "Show the code"
    #: the metric curves (by run name) drawn next to the reveal
    curves: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lesson:
    id: str
    icon: str
    base: Mapping[str, Any]
    steps: tuple[Step, ...]


def _final(s: Summary) -> float:
    return float(s["metric"][-1])


def _yes(cond: bool) -> str:
    return "yes" if cond else "no"


THIS = (("this", {}),)

_ARTICLE = {"rounds": 30, "dataset.name": "seed_regression", "dataset.num_samples": 2000,
            "model.name": "seed_mlp", "training.lr": 0.02}
_DIGITS = {"rounds": 20}
_PATHO = {"partition.name": "pathological", "partition.classes_per_client": 1}
_CENTRAL_DP = {"rounds": 30, "clients.num_clients": 100, "clients.fraction": 0.2,
               "training.local_epochs": 2, "training.lr": 0.1, "privacy.dp.mode": "central",
               "privacy.dp.clip": 1.0, "privacy.dp.noise_multiplier": 1.0}
_ATTACKER = {"clients.malicious.ids": [3], "clients.malicious.attack": "scale",
             "clients.malicious.factor": -10.0}

LESSONS: tuple[Lesson, ...] = (
    Lesson("flow", ":material/route:", _ARTICLE, (
        Step("init", {}, (("this", {"rounds": 1}),),
             measure=lambda r: {"params": r["this"]["num_params"]},
             truth=lambda m: min(("110", "1021", "1100", "10100"),
                                 key=lambda o: abs(int(o) - m["params"])),
             options=("110", "1021", "1100", "10100"), fmt={"params": "n0"},
             page="data", code=("init",)),
        Step("localize", {}, (("this", {"rounds": 1}),),
             measure=lambda r: {"up": r["this"]["bytes_up_per_client"],
                                "weights": 4 * r["this"]["num_params"],
                                "rows": r["this"]["sizes"][0],
                                "val": r["this"]["val_sizes"][0],
                                "data_bytes": r["this"]["sizes"][0] * 4 * r["this"]["features"]},
             truth=lambda m: _yes(m["up"] > m["weights"]),
             fmt={"up": "n0", "weights": "n0", "rows": "n0", "val": "n0", "data_bytes": "n0"},
             page="data", code=("localize",)),
        Step("train", {}, (("this", {}), ("e5", {"training.local_epochs": 5})),
             measure=lambda r: {"e1": _final(r["this"]), "e5": _final(r["e5"])},
             truth=lambda m: _yes(m["e5"] < m["e1"]), fmt={"e1": "n3", "e5": "n3"},
             code=("train",), curves=("this", "e5")),
        Step("aggregate", {}, (("this", {}), ("simple", {"aggregation.weighted": False})),
             measure=lambda r: {"weighted": _final(r["this"]), "simple": _final(r["simple"]),
                                "gap": abs(_final(r["this"]) - _final(r["simple"]))
                                / max(_final(r["this"]), 1e-12)},
             truth=lambda m: _yes(m["gap"] > 0.01),
             fmt={"weighted": "n3", "simple": "n3", "gap": "pct"}, code=("aggregate",),
             curves=("this", "simple")),
        Step("update", {}, (("this", {}), ("half", {"aggregation.server_lr": 0.5})),
             measure=lambda r: {"full": _final(r["this"]), "half": _final(r["half"])},
             truth=lambda m: "lower" if m["half"] < m["full"] else "higher",
             options=("lower", "higher"), fmt={"full": "n3", "half": "n3"}, code=("update",),
             curves=("this", "half")),
        Step("evaluate", {}, THIS,
             measure=lambda r: {"fed": _final(r["this"]), "central": r["this"]["centralized"],
                                "ratio": _final(r["this"]) / max(r["this"]["centralized"], 1e-12)
                                - 1.0},
             truth=lambda m: _yes(m["ratio"] <= 0.10),
             fmt={"fed": "n3", "central": "n3", "ratio": "pct"}, code=("evaluate",)),
    )),
    Lesson("noniid", ":material/scatter_plot:", _DIGITS, (
        Step("iid", {"partition.name": "iid"}, THIS,
             measure=lambda r: {"acc": _final(r["this"])}, truth=lambda m: _yes(m["acc"] >= 0.9),
             fmt={"acc": "pct"}, page="data", code=("localize",), curves=("this",)),
        Step("dirichlet", {"partition.name": "dirichlet", "partition.alpha": 0.1},
             (("this", {}), ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"acc": _final(r["this"]), "iid": _final(r["iid"]),
                                "skew": r["this"]["skew"]},
             truth=lambda m: _yes(m["acc"] >= 0.9), fmt={"acc": "pct", "iid": "pct",
                                                         "skew": "n2"},
             page="data", curves=("this", "iid")),
        Step("pathological", _PATHO, (("this", {}), ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"acc": _final(r["this"]), "iid": _final(r["iid"])},
             truth=lambda m: _yes(m["acc"] >= 0.9), fmt={"acc": "pct", "iid": "pct"},
             page="data", curves=("this", "iid")),
        Step("epochs", {**_PATHO, "training.local_epochs": 20},
             (("e5", {"training.local_epochs": 5}), ("this", {}),
              ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"e5": _final(r["e5"]), "e20": _final(r["this"]),
                                "iid": _final(r["iid"]),
                                "gap": _final(r["iid"]) - _final(r["this"])},
             truth=lambda m: _yes(m["gap"] <= 0.02),
             fmt={"e5": "pct", "e20": "pct", "iid": "pct", "gap": "pts"}, code=("train",),
             curves=("e5", "this", "iid")),
        Step("drift", {**_PATHO, "training.local_epochs": 20},
             (("this", {}), ("iid", {"partition.name": "iid"})),
             measure=lambda r: {"first": float(r["this"]["metric"][1]),
                                "iid_first": float(r["iid"]["metric"][1]),
                                "gap": float(r["iid"]["metric"][1] - r["this"]["metric"][1])},
             truth=lambda m: _yes(m["gap"] >= 0.30),
             fmt={"first": "pct", "iid_first": "pct", "gap": "pts"}, curves=("this", "iid")),
        Step("fedprox", {**_PATHO, "training.local_epochs": 20, "training.prox_mu": 0.1},
             (("fedavg", {"training.prox_mu": 0.0}), ("this", {})),
             measure=lambda r: {"plain": _final(r["fedavg"]), "prox": _final(r["this"])},
             truth=lambda m: _yes(m["prox"] > m["plain"]), fmt={"plain": "pct", "prox": "pct"},
             code=("train",), curves=("fedavg", "this")),
    )),
    Lesson("weights", ":material/balance:", {**_DIGITS, "partition.name": "quantity",
                                             "partition.sigma": 1.5}, (
        Step("sizes", {}, (("this", {"rounds": 1}),),
             measure=lambda r: {"share": max(r["this"]["sizes"]) / sum(r["this"]["sizes"]),
                                "largest": max(r["this"]["sizes"]),
                                "smallest": min(r["this"]["sizes"])},
             truth=lambda m: _yes(m["share"] > 0.25),
             fmt={"share": "pct", "largest": "n0", "smallest": "n0"}, page="data"),
        Step("weighted", {}, (("this", {}), ("simple", {"aggregation.weighted": False})),
             measure=lambda r: {"weighted": _final(r["this"]), "simple": _final(r["simple"])},
             truth=lambda m: ("tie" if abs(m["weighted"] - m["simple"]) < 0.005 else
                              "weighted" if m["weighted"] > m["simple"] else "simple"),
             options=("weighted", "simple", "tie"), fmt={"weighted": "pct", "simple": "pct"},
             code=("aggregate",), curves=("this", "simple")),
        Step("partial", {"clients.num_clients": 20, "clients.fraction": 0.3},
             (("all", {"clients.fraction": 1.0}), ("this", {})),
             measure=lambda r: {"all": _final(r["all"]), "part": _final(r["this"]),
                                "gap": _final(r["all"]) - _final(r["this"])},
             truth=lambda m: _yes(m["gap"] > 0.03),
             fmt={"all": "pct", "part": "pct", "gap": "pts"}, curves=("all", "this")),
        Step("dropout", {"clients.num_clients": 20, "clients.fraction": 0.5,
                         "clients.dropout": 0.3}, THIS,
             measure=lambda r: {"acc": _final(r["this"]), "used": r["this"]["mean_used"]},
             truth=lambda m: _yes(m["acc"] >= 0.85), fmt={"acc": "pct", "used": "n1"},
             curves=("this",)),
    )),
    Lesson("dp", ":material/shield_lock:", _CENTRAL_DP, (
        Step("epsilon", {}, THIS, measure=lambda r: {"eps": r["this"]["epsilon"][-1]},
             truth=lambda m: _yes(m["eps"] < 10), fmt={"eps": "n2"},
             page="privacy", code=("clip_noise",)),
        Step("growth", {"rounds": 60}, (("r30", {"rounds": 30}), ("this", {})),
             measure=lambda r: {"e30": r["r30"]["epsilon"][-1], "e60": r["this"]["epsilon"][-1],
                                "ratio": r["this"]["epsilon"][-1] / r["r30"]["epsilon"][-1]},
             truth=lambda m: ("less" if m["ratio"] < 1.8 else
                              "double" if m["ratio"] <= 2.2 else "more"),
             options=("less", "double", "more"), fmt={"e30": "n2", "e60": "n2",
                                                      "ratio": "n2"},
             page="privacy"),
        Step("noise", {"privacy.dp.noise_multiplier": 0.5},
             (("off", {"privacy.dp.mode": "off"}), ("this", {})),
             measure=lambda r: {"off": _final(r["off"]), "dp": _final(r["this"]),
                                "gap": _final(r["off"]) - _final(r["this"]),
                                "eps": r["this"]["epsilon"][-1]},
             truth=lambda m: _yes(m["gap"] <= 0.05),
             fmt={"off": "pct", "dp": "pct", "gap": "pts", "eps": "n1"},
             page="privacy", code=("clip_noise",), curves=("off", "this")),
        Step("tradeoff", {"privacy.dp.noise_multiplier": 2.0},
             (("z05", {"privacy.dp.noise_multiplier": 0.5}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "acc_half": _final(r["z05"]),
                                "eps": r["this"]["epsilon"][-1],
                                "eps_half": r["z05"]["epsilon"][-1]},
             truth=lambda m: _yes(m["acc"] >= 0.70),
             fmt={"acc": "pct", "acc_half": "pct", "eps": "n1", "eps_half": "n1"},
             page="privacy", curves=("z05", "this")),
        Step("local", {"privacy.dp.mode": "local"},
             (("central", {"privacy.dp.mode": "central"}), ("this", {})),
             measure=lambda r: {"central": _final(r["central"]), "local": _final(r["this"]),
                                "gap": _final(r["central"]) - _final(r["this"])},
             truth=lambda m: _yes(m["gap"] <= 0.10),
             fmt={"central": "pct", "local": "pct", "gap": "pts"}, page="privacy",
             curves=("central", "this")),
    )),
    Lesson("server", ":material/visibility_off:", {"rounds": 10}, (
        Step("secagg", {"privacy.secure_aggregation.enabled": True},
             (("plain", {"privacy.secure_aggregation.enabled": False}), ("this", {})),
             measure=lambda r: {"plain": _final(r["plain"]), "masked": _final(r["this"]),
                                "gap": abs(_final(r["plain"]) - _final(r["this"]))},
             truth=lambda m: _yes(m["gap"] > 0.01), fmt={"plain": "pct", "masked": "pct",
                                                         "gap": "pts"},
             page="crypto", code=("mask",), curves=("plain", "this")),
        Step("dropout", {"privacy.secure_aggregation.enabled": True,
                         "privacy.secure_aggregation.threshold": 0.6, "clients.dropout": 0.2},
             THIS, measure=lambda r: {"aborted": r["this"]["aborted"],
                                      "dropped": r["this"]["dropped"]},
             truth=lambda m: _yes(m["aborted"] > 0), fmt={"aborted": "n0", "dropped": "n0"},
             page="crypto", code=("mask",)),
        Step("too_many", {"privacy.secure_aggregation.enabled": True,
                          "privacy.secure_aggregation.threshold": 0.8, "clients.dropout": 0.5},
             THIS, measure=lambda r: {"aborted": r["this"]["aborted"],
                                      "rounds": len(r["this"]["metric"]) - 1},
             truth=lambda m: _yes(m["aborted"] > 0), fmt={"aborted": "n0", "rounds": "n0"},
             page="crypto", curves=("this",)),
        Step("he", {"rounds": 5, "privacy.he.scheme": "ckks"},
             (("plain", {"privacy.he.scheme": "off"}), ("this", {})),
             measure=lambda r: {"plain": _final(r["plain"]), "enc": _final(r["this"]),
                                "gap": abs(_final(r["plain"]) - _final(r["this"]))},
             truth=lambda m: _yes(m["gap"] <= 0.01), fmt={"plain": "pct", "enc": "pct",
                                                          "gap": "pts"},
             page="crypto", code=("encrypt",), curves=("plain", "this")),
        Step("zkp", {"rounds": 6, **_ATTACKER, "privacy.zkp.enabled": True,
                     "privacy.zkp.bound": 0.05, "privacy.zkp.coordinates": 16}, THIS,
             measure=lambda r: {"rejected": r["this"]["rejected_of"].get(3, 0),
                                "rounds": len(r["this"]["metric"]) - 1,
                                "acc": _final(r["this"])},
             truth=lambda m: _yes(m["rejected"] == m["rounds"]),
             fmt={"rejected": "n0", "rounds": "n0", "acc": "pct"}, page="crypto",
             code=("prove",)),
    )),
    Lesson("attacks", ":material/bug_report:", {"rounds": 15}, (
        Step("scale", _ATTACKER, (("honest", {"clients.malicious.ids": []}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "honest": _final(r["honest"])},
             truth=lambda m: _yes(m["acc"] >= 0.8), fmt={"acc": "pct", "honest": "pct"},
             page="attacks", curves=("honest", "this")),
        Step("median", {**_ATTACKER, "aggregation.name": "median"},
             (("mean", {"aggregation.name": "fedavg"}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "mean": _final(r["mean"])},
             truth=lambda m: _yes(m["acc"] >= 0.8), fmt={"acc": "pct", "mean": "pct"},
             page="attacks", code=("robust",), curves=("mean", "this")),
        Step("secagg", {**_ATTACKER, "privacy.secure_aggregation.enabled": True},
             (("honest", {"clients.malicious.ids": []}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "honest": _final(r["honest"])},
             truth=lambda m: _yes(m["acc"] >= 0.8), fmt={"acc": "pct", "honest": "pct"},
             page="attacks", code=("mask",), curves=("honest", "this")),
        Step("normbound", {**_ATTACKER, "aggregation.norm_bound": 1.0},
             (("mean", {"aggregation.norm_bound": None}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "mean": _final(r["mean"])},
             truth=lambda m: _yes(m["acc"] >= 0.8), fmt={"acc": "pct", "mean": "pct"},
             page="attacks", code=("robust",), curves=("mean", "this")),
        Step("backdoor", {"clients.malicious.ids": [3], "clients.malicious.attack": "backdoor"},
             (("honest", {"clients.malicious.ids": []}), ("this", {})),
             measure=lambda r: {"acc": _final(r["this"]), "honest": _final(r["honest"]),
                                "asr": r["this"]["attack_success"]},
             truth=lambda m: _yes(m["acc"] < 0.9),
             fmt={"acc": "pct", "honest": "pct", "asr": "pct"}, page="attacks",
             curves=("honest", "this")),
    )),
)

BY_ID: dict[str, Lesson] = {lesson.id: lesson for lesson in LESSONS}
MISCONCEPTIONS: dict[str, str] = {
    "server_sees_data": "flow.localize", "noise_ruins": "dp.noise",
    "more_epochs_better": "noniid.epochs", "encryption_stops_poisoning": "attacks.secagg",
    "accuracy_means_safe": "attacks.backdoor", "epsilon_linear": "dp.growth",
}


# ------------------------------------------------------------------ configurations


def step_config(lesson: Lesson, step: Step, seed: int = 0,
                run: Mapping[str, Any] | None = None) -> SimulationConfig:
    """The configuration of ``step`` (or of one of its runs), on the defaults, with ``seed``."""
    changes = {**lesson.base, **step.changes, **(run or {})}
    return with_changes(SimulationConfig(seed=seed), changes)


def run_configs(lesson: Lesson, step: Step, seed: int = 0) -> dict[str, SimulationConfig]:
    return {name: step_config(lesson, step, seed, extra) for name, extra in step.runs}


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


def run_summary(cfg: SimulationConfig, progress: Callable[[int], None] | None = None) -> dict:
    """Run ``cfg`` to the end with the real engine; :func:`numbers` of it."""
    from fedsim.engine.runner import run

    return numbers(run(cfg, progress), _centralized(cfg))


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
