"""Per-user app state in ``st.session_state``: the configuration, the simulation, play/pause.

Design (why it looks like this):

- **One source of truth.** ``session_state["cfg"]`` holds the applied, validated
  :class:`~fedsim.config.SimulationConfig`. Widgets never *own* a setting: each is initialised
  from ``cfg`` and writes back through :func:`update` in its ``on_change`` callback, so a
  setting survives page switches (Streamlit forgets widgets that are not on screen) and a
  rejected value simply springs back.
- **The URL mirrors ``cfg``.** On a new session the query string is decoded into ``cfg``;
  after every run :func:`sync_url` writes the non-default fields back, so the address bar is
  always a share link.
- **The simulation is per user** (``session_state["sim"]``, never ``st.cache_resource``: it is
  mutable). It is built lazily by :func:`get_sim` for the current ``cfg``. Stateless pieces
  (the data split for the Data page, baselines, Compare runs) are cached with
  ``st.cache_data`` keyed by the configuration's JSON.
- **Structural changes reset.** Any change other than the number of rounds drops the
  simulation (it restarts at round 0) and says so with a toast; changing ``rounds`` keeps the
  rounds already run.
- **Errors never crash the page.** Engine errors (:class:`~fedsim.errors.FedsimError`, e.g. a
  split that needs more data) become ``st.error`` messages and leave the state as it was.
  Training that diverges (:class:`~fedsim.errors.DivergedError`) stops playing, keeps the last
  finite round and is reported on the Training page with a reset button.
- **Text from outside is data.** URL keys and values, file names and error messages that echo
  them are escaped with :func:`fedsim_app.base.safe.md` before they reach a Markdown-rendering
  element.
- **Classroom caps.** Every configuration the app is about to run is checked against
  :mod:`fedsim_app.base.limits` (clients, rows, width, work and memory per session).
"""

from __future__ import annotations

import random
from typing import Any, Callable, Mapping

import streamlit as st

from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError, DivergedError, FedsimError, IncompatibleConfigError

from fedsim_app.base import limits, params, safe
from fedsim_app.i18n import t

CFG, SIM, PLAYING, FLASH = "cfg", "sim", "playing", "flash"
#: Play generation: +1 at every Play and Pause; a Play tick steps only in its own generation
PLAY_GEN = "play_gen"
#: (round, phase, what) of the last divergence, shown on the Training page until a reset
DIVERGED = "diverged"
#: True when the sidebar was drawn before the run existed (no results download yet)
RESULTS_PENDING = "results_pending"
#: Largest configuration file the uploader takes (MB); the JSON loader caps it lower still.
MAX_UPLOAD_MB = 1
#: Errors the engine may raise while building or stepping that we show instead of crashing:
#: deliberate engine errors, and privacy modules that are not written yet (presets name them).
ENGINE_ERRORS = (FedsimError, ImportError, NotImplementedError)


# ------------------------------------------------------------------ session lifecycle


def init() -> None:
    """First run of a session: configuration from the URL. Later runs: nothing to do."""
    ss = st.session_state
    if CFG in ss:
        return
    cfg, problems = params.decode(st.query_params.to_dict())
    cfg, capped = within_limits(cfg)
    ss[CFG] = cfg
    ss[SIM] = None
    ss[PLAYING] = False
    ss.setdefault(FLASH, [])
    for p in problems:
        if p.startswith("unknown:"):
            flash("warning", t("state.unknown_link_key", key=safe.md(p.split(":", 1)[1], 80)))
        else:
            flash("warning", t("state.bad_link", error=safe.md(p)))
    for p in capped:
        flash("warning", t("state.link_capped", error=safe.md(p)))


def within_limits(cfg: SimulationConfig) -> tuple[SimulationConfig, list[str]]:
    """``cfg`` with every field beyond a classroom cap set back to its default, and why."""
    problems: list[str] = []
    default = SimulationConfig()
    for _ in range(8):
        try:
            limits.check(cfg, memory=False)
            return cfg, problems
        except limits.LimitError as exc:
            problems.append(str(exc))
            try:
                cfg = params.with_changes(cfg, {exc.field: params.get_path(default, exc.field)})
            except ConfigError:
                break
    return default, problems


def config() -> SimulationConfig:
    return st.session_state[CFG]


def flash(kind: str, text: str) -> None:
    """Queue a message for the next render ("error", "warning", "info", "success", "toast",
    "toast_ok": a toast for a success, seen wherever the page is scrolled).

    Callbacks run before the page is drawn, so they cannot place elements themselves.
    """
    st.session_state.setdefault(FLASH, []).append((kind, text))


FLASH_DRAWN = "flash_drawn"  # what show_flash drew in this run (see keep_flash)


def show_flash() -> None:
    """Draw and clear queued messages (called once per run by the app frame)."""
    msgs = st.session_state.get(FLASH) or []
    st.session_state[FLASH] = []
    st.session_state[FLASH_DRAWN] = list(msgs)
    for kind, text in msgs:
        if kind == "toast":
            st.toast(text, icon=":material/restart_alt:")
        elif kind == "toast_ok":
            st.toast(text, icon=":material/check_circle:")
        else:
            getattr(st, kind)(text)


def keep_flash() -> None:
    """Queue this run's messages again: call it right before an ``st.rerun()`` that throws the
    run's page away (the first visit to Training reruns once to add the results download),
    or the rerun would lose what the link or an upload was told."""
    st.session_state[FLASH] = list(st.session_state.get(FLASH_DRAWN) or []) + list(
        st.session_state.get(FLASH) or [])


def sync_url() -> None:
    """Make the query string equal to the configuration's non-default fields."""
    want = params.encode(config())
    have = {k: v for k, v in st.query_params.to_dict().items() if k not in params.RESERVED}
    if have == want:
        return
    for k in set(have) - set(want):
        del st.query_params[k]
    st.query_params.update(want)


# ------------------------------------------------------------------ changing the configuration


@st.cache_data(max_entries=32, show_spinner=False)
def _split_summary_cached(cfg_json: str):
    from fedsim_app.base.views import split_summary

    return split_summary(SimulationConfig.from_json(cfg_json))


def split_summary(cfg: SimulationConfig):
    """The data split (cached; NumPy only). Raises PartitionError if impossible."""
    # Only the fields that shape the split form the key, so training knobs share one entry.
    key = SimulationConfig(seed=cfg.seed, dataset=cfg.dataset, clients=cfg.clients,
                           partition=cfg.partition).to_json(indent=None)
    return _split_summary_cached(key)


def _rounds_only(old: SimulationConfig, new: SimulationConfig) -> bool:
    """True if only ``rounds`` changed and nothing depends on it (ε-calibrated noise does)."""
    if old.replace(rounds=new.rounds) != new:
        return False
    dp = new.privacy.dp
    return not (dp.enabled and dp.target_epsilon is not None)


def _check_runnable(cfg: SimulationConfig) -> None:
    """Fail fast (before TensorFlow) on a configuration beyond the classroom caps, a split that
    cannot be made or a missing module. A CSV must be one this session uploaded: neither a
    link nor a configuration file may make the server read a file of its choosing."""
    if cfg.dataset.name == "csv":
        from fedsim_app.base.csv_upload import is_session_upload

        if not is_session_upload(cfg.dataset.path):
            raise ConfigError("dataset.path", safe.plain(cfg.dataset.path, 60),
                              "a CSV file uploaded in this session (on the Data page)")
    limits.check(cfg, memory=False)  # before the split: 2,000 clients is refused instantly
    summary = split_summary(cfg)
    limits.check(cfg, summary.train_sizes)
    p = cfg.privacy
    if p.dp.enabled or p.secure_aggregation.enabled or p.he.enabled or p.zkp.enabled:
        from fedsim.privacy.pipeline import build_pipeline

        # HE's ``layer`` index needs the model's layer layout (TensorFlow), so it is checked
        # when the simulation is built (get_sim shows that error); check the rest here.
        if p.he.layer is not None:
            cfg = cfg.replace(privacy=p.replace(he=p.he.replace(layer=None)))
        build_pipeline(cfg, client_sizes=summary.train_sizes)


def _repair(cfg: SimulationConfig, changes: Mapping[str, Any], exc: ConfigError):
    """One friendly fix-up: a dataset change that the chosen model cannot handle → 'auto'."""
    if exc.field == "model.name" and "dataset.name" in changes:
        new = params.with_changes(cfg, {**changes, "model.name": "auto"})
        flash("info", t("state.model_auto", model=safe.md(cfg.model.name),
                        dataset=safe.md(changes["dataset.name"])))
        return new
    raise exc


def apply(new: SimulationConfig) -> None:
    """Make ``new`` the configuration; reset the run unless only the rounds changed."""
    ss = st.session_state
    old = ss[CFG]
    if new == old:
        return
    ss[CFG] = new
    sim = ss.get(SIM)
    if sim is None:
        return
    if _rounds_only(old, new):
        sim.set_rounds(new.rounds)  # keep the rounds already run
        return
    progressed = sim.round > 0 or sim.in_round
    ss[SIM] = None
    ss[PLAYING] = False
    ss.pop(DIVERGED, None)
    if progressed:
        flash("toast", t("state.reset"))


def update(changes: Mapping[str, Any]) -> bool:
    """Apply dotted-path ``changes``; on any error flash it and keep the state unchanged."""
    old = config()
    try:
        try:
            new = params.with_changes(old, changes)
        except IncompatibleConfigError as exc:
            new = _repair(old, changes, exc)
        if new != old and not _rounds_only(old, new):
            _check_runnable(new)
    except ENGINE_ERRORS as exc:
        flash("error", t("state.bad_setting", error=safe.error(exc)))
        return False
    apply(new)
    return True


def load(new: SimulationConfig) -> str | None:
    """Replace the whole configuration (preset, upload). Returns an error text, or None."""
    try:
        _check_runnable(new)
    except ENGINE_ERRORS as exc:
        return str(exc) or type(exc).__name__
    apply(new)
    return None


def load_preset(name: str) -> None:
    """Callback of a preset button: load it (keeping the seed) or say why not."""
    from fedsim.presets import PRESETS

    preset = PRESETS[name]
    try:
        cfg = preset.build().replace(seed=config().seed)
    except ConfigError as exc:
        flash("error", t("state.preset_failed", title=t(f"preset.{name}.title"), error=safe.error(exc)))
        return
    err = load(cfg)
    if err:
        flash("error", t("state.preset_failed", title=t(f"preset.{name}.title"), error=safe.md(err)))
    else:
        # A toast: the preset cards sit far below the top of the page, where a message
        # would be drawn off-screen (the card also gets its "current" badge).
        flash("toast_ok", t("state.preset_loaded", title=t(f"preset.{name}.title")))


def load_upload(name: str, data: bytes) -> bool:
    """A configuration file's bytes → the new configuration, or an error (state untouched).

    The bytes go through the strict, bounded loader (:mod:`fedsim.jsonio`): an oversized,
    deeply nested, non-UTF-8 or non-object file (``null`` included) is an error, never a
    silent reset to the defaults. The file name and the error are escaped: both are data.
    """
    shown = safe.md(name, 80)
    try:
        if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
            raise ConfigError("", "(file)", "a small JSON file",
                              message=f"the file is larger than {MAX_UPLOAD_MB} MB")
        cfg = SimulationConfig.from_json(data)
        cfg = _own_csv(cfg)  # ``upload:<id>`` of this session → its stored file (issue #27)
    except ConfigError as exc:
        flash("error", t("side.upload.bad", name=shown, error=safe.error(exc)))
        return False
    err = load(cfg)
    if err:
        flash("error", t("side.upload.bad", name=shown, error=safe.md(err)))
        return False
    flash("success", t("side.upload.ok", name=shown))
    return True


def on_upload(widget_key: str) -> None:
    """on_change of the sidebar's file uploader: runs before the page is drawn."""
    f = st.session_state.get(widget_key)
    if f is not None:
        load_upload(f.name, f.getvalue())


# ------------------------------------------------------------------ uploaded CSV files (issue #27)
# A CSV lives under an opaque id in this session's upload map (fedsim_app/base/csv_upload.py);
# a configuration leaving the session names it ``upload:<id>``, never by its path on the server.


def _own_csv(cfg: SimulationConfig) -> SimulationConfig:
    """``cfg`` with ``dataset.path`` ``upload:<id>`` of this session's uploads made its stored
    path; any other path is left for :func:`_check_runnable` to refuse."""
    if cfg.dataset.name != "csv":
        return cfg
    from fedsim_app.base.csv_upload import resolve

    path = resolve(cfg.dataset.path)
    return cfg if path == cfg.dataset.path else cfg.replace(
        dataset=cfg.dataset.replace(path=path))


def config_for_download(cfg: SimulationConfig | None = None) -> str:
    """The configuration's JSON as the sidebar's download should give it: this session's
    uploaded CSV named ``upload:<id>`` (it loads back in this session only), no server path."""
    cfg = config() if cfg is None else cfg
    if cfg.dataset.name == "csv":
        from fedsim_app.base.csv_upload import reference

        cfg = cfg.replace(dataset=cfg.dataset.replace(path=reference(cfg.dataset.path)))
    return cfg.to_json()


def new_seed() -> None:
    update({"seed": random.randrange(0, 100_000)})


def scenario_name(cfg: SimulationConfig) -> str | None:
    """The preset this configuration is (seed aside), or None for a custom one."""
    for name, cfg_p in _preset_configs().items():
        if cfg_p.replace(seed=cfg.seed) == cfg:
            return name
    return None


@st.cache_resource(show_spinner=False)
def _preset_configs() -> dict[str, SimulationConfig]:
    from fedsim.presets import PRESETS

    out = {}
    for name, p in PRESETS.items():
        try:
            out[name] = p.build()
        except ConfigError:
            pass
    return out


# ------------------------------------------------------------------ the simulation


def get_sim(show_errors: bool = True):
    """This user's Simulation for the current configuration, built on first use (or None)."""
    ss = st.session_state
    cfg = config()
    sim = ss.get(SIM)
    if sim is not None and sim.config == cfg:
        return sim
    try:
        limits.check(cfg, split_summary(cfg).train_sizes)  # a link may ask for anything
        from fedsim.engine.simulation import Simulation

        sim = Simulation(cfg)
    except ENGINE_ERRORS as exc:
        if show_errors:
            key = "state.missing_module" if isinstance(exc, ImportError) else "state.build_error"
            st.error(t(key, error=safe.error(exc)))
        return None
    ss[SIM] = sim
    from fedsim_app.base.runtime import freeze_imported_objects

    freeze_imported_objects()  # TensorFlow is loaded now: see fedsim_app/base/runtime.py
    return sim


def _with_sim(action: Callable[[Any], Any]) -> None:
    """Run an engine action in a callback; engine errors are flashed and stop playing."""
    sim = get_sim(show_errors=False)
    if sim is None:
        flash("error", t("tr.no_sim"))
        return
    try:
        action(sim)
    except DivergedError as exc:  # the engine rolled the round back: the state is intact
        st.session_state[PLAYING] = False
        st.session_state[DIVERGED] = (exc.round, exc.phase, exc.what)
    except ENGINE_ERRORS as exc:
        st.session_state[PLAYING] = False
        flash("error", t("state.engine_error", error=safe.error(exc)))


def step_phase() -> None:
    _with_sim(lambda sim: None if sim.done else sim.step())


def step_round() -> None:
    _with_sim(lambda sim: None if sim.done else sim.step_round())


def run_to_end() -> None:
    """Callback: run the remaining rounds (the guarded path: errors flashed, limits applied)."""
    _with_sim(lambda sim: None if sim.done else sim.run())


def reset_run() -> None:
    st.session_state[PLAYING] = False
    st.session_state.pop(DIVERGED, None)
    _with_sim(lambda sim: sim.reset())


def play() -> None:
    """Callback of Play: start playing, as a new play generation."""
    ss = st.session_state
    ss[PLAYING] = True
    ss[PLAY_GEN] = ss.get(PLAY_GEN, 0) + 1


def pause() -> None:
    """Callback of Pause: stop playing; ticks of the generation that was playing step nothing.

    Callbacks run at the start of the run that the click requested, before any fragment body,
    and a click that arrives while a tick is running is queued and coalesced with later ticks
    (Streamlit's ScriptRequests), so the next tick sees this state: the round that is running
    when the click arrives finishes, and no other starts."""
    ss = st.session_state
    ss[PLAYING] = False
    ss[PLAY_GEN] = ss.get(PLAY_GEN, 0) + 1


def toggle_play() -> None:
    (pause if st.session_state.get(PLAYING) else play)()


def play_generation() -> int:
    """The current play generation (changes at every Play and Pause)."""
    return st.session_state.get(PLAY_GEN, 0)


def play_tick(generation: int | None = None, by_phase: bool = False) -> bool:
    """One play tick: run one round (``by_phase``: one phase, so the cycle lights each phase
    as it runs) if playing (and, when ``generation`` is given, only if it is still the
    generation that armed the tick: a tick armed before a Pause never steps, even if Play was
    pressed again since). Returns True when playing just stopped."""
    ss = st.session_state
    if not ss.get(PLAYING):
        return False
    if generation is not None and generation != ss.get(PLAY_GEN, 0):
        return False
    sim = get_sim(show_errors=False)
    if sim is None or sim.done:
        ss[PLAYING] = False
        return True
    _with_sim(lambda s: s.step() if by_phase else s.step_round())
    if sim.done or not ss.get(PLAYING):
        ss[PLAYING] = False
        return True
    return False


@st.cache_data(max_entries=16, show_spinner=False)
def baselines(cfg_json: str) -> dict[str, list[dict]]:
    """Centralized and local-only curves for a configuration (same data, model and seed)."""
    from fedsim.tools.baselines import baseline_curves

    return baseline_curves(SimulationConfig.from_json(cfg_json))


def baseline_key(cfg: SimulationConfig) -> str:
    """Baselines ignore participation, aggregation and privacy: key only on what they use."""
    return SimulationConfig(seed=cfg.seed, rounds=cfg.rounds, dataset=cfg.dataset,
                            clients=cfg.clients.replace(fraction=1.0, dropout=0.0,
                                                        malicious=type(cfg.clients.malicious)()),
                            partition=cfg.partition, model=cfg.model,
                            training=cfg.training).to_json(indent=None)
