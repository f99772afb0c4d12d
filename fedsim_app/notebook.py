"""The app's figures in a Jupyter notebook: the same engine, the same Plotly charts, no Streamlit.

A course that teaches in notebooks (Jupyter, Colab) runs the engine itself and asks for the
figures the app would draw of that run::

    from fedsim import Simulation, SimulationConfig
    from fedsim_app.notebook import show, use_language

    sim = Simulation(SimulationConfig.from_dict({"rounds": 10}))
    sim.run()
    show.accuracy(sim)          # the Training page's global accuracy chart
    use_language("zh")
    show.partition(sim)         # the Data page's label distribution, in Chinese

Every ``show.*`` returns a :class:`plotly.graph_objects.Figure` (a notebook displays the last
value of a cell). Each one calls exactly the view and chart functions the page calls, with the
arguments the page builds, so a figure here is the figure the app draws for the same
configuration and the same number of rounds (``tests/app/test_notebooks.py`` compares them with
the charts of the app run through ``AppTest``).

Why no Streamlit: the app's chart code asks whether a presenter view or a session language is
active (:func:`fedsim_app.base.theme.template_name`, :func:`fedsim_app.i18n.current`), and
asks Streamlit only when Streamlit is loaded, so a notebook never loads it. Here the language is
this module's (:func:`use_language`: a notebook kernel is one reader, so one setting for the
process is right, and it survives from cell to cell, which a context variable set in one cell
need not).
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Any, Callable, Iterator, Mapping, TypeVar

import plotly.graph_objects as go

from fedsim.config import SimulationConfig

from fedsim_app import i18n
from fedsim_app.base import charts as base_charts
from fedsim_app.base import views
from fedsim_app.pages.data import charts as data_charts
from fedsim_app.pages.privacy import charts as privacy_charts
from fedsim_app.pages.training import charts as training_charts
from fedsim_app.pages.training import views as training_views

__all__ = ["show", "use_language", "current_language", "describe", "preview"]

_lang: str = i18n.DEFAULT

F = TypeVar("F", bound=Callable[..., Any])


# ------------------------------------------------------------------ language


def use_language(lang: str) -> str:
    """Draw every later figure (and sentence) in ``lang``: ``"en"`` or ``"zh"`` (``"zh-CN"``,
    ``"zh_Hans"`` … are accepted). Returns the language now in use."""
    global _lang
    code = i18n.normalize(lang)
    if code is None:
        raise ValueError(f"unknown language {lang!r}: one of {', '.join(i18n.LANGS)}")
    _lang = code
    return code


def current_language() -> str:
    """The language figures are drawn in now."""
    return _lang


# ------------------------------------------------------------------ drawing without Streamlit


@contextlib.contextmanager
def _notebook_context() -> Iterator[None]:
    """This module's language for the duration of one drawing."""
    with i18n.language(_lang):
        yield


def _in_context(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _notebook_context():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _config(sim_or_cfg) -> SimulationConfig:
    return sim_or_cfg if isinstance(sim_or_cfg, SimulationConfig) else sim_or_cfg.config


def _split(sim_or_cfg) -> views.SplitSummary:
    """The Data page's split summary: :func:`fedsim_app.base.state.split_summary` keys it on
    the fields that shape the split only, and computes it from that configuration."""
    cfg = _config(sim_or_cfg)
    key = SimulationConfig(seed=cfg.seed, dataset=cfg.dataset, clients=cfg.clients,
                           partition=cfg.partition)
    return views.split_summary(key)


def _curve(sim) -> dict:
    """The Training page's global curve: round 0 (the initial model), then every round."""
    return views.global_curve(sim.history, dict(sim.initial_metrics), sim.fed.data.task)


# ------------------------------------------------------------------ the figures


class Show:
    """The app's figures of a :class:`~fedsim.engine.simulation.Simulation` (``show.*``)."""

    # -------------------------------------------------------------- Training page

    @_in_context
    def accuracy(self, sim, baselines: Mapping | None = None) -> go.Figure:
        """Global test accuracy per round (MSE for regression), round 0 = the initial model:
        the Training page's first chart. ``baselines``: optional dashed reference curves, as
        ``fedsim.tools.baselines.baseline_curves(sim.config)`` computes them (the page's
        "centralized" and "local only" toggles; keep either key or both)."""
        return training_charts.global_metric_figure(_curve(sim), baselines, sim.config.rounds)

    @_in_context
    def loss(self, sim, baselines: Mapping | None = None) -> go.Figure:
        """Global test loss per round: the Training page's second chart."""
        return training_charts.global_loss_figure(_curve(sim), baselines, sim.config.rounds)

    @_in_context
    def clients(self, sim) -> go.Figure:
        """Each client's training loss per local epoch (Training page, "Clients" tab)."""
        return training_charts.client_loss_figure(sim.history, sim.config.clients.num_clients,
                                                  sim.config.rounds)

    @_in_context
    def client_validation(self, sim) -> go.Figure:
        """Each client's local model on its own validation rows, the global model in black
        (Training page, "Clients" tab, second chart)."""
        cfg = sim.config
        return training_charts.client_val_figure(sim.history, cfg.clients.num_clients,
                                                 sim.fed.data.task, _curve(sim), cfg.rounds)

    @_in_context
    def updates(self, sim) -> go.Figure:
        """‖local − global‖ per client per round, with the clip bound under central or local
        DP (Training page, "Updates" tab)."""
        cfg = sim.config
        fig = training_charts.update_norm_figure(sim.history, cfg.clients.num_clients,
                                                 cfg.rounds)
        if cfg.privacy.dp.mode in ("central", "local"):
            training_charts.add_clip_line(fig, sim.history)
        return fig

    @_in_context
    def participation(self, sim) -> go.Figure:
        """Who took part in each round: trained, dropped, rejected, not sampled (Training
        page, "Participation" tab; it needs at least one finished round)."""
        if not sim.history:
            raise ValueError("no round has finished yet: run sim.step_round() first")
        cfg = sim.config
        m = training_views.participation_matrix(sim.history, cfg.clients.num_clients)
        return training_charts.participation_figure(m, [r.round for r in sim.history],
                                                    cfg.clients.malicious.ids)

    @_in_context
    def cycle(self, sim) -> go.Figure:
        """The round as a cycle of phases: done phases ticked, the next one lit (the Training
        page's cycle diagram)."""
        trace = sim.current_trace if sim.in_round else ()
        nxt = None if sim.done else sim.next_phase
        return base_charts.cycle_figure(nxt, [p.phase for p in trace], height=270)

    # -------------------------------------------------------------- Data page

    @_in_context
    def partition(self, sim_or_cfg) -> go.Figure:
        """Who holds which labels: one stacked bar per client (the Data page's chart). Takes a
        Simulation or just a :class:`~fedsim.config.SimulationConfig` (no TensorFlow then)."""
        s = _split(sim_or_cfg)
        return base_charts.label_distribution_figure(s.label_counts, s.label_names)

    @_in_context
    def sizes(self, sim_or_cfg) -> go.Figure:
        """Each client's local training and validation rows (the Data page's second chart)."""
        s = _split(sim_or_cfg)
        return data_charts.client_sizes_figure(s.train_sizes, s.val_sizes)

    # -------------------------------------------------------------- Privacy page

    @_in_context
    def privacy(self, sim) -> go.Figure:
        """ε after each round: the accountant's plan for every configured round, the rounds
        run, the tighter PLD figure for the last round and any target ε (the Privacy page's
        chart; the simulation must use differential privacy)."""
        cfg = sim.config
        dpm = sim.pipeline.get("dp")
        if not cfg.privacy.dp.enabled or dpm is None:
            raise ValueError("differential privacy is off in this configuration: set "
                             "privacy.dp.mode to 'central', 'local' or 'dpsgd'")
        total = cfg.rounds
        planned = [float(e) for e in dpm.epsilon_curve(total)]
        pld = dpm.pld_epsilon(total)
        rounds_run, eps_run = views.epsilon_points(sim.history)
        return privacy_charts.epsilon_figure(planned, rounds_run, eps_run, pld,
                                             cfg.privacy.dp.target_epsilon, total)

    @_in_context
    def utility(self, sim, without_dp=None) -> go.Figure:
        """Global test metric per round with DP (black) and, given ``without_dp`` (the same
        configuration run with DP off, e.g. ``fedsim_app.pages.privacy.views.without_dp``), the
        dashed grey no-DP curve: the Privacy page's "what privacy costs" chart."""
        plain = None if without_dp is None else _curve(without_dp)
        return privacy_charts.with_without_figure(_curve(sim), plain, sim.config.rounds)

    # -------------------------------------------------------------- Compare page

    @_in_context
    def compare(self, runs: Mapping[str, Any]) -> go.Figure:
        """Global test metric per round of several runs, one line each (the Compare page's
        chart): ``show.compare({"IID": sim_a, "α = 0.1": sim_b})``."""
        curves = [_curve(sim) for sim in runs.values()]
        keys = {c["key"] for c in curves}
        if len(keys) != 1:
            raise ValueError("compare runs of one task: all accuracy or all MSE")
        lines = [(label, c["round"], c["metric"]) for label, c in zip(runs, curves)]
        return base_charts.compare_figure(lines, keys.pop())


show = Show()


# ------------------------------------------------------------------ sentences

_ICON = re.compile(r":material/[a-z0-9_]+:\s*")


@_in_context
def describe(sim, record=None) -> str:
    """The Training page's one-line summary of a phase that ran: ``describe(sim, sim.step())``
    (default: the last phase that ran)."""
    if record is None:
        trace = sim.current_trace if sim.in_round else ()
        record = trace[-1] if trace else (sim.history[-1].trace[-1] if sim.history else None)
        if record is None:
            raise ValueError("no phase has run yet")
    return (i18n.t("phase." + record.phase) + i18n.colon()
            + training_views.phase_summary(record, sim.fed.data.task))


@_in_context
def preview(sim) -> str:
    """What the next phase does and what the server can see then (the Training page's
    sentences beside the cycle; Markdown)."""
    if sim.done:
        return i18n.t("tr.finished", total=sim.config.rounds)
    nxt = sim.next_phase
    what, sees = views.phase_texts(nxt, sim.config)
    text = (i18n.t("tr.now", phase=i18n.t(f"phase.{nxt}"), what=what) + "\n\n"
            + i18n.t("tr.server_sees", sees=sees))
    return _ICON.sub("", text)  # Streamlit's ":material/…:" icons mean nothing in a notebook
