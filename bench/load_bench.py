"""A classroom on one server (``python -m bench.load_bench [N ...]``).

N concurrent sessions (default 10, 20, 30) against ``streamlit run app.py`` on 127.0.0.1, served
as ``make run`` serves it (``fedsim_app/server/.streamlit/config.toml``: no file watcher). No browsers: each
session is a small client speaking Streamlit's websocket protocol (``streamlit.proto``
``BackMsg``/``ForwardMsg``), exactly what the page sends — a ``rerun_script`` with the URL's
query string, then one with the "Next round" button's trigger — so the server's work is
measured, not 30 Chromium renderers on 2 cores.

Each session opens the Training page with its own configuration from the URL (its own seed
and number of clients), clicks "Next round" ROUNDS times, and records each click's server-side
response time (click sent → ``script_finished``; sent as a whole-script rerun, which costs
more than the fragment rerun a browser sends, so the figures are an upper bound). Reported: p50/p95 per click, server RSS per
session and after the sessions close, and a cross-session check: every session's final metric
cards must equal those of a fresh engine run of *its own* configuration (computed afterwards
in this process with the Training page's own ``metric_cards``). With ``--paillier`` (``--zkp``) one
extra session runs Paillier-encrypted rounds (range-proved rounds) meanwhile, to see whether it
blocks the others' clicks.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from urllib.parse import urlencode

from tests.support.serve import cpu_seconds, rss_mb, streamlit_server

ROUNDS = 3
TIMEOUT = float(__import__("os").environ.get("LB_TIMEOUT", 120))
WHOLE = False  # --whole: send each click as a whole-script rerun instead of the fragment's


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
        self.click_ms: list[float] = []
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

    def run(self, start: threading.Barrier | None = None) -> None:
        from websockets.sync.client import connect

        try:
            with connect(self.url, max_size=None, open_timeout=60) as ws:
                self._send_rerun(ws)
                self._until_finished(ws)
                while "Next round" not in self.buttons:  # the deep link's frame rerun
                    self._until_finished(ws)
                if start is not None:
                    start.wait(timeout=TIMEOUT)
                for _ in range(ROUNDS):
                    wid, frag = self.buttons["Next round"]
                    t0 = time.perf_counter()
                    # What the browser sends for this click: a rerun of the button's fragment
                    # with its trigger (WHOLE: a whole-script rerun, for comparison).
                    self._send_rerun(ws, [wid], "" if WHOLE else frag)
                    self._until_finished(ws)
                    self.click_ms.append((time.perf_counter() - t0) * 1e3)
                    time.sleep(0.2)
        except Exception as exc:  # noqa: BLE001 - reported, not raised: the others go on
            self.error = f"{type(exc).__name__}: {exc}"


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


def run_classroom(n: int, paillier: bool = False, zkp: bool = False) -> dict:
    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "3", "FEDSIM_JANITOR_LOG": "1"}
    with streamlit_server(env=env) as (base, proc):
        warm = Session(base, _query(999))  # import TensorFlow once, like a teacher's tab
        warm.run()
        _wait_idle(proc.pid)  # the app traces the presets' trainers in the background at start
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
        barrier = threading.Barrier(n + len(extra))
        threads = [threading.Thread(target=s.run, args=(barrier,)) for s in sessions + extra]
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
    clicks = [ms for s in sessions for ms in s.click_ms]
    leaks = []
    for s in sessions:
        if s.error:
            continue
        want = _expected(s.query)
        got = {k: v for k, v in s.metrics.items() if k in want}
        if got != want or s.counter != f"Round {ROUNDS:02d}/{ROUNDS + 2:02d}":
            leaks.append((s.query, s.counter, got, want))
    q = statistics.quantiles(clicks, n=20) if len(clicks) > 1 else [float("nan")] * 19
    return {"sessions": n, "errors": errors, "clicks": len(clicks),
            "p50_ms": statistics.median(clicks) if clicks else float("nan"), "p95_ms": q[-1],
            "max_ms": max(clicks) if clicks else float("nan"),
            "rss_before_mb": rss0, "rss_per_session_mb": (rss_peak - rss0) / max(n, 1),
            "rss_peak_mb": rss_peak, "rss_after_close_mb": rss_after,
            "rss_second_peak_mb": rss_second_peak, "rss_second_after_mb": rss_second_after,
            "errors_second": errors_second, "alive_after_close": alive_after,
            "alive_after_second": alive_second,
            "server_cpu_s": cpu, "wall_s": wall, "mismatches": leaks,
            "paillier_clicks_ms": extra[0].click_ms if extra else None}


def main(argv: list[str] | None = None) -> list[dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    paillier = "--paillier" in argv
    zkp = "--zkp" in argv
    global WHOLE
    WHOLE = "--whole" in argv
    ns = [int(a) for a in argv if a.isdigit()] or [10, 20, 30]
    print(f"Concurrent sessions on one server, {ROUNDS} x 'Next round' each "
          "(digits, 4-8 clients, own seed from the URL):")
    out = []
    for n in ns:
        r = run_classroom(n, paillier=paillier, zkp=zkp)
        out.append(r)
        print(f"  N={n:>2}: click p50 {r['p50_ms']:7.0f} ms  p95 {r['p95_ms']:7.0f} ms  "
              f"max {r['max_ms']:7.0f} ms | RSS {r['rss_before_mb']:.0f} MB before, "
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
        if paillier or zkp:
            print(f"       meanwhile a {'Paillier' if paillier else 'ZKP'} session's clicks: "
                  f"{[round(x) for x in r['paillier_clicks_ms'] or []]} ms")
    return out


if __name__ == "__main__":
    main()
