"""Two process-wide fixes that keep reruns fast when a Streamlit app holds live TensorFlow state.

Measured on the Training page (10 digits clients, see ``bench/app_bench.py``): without them a
rerun after "Next round" took ~730 ms, of which the engine's round was ~10 ms.

1. **Streamlit clears Keras after every script run.** ``ScriptRunner`` calls
   ``_clean_problem_modules()``, which runs ``keras.backend.clear_session()``; that calls
   ``context.clear_kernel_cache()``, so the next call of every compiled ``tf.function``
   re-instantiates its kernels (~150–250 ms), and it resets Keras' global state while other
   sessions' threads may be using it. fedsim never builds Keras models per run (its compiled
   trainers are cached on purpose and shared), so :func:`keep_tensorflow_warm` replaces that
   hook with one that still closes matplotlib figures but leaves Keras alone.
2. **Streamlit runs ``gc.collect(2)`` after every script run** (``runner.postScriptGC``). With
   TensorFlow, Keras, Plotly and pandas imported, that walks ~430k long-lived objects (~210 ms)
   every rerun. :func:`freeze_imported_objects` moves the objects alive after the first
   simulation is built into the permanent generation (``gc.freeze``, meant for exactly this),
   so later collections only look at new objects; garbage made later is still collected.

Both are best-effort: if a future Streamlit renames the hook, the app works, only slower.

3. **The first visit after a server start waits for TensorFlow** (5 s on a quiet machine, up
   to 30 s on a loaded one). :func:`preload_engine` starts importing the engine's TensorFlow
   half in a background thread the first time any page runs, so a student who opens the
   Overview and then Training, or a cold deep link to Training, waits less; the page says
   what is loading meanwhile (:func:`engine_ready`). The import is process-wide and holds no
   user's data. Then it traces the default's and the presets' trainers and runs each once on
   a made-up example (``fedsim.training.trainer.warm_up``): a traced function's first call
   still costs 0.1-0.3 s, and a class that opened the link together waited on it at its
   first "Next round" (``bench.load_bench``, with one trainer per model however many sessions
   ask at once: 30 sessions' first click p95 3.8 s before, 0.8 s after).

4. **Memory of closed sessions goes back to the system.** With ``runner.postScriptGC`` off
   (``fedsim_app/server/.streamlit/config.toml``: a full collection after every run walked every open
   session's objects, ~30 ms per click and growing with each student), cycles left by a
   closed session would wait for Python's next automatic full collection, and glibc keeps
   freed heap pages. :func:`start_janitor` watches the number of sessions and, when it
   drops (a closed tab's 2-minute reconnect window has passed), removes the expired
   sessions from Streamlit's reconnect cache (:func:`reap_expired_sessions`; the cache only
   hides them), runs one full collection and ``malloc_trim(0)`` — once per departure, never
   per click. A reaped session's uploaded CSV files are deleted with it
   (:func:`fedsim_app.base.csv_upload.discard_session`).

5. **The process exits cleanly.** Both background threads are daemons (a server stopped during
   start-up must not wait for the presets' traces), but CPython ends a daemon thread still
   running at exit with ``pthread_exit``, whose forced unwind meets a C++ ``catch (...)`` in
   TensorFlow while a trace is in progress: ``FATAL: exception not rethrown``, exit 134. So
   the threads stop at safe points (:data:`_stop`, checked between traces and between the
   janitor's looks) and an ``atexit`` hook, registered when the first thread starts, sets it
   and joins them (:func:`stop_background`): at most the trace in progress (or the
   TensorFlow import, if exit comes that early) is finished first.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
import time

_lock = threading.Lock()
_patched = False
_frozen = False
_preload: threading.Thread | None = None
_ready = threading.Event()
_janitor: threading.Thread | None = None
#: Seconds between the janitor's looks at the session count.
JANITOR_INTERVAL_S = 2.0
#: Set at exit (or by a test): the background threads stop at their next safe point.
_stop = threading.Event()
#: Longest wait at exit for a background thread to reach a safe point (seconds): the trace in
#: progress takes well under a second; a TensorFlow import still running takes 5-30 s.
EXIT_JOIN_S = 120.0
_atexit_registered = False


def _import_engine() -> None:
    try:
        import fedsim.training.trainer  # noqa: F401 - TensorFlow + Keras + the trainer module
        import fedsim.engine.simulation  # noqa: F401
    except Exception:  # noqa: BLE001 - the page that needs it will show the real error
        pass
    finally:
        _ready.set()
    _trace_presets(_stop)


def _trace_presets(stop: threading.Event | None = None) -> None:
    """Trace the trainers of the default setup and the presets (lessons use the same models)
    while the first pages are read, and run each once (``warm_up``): a first round then takes
    ~0.1 s instead of 2-3 s of tracing and 0.1-0.3 s of a first call. The trainers are
    cached process-wide (one per model, however many sessions ask at once) and hold no
    user's data. The default comes first: it is what a class opening a link needs.

    ``stop``: checked before each data set is built and each trainer is traced or warmed up
    (the safe points where an exiting process may end the work: see :func:`stop_background`)."""
    stopped = (lambda: False) if stop is None else stop.is_set
    try:
        from fedsim.training.trainer import get_trainer, trace_ahead, warm_up
        from fedsim.config import SimulationConfig
        from fedsim.presets import PRESETS
        from fedsim.engine.simulation import build_federation

        seen = set()
        for cfg in [SimulationConfig()] + [p.build() for p in PRESETS.values()]:
            if stopped():
                return
            fed = build_federation(cfg)
            key = (fed.spec, fed.data.task, cfg.training.optimizer, cfg.training.momentum,
                   cfg.privacy.dp.mode == "dpsgd")
            if key not in seen:
                seen.add(key)
                if stopped():
                    return
                trainer = get_trainer(*key)
                trace_ahead(trainer)
                if stopped():
                    return
                warm_up(trainer)  # a traced function's first call still costs ~0.1-0.3 s
    except Exception:  # noqa: BLE001 - an optimisation only: a round traces on demand
        pass


def stop_background(timeout: float = EXIT_JOIN_S) -> bool:
    """Stop the preload and janitor threads at their next safe point and wait for them (at
    most ``timeout`` seconds in all); True when none is left running. Runs at exit (``atexit``,
    registered by :func:`_start_thread`): a daemon thread still inside TensorFlow when the
    interpreter finalizes aborts the process (see the module doc, point 5)."""
    _stop.set()
    deadline = time.monotonic() + timeout
    alive = False
    for t in (_preload, _janitor):
        if t is None or t is threading.current_thread():
            continue
        t.join(max(0.0, deadline - time.monotonic()))
        alive = alive or t.is_alive()
    return not alive


def _start_thread(target, name: str) -> threading.Thread:
    """A started daemon thread, with :func:`stop_background` registered at exit (once). The
    caller holds :data:`_lock`."""
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(stop_background)  # atexit runs before daemon threads are ended
        _atexit_registered = True
    t = threading.Thread(target=target, name=name, daemon=True)
    t.start()
    return t


def preload_engine() -> None:
    """Import TensorFlow and the trainer in a daemon thread, once per process (stopped and
    joined at exit: :func:`stop_background`).

    ``FEDSIM_PRELOAD=0`` turns it off: the first-paint bench and test measure the pages that
    must draw without TensorFlow (Overview, Lessons) with nothing loading it behind them.
    """
    global _preload
    if os.environ.get("FEDSIM_PRELOAD", "1") == "0":
        return
    if _ready.is_set() or "fedsim.training.trainer" in sys.modules:
        _ready.set()
        return
    with _lock:
        if _preload is None and not _stop.is_set():
            _preload = _start_thread(_import_engine, "fedsim-preload")


def engine_ready() -> bool:
    """True once TensorFlow and the trainer are imported (nothing left to wait for)."""
    return _ready.is_set()


def _clean_problem_modules_keep_keras() -> None:
    """Streamlit's post-run cleanup minus ``keras.backend.clear_session()``."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: BLE001 - never break a rerun over a figure cleanup
            pass


def keep_tensorflow_warm() -> bool:
    """Stop Streamlit from clearing TensorFlow's kernel cache after each run (idempotent)."""
    global _patched
    with _lock:
        if _patched:
            return True
        try:
            from streamlit.runtime.scriptrunner import script_runner
        except ImportError:  # pragma: no cover - a Streamlit without this module
            return False
        if not hasattr(script_runner, "_clean_problem_modules"):
            return False  # pragma: no cover - renamed upstream: nothing to undo
        script_runner._clean_problem_modules = _clean_problem_modules_keep_keras
        _patched = True
        return True


def freeze_imported_objects() -> None:
    """``gc.freeze()`` once, after TensorFlow is imported and a first simulation exists."""
    global _frozen
    with _lock:
        if _frozen:
            return
        gc.collect()  # free what is already garbage before making the rest permanent
        gc.freeze()
        _frozen = True


def _session_manager():
    try:
        from streamlit import runtime

        if not runtime.exists():
            return None
        mgr = runtime.get_instance()._session_mgr
        mgr.list_sessions  # noqa: B018 - the API the janitor needs
        return mgr
    except Exception:  # noqa: BLE001 - a Streamlit without this API: no janitor
        return None


def _session_count() -> int | None:
    mgr = _session_manager()
    if mgr is None:
        return None
    try:
        return len(mgr.list_sessions())
    except Exception:  # noqa: BLE001
        return None


def _on_event_loop(fn) -> None:
    """Run ``fn`` on Streamlit's event loop thread (where sessions are shut down) and wait for
    it; directly if there is no loop to hand it to."""
    try:
        from streamlit import runtime

        loop = runtime.get_instance()._get_async_objs().eventloop
    except Exception:  # noqa: BLE001 - no running server (tests): nothing else touches it
        fn()
        return
    done = threading.Event()

    def run() -> None:
        try:
            fn()
        finally:
            done.set()

    loop.call_soon_threadsafe(run)
    done.wait(10.0)


def _shut_down(session) -> None:
    """What Streamlit does to a session it does not keep for reconnecting: shut it down (its
    uploaded files, media and caches go), delete the CSV files it stored — and empty its
    state, since Streamlit's message loop keeps the last session it flushed in a local
    variable."""
    try:
        session.shutdown()
    except Exception:  # noqa: BLE001 - best effort, the state is still emptied below
        pass
    try:
        from fedsim_app.base.csv_upload import discard_session

        discard_session(session.session_state)  # its uploaded CSV files (issue #27)
    except Exception:  # noqa: BLE001 - best effort; the folder goes at exit anyway
        pass
    try:
        session.session_state.clear()
        # A fragment's function holds its page's globals (the Training page's ``live``).
        session._fragment_storage.clear()
    except Exception:  # noqa: BLE001
        pass


def reap_expired_sessions(mgr=None, on_loop=_on_event_loop) -> int:
    """Shut down closed sessions whose reconnect window has passed; returns how many.

    Why: Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` (2 min)
    in case it reconnects. When that window passes its cache only *hides* the entry (it is
    removed on the next write, i.e. when another student leaves, or by ``expire()``), and
    the session is never shut down — so the last class of the day kept every run (model,
    history, charts, uploaded files) alive until the server stopped. Measured with
    ``bench.load_bench``: 10 of 10 simulations still reachable after a class of 10 left;
    with this, none.
    """
    mgr = mgr if mgr is not None else _session_manager()
    cache = getattr(getattr(mgr, "_session_storage", None), "_cache", None)
    expire = getattr(cache, "expire", None)
    if expire is None:
        return 0
    lock = getattr(mgr, "_storage_lock", None) or threading.Lock()
    try:
        with lock:  # the cache is not thread-safe; the session manager writes it under this
            expired = [info for _, info in expire()]
    except Exception:  # noqa: BLE001 - best effort: never take the server down over it
        return 0
    if expired:
        on_loop(lambda: [_shut_down(info.session) for info in expired])
    return len(expired)


def release_memory() -> None:
    """One full garbage collection, then give freed heap pages back (glibc ``malloc_trim``)."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): the collection alone
        pass


def _simulations_alive() -> int:
    """How many ``Simulation`` objects are reachable (a debugging aid: walks every object)."""
    sim_mod = sys.modules.get("fedsim.engine.simulation")
    if sim_mod is None:
        return 0
    return sum(isinstance(o, sim_mod.Simulation) for o in gc.get_objects())


def _janitor_loop() -> None:
    last = _session_count()
    while last is not None:
        if _stop.wait(JANITOR_INTERVAL_S):
            return  # exiting: see stop_background
        now = _session_count()
        if now is None or _stop.is_set():
            return
        if now < last:
            reap_expired_sessions()
            release_memory()
            if os.environ.get("FEDSIM_JANITOR_LOG") == "1":  # bench.load_bench reads it
                print(f"fedsim-janitor: {last} -> {now} sessions; simulations alive: "
                      f"{_simulations_alive()}", flush=True)
        last = now


def start_janitor() -> None:
    """Start the closed-session memory janitor (a daemon thread), once per process (stopped
    and joined at exit: :func:`stop_background`)."""
    global _janitor
    with _lock:
        if _janitor is None and not _stop.is_set() and _session_count() is not None:
            _janitor = _start_thread(_janitor_loop, "fedsim-janitor")
