"""The shared run cache computes each key once, even when many sessions ask at once."""

from __future__ import annotations

import threading
import time

import pytest

from fedsim_app.base.runs import RunCache


def test_many_threads_same_key_compute_once():
    cache, calls, start = RunCache(size=4), [], threading.Barrier(16)

    def compute():
        calls.append(1)
        time.sleep(0.2)  # long enough that every thread arrives while it runs
        return object()

    got = []

    def ask():
        start.wait()
        got.append(cache.get("k", compute))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and cache.computed == 1
    assert len(got) == 16 and all(g is got[0] for g in got)


def test_eviction_under_concurrent_use_never_raises():
    """The old cache (an OrderedDict without a lock) raised KeyError when one thread's
    ``in`` + ``move_to_end`` met another's eviction; this hammers both at once."""
    cache, errors = RunCache(size=3), []

    def worker(i):
        try:
            for j in range(300):
                key = str((i + j) % 7)
                assert cache.get(key, lambda k=key: k) == key
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache) == 3


def test_a_failure_reaches_every_waiter_and_is_not_kept():
    cache, start = RunCache(), threading.Barrier(4)
    outcomes = []

    def fail():
        time.sleep(0.1)
        raise ValueError("boom")

    def ask():
        start.wait()
        try:
            cache.get("k", fail)
        except ValueError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["boom"] * 4
    assert cache.get("k", lambda: 42) == 42  # asked again: computed again


def test_least_recently_used_is_dropped():
    cache = RunCache(size=2)
    cache.get("a", lambda: 1), cache.get("b", lambda: 2)
    cache.get("a", lambda: pytest.fail("kept: not recomputed"))
    cache.get("c", lambda: 3)  # evicts b, the least recently used
    assert cache.get("b", lambda: 22) == 22 and cache.computed == 4
