"""The closed-session janitor (fedsim_app/base/runtime.py): a session whose reconnect window has
passed is shut down and its state emptied, so its run (model, history, charts) can be freed.

Uses Streamlit's own ``MemorySessionStorage`` (the reconnect cache) with a short TTL: after the
TTL the cache hides the entry but keeps it — the behaviour that kept a whole class's runs
alive — and ``reap_expired_sessions`` must remove it and shut the session down.
"""

from __future__ import annotations

import threading
import time
import types

from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.session_manager import SessionInfo

from fedsim_app.base import runtime


class _Session:
    def __init__(self, sid: str) -> None:
        self.id = sid
        self.shut_down = 0
        self.session_state = {"sim": object()}
        self._fragment_storage = types.SimpleNamespace(cleared=0)
        self._fragment_storage.clear = lambda: setattr(
            self._fragment_storage, "cleared", self._fragment_storage.cleared + 1)

    def shutdown(self) -> None:
        self.shut_down += 1


def _manager(ttl: float):
    storage = MemorySessionStorage(ttl_seconds=ttl)
    return types.SimpleNamespace(_session_storage=storage, _storage_lock=threading.Lock()), storage


def test_expired_sessions_are_removed_shut_down_and_emptied():
    mgr, storage = _manager(0.2)
    old = [_Session("a"), _Session("b")]
    for s in old:
        storage.save(SessionInfo(client=None, session=s))
    time.sleep(0.3)
    fresh = _Session("c")
    storage._cache._data["c"] = SessionInfo(client=None, session=fresh)  # saved without a write
    storage._cache._expirations["c"] = time.monotonic() + 60  # (a save would reap a and b)
    # The bug: expired entries are hidden from list() but still held by the cache.
    assert [i.session.id for i in storage.list()] == ["c"]
    assert set(storage._cache._data) == {"a", "b", "c"}

    calls = []
    n = runtime.reap_expired_sessions(mgr, on_loop=lambda fn: (calls.append(1), fn()))
    assert n == 2 and calls == [1]  # one hop to the event loop for all of them
    assert set(storage._cache._data) == {"c"}
    for s in old:
        assert s.shut_down == 1 and s.session_state == {} and s._fragment_storage.cleared == 1
    assert fresh.shut_down == 0 and "sim" in fresh.session_state  # still in its window


def test_nothing_expired_means_nothing_touched():
    mgr, storage = _manager(60)
    s = _Session("a")
    storage.save(SessionInfo(client=None, session=s))
    calls = []
    assert runtime.reap_expired_sessions(mgr, on_loop=lambda fn: calls.append(fn)) == 0
    assert calls == [] and s.shut_down == 0 and "sim" in s.session_state


def test_a_failing_shutdown_still_empties_the_state():
    mgr, storage = _manager(0.05)
    s = _Session("a")
    s.shutdown = lambda: 1 / 0
    storage.save(SessionInfo(client=None, session=s))
    time.sleep(0.1)
    assert runtime.reap_expired_sessions(mgr, on_loop=lambda fn: fn()) == 1
    assert s.session_state == {}


def test_without_the_private_api_the_janitor_does_nothing():
    assert runtime.reap_expired_sessions(types.SimpleNamespace()) == 0


def test_a_page_with_a_fragment_keeps_no_run_in_its_globals():
    """A fragment's function holds its page's globals, and the arguments it was called with,
    for the session's life (and Streamlit's message loop keeps the last closed session): a run
    bound there outlives its student. The Training page did (``sim = state.get_sim()`` at
    module level). Today a page runs in ``render()``, and a fragment defined in it would hold
    its locals too: no run may be bound at module level or in ``render``."""
    import ast
    import pathlib

    pages = pathlib.Path(__file__).resolve().parents[2] / "fedsim_app" / "pages"
    checked = 0
    for path in sorted(pages.glob("*/page.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if "fragment" not in ast.dump(tree):
            continue
        checked += 1
        scopes = [tree] + [n for n in tree.body
                           if isinstance(n, ast.FunctionDef) and n.name == "render"]
        for scope in scopes:
            todo = list(ast.iter_child_nodes(scope))
            while todo:  # the scope's own statements, not those of functions defined in it
                node = todo.pop()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    continue
                todo.extend(ast.iter_child_nodes(node))
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                        and "get_sim" in ast.dump(node.value.func)):
                    raise AssertionError(f"{path.parent.name}/{path.name}:{node.lineno} binds "
                                         "a run where the fragment keeps it")
    assert checked >= 1  # the Training page
