"""A classroom on one server (``python -m bench.load_bench [N ...]``, default 30 and 60).

N concurrent sessions against the app served as ``make run`` serves it (``python -m
fedsim_app``: ``fedsim_app/server/.streamlit/config.toml``, no file watcher). No browsers: each
session is a small client speaking Streamlit's websocket protocol (``streamlit.proto``
``BackMsg``/``ForwardMsg``), exactly what the page sends — a ``rerun_script`` with the URL's
query string, then the "Next round" button's trigger as a rerun of its fragment — so the
server's work is measured, not N Chromium renderers on 2 cores.

Each session has its own configuration from the URL (its own seed and number of clients). What
a class feels when everyone opens the link at once, in three steps, each started by every
session at the same instant (a barrier):

- **open**: the deep link to Training sent → the page drawn with its "Next round" button
  (the session's run is built here: data, split, model, first evaluation);
- **first click**: the first "Next round" (the run's first round: the first call of its
  compiled trainer, the first charts with a round in them);
- **warm clicks**: the ROUNDS - 1 later clicks.

Each click's response time is click sent → ``script_finished`` of the fragment. Reported:
p50/p95 of each step, server RSS per session and after the sessions close, the load average
before, and a cross-session check: every session's final metric cards must equal those of a
fresh engine run of *its own* configuration (computed afterwards in this process with the
Training page's own ``metric_cards``).

Options: ``--cold``: the class arrives as soon as the server answers (no teacher's tab first,
no wait for the start-up work; by default a teacher's tab opens first and the server is left
to go idle). ``--before REV``: for each N, the app as of commit REV (a ``git archive`` of
``fedsim/`` and ``fedsim_app/``) is measured first, then this checkout (or ``--after REV2``'s
snapshot), one after the other on the same machine. ``--whole``: each click as a whole-script rerun. ``--paillier``
(``--zkp``): one extra session runs Paillier-encrypted (range-proved) rounds meanwhile, to see
whether it blocks the others' clicks.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import statistics
import sys
import threading
import time
from urllib.parse import urlencode

from tests.support.serve import cpu_seconds, rss_mb, streamlit_server

ROUNDS = 3
TIMEOUT = float(os.environ.get("LB_TIMEOUT", 120))
WHOLE = False  # --whole: send each click as a whole-script rerun instead of the fragment's
#: --cold: the class opens the link as soon as the server answers (no teacher's tab first, no
#: wait for the start-up work to end)
COLD = False


def _query(i: int) -> dict:
    return {"seed": str(100 + i), "clients": str(4 + i % 5), "rounds": str(ROUNDS + 2)}


class Session:
    """One browser tab, as the server sees it."""

    def __init__(self, base: str, query: dict, label: str = ""):
        self.url = base.replace("http://", "ws://") + "/_stcore/stream"
        self.query = query
        self.label = label
        self.buttons: dict[str, tuple[str, str]] = {}  # label -> (widget id, fragment id)
        self.metrics: dict[str, str] = {}
        self.counter = ""
        self.click_ms: list[float] = []  # every click, the first included
        self.open_ms: float | None = None  # deep link sent → page drawn with "Next round"
        self.first_ms: float | None = None  # the first click (the run's first round)
        self.error: str | None = None
        self.page_hash = ""

    def _send_rerun(self, ws, widgets=(), fragment_id: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = urlencode(self.query)
        cs.page_name = "training"  # the URL path; the server resolves it to the page
        cs.page_script_hash = self.page_hash  # as the browser echoes it once it knows it
        for wid in widgets:
            ws_ = WidgetState(id=wid, trigger_value=True)
            cs.widget_states.widgets.append(ws_)
        if fragment_id:
            cs.fragment_id = fragment_id
        ws.send(msg.SerializeToString())

    def _until_finished(self, ws) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        deadline = time.time() + TIMEOUT
        done = False
        while time.time() < deadline:
            raw = ws.recv(timeout=TIMEOUT)
            if isinstance(raw, str):
                continue
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "navigation":  # the Training page's hash, as the browser learns it
                for page in fm.navigation.app_pages:
                    if page.url_pathname == "training":
                        self.page_hash = page.page_script_hash
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                which = el.WhichOneof("type")
                if which == "button":
                    self.buttons[el.button.label] = (el.button.id, fm.delta.fragment_id)
                elif which == "metric":
                    self.metrics[el.metric.label] = el.metric.body
                elif which == "html" and "data-testid='fedsim-round'" in el.html.body:
                    self.counter = el.html.body.split(">", 1)[1].split("<", 1)[0]
            elif kind == "script_finished":
                # a first visit reruns once (the frame) and again after the first round
                done = fm.script_finished in (0, 3)  # whole or fragment run (2: rerun follows)
            elif kind == "session_status_changed" and done \
                    and not fm.session_status_changed.script_is_running:
                return  # idle: no rerun queued behind this one (a click now is not dropped)
        raise TimeoutError("no script_finished")

    def _click(self, ws) -> float:
        """One "Next round" click, sent as the browser sends it; its response time (ms)."""
        wid, frag = self.buttons["Next round"]
        t0 = time.perf_counter()
        # What the browser sends for this click: a rerun of the button's fragment with its
        # trigger (WHOLE: a whole-script rerun, for comparison).
        self._send_rerun(ws, [wid], "" if WHOLE else frag)
        self._until_finished(ws)
        return (time.perf_counter() - t0) * 1e3

    def run(self, opened: threading.Barrier | None = None,
            first: threading.Barrier | None = None,
            warm: threading.Barrier | None = None) -> None:
        """Open the page, click "Next round" ROUNDS times; each barrier (when given) makes
        every session do that step at the same instant: ``opened`` the page's opening (the
        websocket connected and the deep link sent: the whole class opening the link at
        once), ``first`` the first click (the run was built when the page was drawn; the
        first round runs now), ``warm`` the later clicks."""
        from websockets.sync.client import connect

        def wait(b):
            if b is not None:
                b.wait(timeout=TIMEOUT)

        try:
            wait(opened)
            t0 = time.perf_counter()
            with connect(self.url, max_size=None, open_timeout=60) as ws:
                self._send_rerun(ws)
                self._until_finished(ws)
                while "Next round" not in self.buttons:  # the deep link's frame rerun
                    self._until_finished(ws)
                self.open_ms = (time.perf_counter() - t0) * 1e3
                wait(first)
                self.first_ms = self._click(ws)
                self.click_ms.append(self.first_ms)
                time.sleep(0.2)
                wait(warm)
                for _ in range(ROUNDS - 1):
                    self.click_ms.append(self._click(ws))
                    time.sleep(0.2)
        except Exception as exc:  # noqa: BLE001 - reported, not raised: the others go on
            self.error = f"{type(exc).__name__}: {exc}"
            for b in (opened, first, warm):  # never leave the others waiting on this one
                if b is not None:
                    b.abort()


def _wait_idle(pid: int, limit_s: float = 120.0) -> None:
    """Until the server uses < 5 % of a core for a second (a classroom server has been up a
    while before the students arrive: its start-up tracing is done)."""
    t_end = time.time() + limit_s
    while time.time() < t_end:
        c0 = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - c0 < 0.05:
            return


def _expected(query: dict) -> dict[str, str]:
    from fedsim.engine.simulation import Simulation
    from fedsim_app.base import params
    from fedsim_app.pages.training import views

    cfg, _ = params.decode(query)
    sim = Simulation(cfg)
    for _ in range(ROUNDS):
        sim.step_round()
    cards = views.metric_cards(sim.history, dict(sim.initial_metrics), sim.fed.data.task)
    return {c.label: c.value for c in cards}


def _alive_after_close(log_path: str) -> int | None:
    """Simulations still reachable in the server when the janitor last saw sessions leave
    (``FEDSIM_JANITOR_LOG=1``: fedsim_app/base/runtime.py prints it after its collection)."""
    found = None
    with open(log_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("fedsim-janitor:") and "simulations alive:" in line:
                found = int(line.rsplit(":", 1)[1])
    return found


def _pcts(values: list[float]) -> tuple[float, float]:
    """p50 and p95 (NaN when empty)."""
    if not values:
        return float("nan"), float("nan")
    if len(values) == 1:
        return values[0], values[0]
    return statistics.median(values), statistics.quantiles(values, n=20)[-1]


@contextlib.contextmanager
def _server(env: dict, root: pathlib.Path | None):
    """The app served as ``make run`` serves it: from this checkout, or (``root``) from a
    snapshot of an older commit's ``fedsim``/``fedsim_app`` (``python -m fedsim_app`` run in
    that folder imports its packages: the folder is first on ``sys.path``, before the
    checkout's editable install)."""
    from tests.support import serve

    if root is None:
        with streamlit_server(env=env) as got:
            yield got
        return
    saved = serve.ROOT
    serve.ROOT = root
    try:
        with streamlit_server(env=env) as got:
            yield got
    finally:
        serve.ROOT = saved


def snapshot(rev: str, into: pathlib.Path) -> pathlib.Path:
    """``fedsim/`` and ``fedsim_app/`` as of ``rev`` (``git archive``) under ``into``."""
    import subprocess
    import tarfile

    root = pathlib.Path(__file__).resolve().parents[1]
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "src.tar"
    subprocess.run(["git", "-C", str(root), "archive", "-o", str(archive), rev, "fedsim",
                    "fedsim_app"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def run_classroom(n: int, paillier: bool = False, zkp: bool = False,
                  root: pathlib.Path | None = None) -> dict:
    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "3", "FEDSIM_JANITOR_LOG": "1"}
    with _server(env, root) as (base, proc):
        if not COLD:
            warm = Session(base, _query(999))  # import TensorFlow once, like a teacher's tab
            warm.run()
            _wait_idle(proc.pid)  # the app traces the presets' trainers in the background
        load0 = os.getloadavg()[0]
        rss0 = rss_mb(proc.pid)
        cpu0 = cpu_seconds(proc.pid)
        sessions = [Session(base, _query(i)) for i in range(n)]
        extra = []
        if paillier:
            extra = [Session(base, {"he": "paillier", "clients": "4", "rounds": "30",
                                    "seed": "7"}, label="paillier")]
        if zkp:  # range proofs are proved and verified in the server process
            extra = [Session(base, {"zkp": "1", "clients": "4", "rounds": "30", "seed": "7"},
                             label="zkp")]
        barriers = [threading.Barrier(n + len(extra)) for _ in range(3)]
        threads = [threading.Thread(target=s.run, args=barriers) for s in sessions + extra]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        rss_peak = rss_mb(proc.pid)
        cpu = cpu_seconds(proc.pid) - cpu0
        # sessions closed: dropped after the TTL, then the janitor (fedsim_app/base/runtime.py)
        time.sleep(10)
        rss_after = rss_mb(proc.pid)
        alive_after = _alive_after_close(proc.log_path)
        # A second class on the same server: if closed sessions' memory is reused, the server
        # does not grow past the first class's peak.
        second = [Session(base, _query(i + n)) for i in range(n)]
        threads = [threading.Thread(target=s.run) for s in second]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        rss_second_peak = rss_mb(proc.pid)
        time.sleep(10)
        rss_second_after = rss_mb(proc.pid)
        alive_second = _alive_after_close(proc.log_path)
        errors_second = [s.error for s in second if s.error]
    errors = [s.error for s in sessions if s.error]
    ok = [s for s in sessions if not s.error]
    opens = [s.open_ms for s in ok]
    firsts = [s.first_ms for s in ok]
    warms = [ms for s in ok for ms in s.click_ms[1:]]
    clicks = [ms for s in ok for ms in s.click_ms]
    leaks = []
    for s in ok:
        want = _expected(s.query)
        got = {k: v for k, v in s.metrics.items() if k in want}
        if got != want or s.counter != f"Round {ROUNDS:02d}/{ROUNDS + 2:02d}":
            leaks.append((s.query, s.counter, got, want))
    (o50, o95), (f50, f95), (w50, w95), (a50, a95) = map(_pcts, (opens, firsts, warms, clicks))
    return {"sessions": n, "errors": errors, "clicks": len(clicks),
            "open_p50_ms": o50, "open_p95_ms": o95, "first_p50_ms": f50, "first_p95_ms": f95,
            "warm_p50_ms": w50, "warm_p95_ms": w95, "p50_ms": a50, "p95_ms": a95,
            "max_ms": max(clicks) if clicks else float("nan"), "load_before": load0,
            "rss_before_mb": rss0, "rss_per_session_mb": (rss_peak - rss0) / max(n, 1),
            "rss_peak_mb": rss_peak, "rss_after_close_mb": rss_after,
            "rss_second_peak_mb": rss_second_peak, "rss_second_after_mb": rss_second_after,
            "errors_second": errors_second, "alive_after_close": alive_after,
            "alive_after_second": alive_second,
            "server_cpu_s": cpu, "wall_s": wall, "mismatches": leaks,
            "paillier_clicks_ms": extra[0].click_ms if extra else None}


def _print(r: dict, tag: str = "") -> None:
    print(f"  {tag}N={r['sessions']:>2}: open p50 {r['open_p50_ms']:6.0f} p95 "
          f"{r['open_p95_ms']:6.0f} ms | first click p50 {r['first_p50_ms']:6.0f} p95 "
          f"{r['first_p95_ms']:6.0f} ms | warm click p50 {r['warm_p50_ms']:6.0f} p95 "
          f"{r['warm_p95_ms']:6.0f} ms | all clicks p95 {r['p95_ms']:6.0f} max "
          f"{r['max_ms']:6.0f} ms | load average {r['load_before']:.2f} before", flush=True)
    print(f"        RSS {r['rss_before_mb']:.0f} MB before, "
          f"+{r['rss_per_session_mb']:.1f} MB/session, {r['rss_peak_mb']:.0f} MB peak, "
          f"{r['rss_after_close_mb']:.0f} MB after close; a second class: "
          f"{r['rss_second_peak_mb']:.0f} MB peak, {r['rss_second_after_mb']:.0f} MB after "
          f"({len(r['errors_second'])} errors) | runs still in memory after each class "
          f"left: {r['alive_after_close']}, {r['alive_after_second']} | server CPU "
          f"{r['server_cpu_s']:.1f} s in {r['wall_s']:.1f} s | errors {len(r['errors'])} "
          f"| cross-session mismatches {len(r['mismatches'])}", flush=True)
    for e in r["errors"][:3]:
        print("     error:", e)
    for m in r["mismatches"][:3]:
        print("     mismatch:", m)


def main(argv: list[str] | None = None) -> list[dict]:
    """``python -m bench.load_bench [N ...] [--cold] [--paillier|--zkp] [--whole]
    [--before REV [--after REV2]]``.

    ``--before REV``: for each N, the app as of commit REV is served and measured first, then
    this checkout's (or REV2's), one after the other on the same machine (before/after)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    paillier = "--paillier" in argv
    zkp = "--zkp" in argv
    global WHOLE, COLD
    WHOLE = "--whole" in argv
    COLD = "--cold" in argv
    before = argv[argv.index("--before") + 1] if "--before" in argv else None
    after = argv[argv.index("--after") + 1] if "--after" in argv else None
    ns = [int(a) for i, a in enumerate(argv)
          if a.isdigit() and (i == 0 or argv[i - 1] not in ("--before", "--after"))] or [30, 60]
    print(f"Concurrent sessions on one server, {ROUNDS} x 'Next round' each "
          "(digits, 4-8 clients, own seed from the URL). Every session opens the page at the "
          "same instant (open: deep link sent -> 'Next round' shown, the run built), then all "
          "click the first 'Next round' at the same instant (first click: the run's first "
          f"round), then the {ROUNDS - 1} later clicks likewise (warm). "
          f"{os.cpu_count()} CPUs.", flush=True)
    out = []
    roots: dict[str, pathlib.Path | None] = {}
    import tempfile

    tmp = tempfile.TemporaryDirectory(prefix="fedsim-load-")
    if before:
        roots[f"before ({before})"] = snapshot(before, pathlib.Path(tmp.name) / "before")
    # --after REV: a snapshot too (both sides then hold committed code only, not whatever
    # else is being edited in this checkout); otherwise this checkout.
    roots[f"after ({after})" if after else ("after" if before else "")] = (
        snapshot(after, pathlib.Path(tmp.name) / "after") if after else None)
    try:
        for n in ns:
            for tag, root in roots.items():
                r = run_classroom(n, paillier=paillier, zkp=zkp, root=root)
                r["code"] = tag or "this checkout"
                out.append(r)
                _print(r, f"{tag} " if tag else "")
                if paillier or zkp:
                    print(f"       meanwhile a {'Paillier' if paillier else 'ZKP'} session's "
                          f"clicks: {[round(x) for x in r['paillier_clicks_ms'] or []]} ms")
    finally:
        tmp.cleanup()
    return out


if __name__ == "__main__":
    main()
