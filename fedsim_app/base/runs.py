"""Whole runs shared by every session of the server: each configuration is run once.

When a class reveals the same lesson step, or opens Compare on the teacher's link, thirty
sessions ask for the same run at the same moment. :class:`RunCache` runs it once: the first
asker computes, the others wait for that result (they do not start a second run), and a
failure reaches every waiter and is not kept, so asking again tries again. It is an explicit,
locked, bounded object with one owner (the server process, through :func:`shared`); what it
holds are :class:`~fedsim.engine.runner.RunSummary` values, immutable, so sessions only read
them.

Why not ``st.cache_data``: these runs report progress to a bar drawn outside the function,
and ``st.cache_data`` replays such element calls on a cache hit into a block that no longer
exists (``CacheReplayClosureError`` on the second click).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

import streamlit as st

#: Finished runs kept (least recently used dropped first): a lesson step is 1-4 runs, a
#: Compare sweep up to 6, the attack matrix 30; a summary of a 30-round, 10-client run is
#: ~100 kB.
MAX_ENTRIES = 96


class _Pending:
    """A run being computed: waiters block on ``done`` and then read ``value``/``error``."""

    __slots__ = ("done", "value", "error")

    def __init__(self):
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class RunCache:
    """``get(key, compute)`` computes ``compute()`` once per key, even when many threads ask at
    the same instant; the last ``size`` results are kept."""

    def __init__(self, size: int = MAX_ENTRIES):
        self.size = size
        self._lock = threading.Lock()
        self._done: OrderedDict[str, Any] = OrderedDict()
        self._pending: dict[str, _Pending] = {}
        self.computed = 0  # how many times a compute ran (tests and the load bench read it)

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = _Pending()
        if not owner:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            return pending.value
        try:
            value = compute()
        except BaseException as exc:  # every waiter sees it; nothing is kept
            pending.error = exc
            with self._lock:
                del self._pending[key]
            pending.done.set()
            raise
        with self._lock:
            self.computed += 1
            self._done[key] = value
            while len(self._done) > self.size:
                self._done.popitem(last=False)
            del self._pending[key]
        pending.value = value
        pending.done.set()
        return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)

    def clear(self) -> None:
        with self._lock:
            self._done.clear()


@st.cache_resource(show_spinner=False)
def shared() -> RunCache:
    """The server's one :class:`RunCache` (created on first use, lives as long as the server
    process: ``st.cache_resource`` is Streamlit's process-wide store)."""
    return RunCache()


def cached(key: str, compute: Callable[[Callable | None], Any],
           progress: Callable | None = None) -> Any:
    """``compute(progress)`` once per ``key`` in the server's cache, for results that are not a
    plain run (a reconstruction attack, a baseline): ``key`` must name everything the result
    depends on."""
    return shared().get(key, lambda: compute(progress))


def summary(cfg, progress: Callable[[int], None] | None = None, rounds: int | None = None):
    """The :class:`~fedsim.engine.runner.RunSummary` of ``cfg`` (run for ``rounds`` rounds,
    default all), computed once per server. ``progress(r)`` moves this session's bar when
    this session is the one computing it."""
    from fedsim.engine.runner import run

    key = f"{rounds}:" + cfg.to_json(indent=None)
    return shared().get(key, lambda: run(cfg, progress, rounds))
