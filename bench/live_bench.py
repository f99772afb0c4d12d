"""A live class on one server (issue #24): one teacher and 60 students' phones
(``python -m bench.live_bench [--students N] [--rounds R] [--think S] [--join-window S]``).

No browsers: the teacher and every student are small clients speaking Streamlit's websocket
protocol (``streamlit.proto`` ``BackMsg``/``ForwardMsg``), as :mod:`bench.load_bench` does, and
sending what the page's browser sends:

- a whole-script ``rerun_script`` with the URL's query string (``live?start=1`` for the
  teacher, ``live?class=CODE`` for a student) and, once known, the query string the server
  wrote back (``page_info_changed``: the teacher link's ``class=…&teacher=…``);
- widget values as the browser encodes them: the join form's ``text_input`` (``string_value``)
  with its submit button's trigger, a radio's formatted option (``string_value``), a
  segmented control's formatted option (``string_array_value``), a number input
  (``double_value``), buttons (``trigger_value``); a widget drawn inside a fragment is sent as
  a rerun of that fragment;
- every fragment with ``run_every`` rerun on its timer (``is_auto_rerun``), as the browser's
  timers do: the phone's board every 2 s (the class drops a student whose phone has not called
  in for 30 s), the projector's roster and board every second.

The class, in order: the teacher opens ``live?start=1`` (a browser on the server's machine may
start a class) and gets the code and token; N students join within ``--join-window`` seconds
(the class admits 40 joins at once, then 4 a second: a refused join is retried as a student
would, and counted); the teacher asks the first lesson step; every student answers within
``--think`` seconds of seeing the question; the projector's tally must read "N of N
answered"; the teacher reveals (the projector's bar chart must hold the class's answers),
switches to federation mode with N clients and starts it; for each of ``--rounds`` rounds the
students choose what their client does (most honest, some scale / sign flip / label flip /
backdoor, some drop out; the mix rotates every round, so about 60 % of the phones change their
choice each round), then the teacher clicks "Next round" (its summary must count the drops);
at last the teacher ends the class (Class settings → End the class).

Measured: a student's click → that phone's rerun finished with the new state (answers and
choices, together and apart), the teacher's "Next round" → the projector's run finished, the
round → each phone showing its client's round (a poll of up to 2 s included), joins, server
RSS before the class, at peak (sampled every 0.25 s) and after the class ends (+10 s for the
session TTL and the janitor), the load average before and after. Targets (issue #24): a
student's click p95 ≤ 2 s, a 60-client round p95 ≤ 3 s.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import queue
import random
import re
import threading
import time
from urllib.parse import parse_qsl, urlencode

from tests.support.serve import cpu_seconds, rss_mb, streamlit_server

TIMEOUT = float(os.environ.get("LB_TIMEOUT", 120))
PAGE = "live"
#: Choices for one round, by (student + 7·round) mod 20: 14 honest, one of each attack, 2 drop.
MIX = ("honest",) * 14 + ("scale", "sign_flip", "label_flip", "backdoor", "drop", "drop")
STUDENT_POLL_S = 2.0  # fedsim_app/pages/live/student.py REFRESH_S
TEACHER_POLL_S = 1.0  # fedsim_app/pages/live/teacher.py REFRESH_S
TARGET_STUDENT_MS, TARGET_ROUND_MS = 2000.0, 3000.0


def _choice(i: int, r: int) -> str:
    return MIX[(i + 7 * (r - 1)) % len(MIX)]


def _key(wid: str) -> str:
    """A widget's user key from its id (``$$ID-<hash>-<key>``); "" without one."""
    parts = wid.split("-", 2)
    return parts[2] if wid.startswith("$$ID-") and len(parts) == 3 else ""


def _text(el) -> str | None:
    kind = el.WhichOneof("type")
    if kind == "markdown":
        return el.markdown.body
    if kind == "alert":
        return el.alert.body
    if kind in ("html", "heading"):
        return getattr(el, kind).body
    if kind == "progress":
        return el.progress.text
    if kind == "metric":
        return f"{el.metric.label}: {el.metric.body}"
    if kind == "exception":
        return f"EXCEPTION {el.exception.type}: {el.exception.message}"
    return None


class Client:
    """One browser tab of the live page, as the server sees it."""

    def __init__(self, base: str, query: dict, poll_s: float, label: str):
        self.url = base.replace("http://", "ws://") + "/_stcore/stream"
        self.query_string = urlencode(query)
        self.poll_s = poll_s
        self.label = label
        self.page_hash = ""
        self.ws = None
        self.widgets: dict[str, tuple] = {}  # key (or "label:<label>") -> (kind, proto, fragment)
        self.texts: list[str] = []  # the texts drawn by the last run
        self.charts: list[str] = []  # plotly specs drawn by the last run
        self.auto: set[str] = set()  # fragments with run_every (the browser's timers)
        self._run_auto: set[str] = set()
        self.next_poll = 0.0
        self.polls = 0
        self.poll_ms: list[float] = []
        self.exceptions: list[str] = []
        self.on_text = None  # called with each text drawn (the students' round watcher)
        self.stale = 0  # messages that arrived after their run was over (read before a send)
        self._done = self._idle = self._started = False
        self._texts: list[str] = []
        self._charts: list[str] = []

    # ---------------------------------------------------------------- protocol
    def connect(self) -> None:
        from websockets.sync.client import connect

        # held open for the whole class (``with`` would close it at the block's end)
        self.ws = connect(self.url, max_size=None, open_timeout=60).__enter__()

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            self.ws = None

    def _send(self, states=(), fragment_id: str = "", auto: bool = False) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query_string
        cs.page_name = PAGE
        cs.page_script_hash = self.page_hash
        for s in states:
            cs.widget_states.widgets.append(s)
        if fragment_id:
            cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        self.ws.send(msg.SerializeToString())

    def _handle(self, fm) -> None:
        """What the browser learns from one message (page hash, URL, timers, elements)."""
        kind = fm.WhichOneof("type")
        if kind == "navigation":
            for page in fm.navigation.app_pages:
                if page.url_pathname == PAGE:
                    self.page_hash = page.page_script_hash
        elif kind == "new_session":
            self._run_auto = set()
            self._texts, self._charts = [], []
            self._started = True
        elif kind == "page_info_changed":
            self.query_string = fm.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._run_auto.add(fm.auto_rerun.fragment_id)
            self.auto.add(fm.auto_rerun.fragment_id)
        elif kind == "stop_auto_rerun":
            self.auto.difference_update(fm.stop_auto_rerun.fragment_ids)
        elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            el = fm.delta.new_element
            which = el.WhichOneof("type")
            wid = getattr(getattr(el, which), "id", "") if which else ""
            if isinstance(wid, str) and wid:
                key = _key(wid)
                if not key and which == "button":
                    key = "label:" + el.button.label
                if key:
                    self.widgets[key] = (which, getattr(el, which), fm.delta.fragment_id)
            if which == "plotly_chart":
                self._charts.append(el.plotly_chart.spec)
            txt = _text(el)
            if txt is not None:
                self._texts.append(txt)
                if which == "exception":
                    self.exceptions.append(txt)
                if self.on_text is not None:
                    self.on_text(txt)
        elif kind == "script_finished":
            self._done = self._started and fm.script_finished in (0, 3)  # 2: a rerun follows
            if fm.script_finished == 0:
                self.auto = set(self._run_auto)  # a whole run registers every fragment
        elif kind == "session_status_changed" and self._done \
                and not fm.session_status_changed.script_is_running:
            self.texts, self.charts = self._texts, self._charts
            self._idle = True

    def _recv(self, timeout: float):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        raw = self.ws.recv(timeout=timeout)
        if isinstance(raw, str):
            return None
        fm = ForwardMsg()
        fm.ParseFromString(raw)
        return fm

    def _drain(self) -> None:
        """Messages still on the way from an earlier run (none expected): read them, so this
        request's answer is not confused with an earlier one."""
        while True:
            try:
                fm = self._recv(0)
            except TimeoutError:
                return
            if fm is not None:
                self.stale += 1
                self._handle(fm)

    def _until_finished(self) -> None:
        deadline = time.time() + TIMEOUT
        self._done = self._idle = self._started = False
        self._texts, self._charts = [], []
        while time.time() < deadline:
            fm = self._recv(max(0.01, deadline - time.time()))
            if fm is not None:
                self._handle(fm)
            if self._idle:
                return
        raise TimeoutError(f"{self.label}: no script_finished in {TIMEOUT:.0f} s")

    def rerun(self, states=(), fragment_id: str = "", auto: bool = False) -> float:
        """Send one rerun and wait until the server is idle again; its time (ms)."""
        self._drain()
        t0 = time.perf_counter()
        self._send(states, fragment_id, auto)
        self._until_finished()
        return (time.perf_counter() - t0) * 1e3

    # ---------------------------------------------------------------- widgets
    def widget(self, key: str):
        return self.widgets.get(key)

    def click(self, key: str) -> float:
        """A button (drawn in a fragment: a rerun of it, as the browser sends it)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        _, proto, frag = self.widgets[key]
        return self.rerun([WidgetState(id=proto.id, trigger_value=True)], frag)

    def pick(self, key: str, option: int | str, *, array: bool, extra=()) -> float:
        """A radio (``array=False``) or segmented control's option, by index or label."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        _, proto, frag = self.widgets[key]
        labels = [o.content if hasattr(o, "content") else o for o in proto.options]
        label = labels[option] if isinstance(option, int) else option
        if label not in labels:
            raise ValueError(f"{label!r} not among {labels}")
        s = WidgetState(id=proto.id)
        if array:
            s.string_array_value.data.append(label)
        else:
            s.string_value = label
        return self.rerun([s, *extra], frag)

    def has(self, pattern: str) -> bool:
        return any(pattern in t for t in self.texts)

    def find(self, regex: str) -> re.Match | None:
        for t in self.texts:
            m = re.search(regex, t)
            if m:
                return m
        return None

    # ---------------------------------------------------------------- the browser's timers
    def tick(self) -> None:
        """Rerun each fragment with run_every when its timer is due."""
        if time.monotonic() < self.next_poll or not self.auto:
            return
        self.next_poll = time.monotonic() + self.poll_s
        ms = 0.0
        for fid in sorted(self.auto):
            ms += self.rerun(fragment_id=fid, auto=True)
        self.polls += 1
        self.poll_ms.append(ms)

    def wait(self, pred, timeout: float = TIMEOUT, what: str = "") -> None:
        """Keep the page's timers going until ``pred()``."""
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                raise TimeoutError(f"{self.label}: waited {timeout:.0f} s for {what}; the page "
                                   f"shows {[x[:120] for x in self.texts[-6:]]}")
            self.tick()
            time.sleep(0.02)

    def idle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.tick()
            time.sleep(0.02)


class Actor:
    """A client in its own thread: runs the commands it is given, keeps the page's timers
    going in between (a phone or projector left open)."""

    def __init__(self, client: Client):
        self.client = client
        self.cmds: queue.Queue = queue.Queue()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name=client.label)
        self.thread.start()

    def do(self, fn) -> cf.Future:
        fut: cf.Future = cf.Future()
        self.cmds.put((fn, fut))
        return fut

    def _loop(self) -> None:
        c = self.client
        while not self.stopped.is_set():
            try:
                fn, fut = self.cmds.get(timeout=0.05)
            except queue.Empty:
                try:
                    if c.ws is not None:
                        c.tick()
                except Exception as exc:  # noqa: BLE001 - reported by the next command
                    c.exceptions.append(f"poll: {type(exc).__name__}: {exc}")
                    time.sleep(1)
                continue
            try:
                fut.set_result(fn(c))
            except BaseException as exc:  # noqa: BLE001 - the command's future carries it
                fut.set_exception(exc)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=TIMEOUT)
        self.client.close()


# -------------------------------------------------------------------- the students' side


class Student:
    def __init__(self, i: int, base: str, code: str):
        self.i = i
        self.name = f"Student {i:02d}"
        self.client = Client(base, {"class": code, "lang": "en"}, STUDENT_POLL_S, self.name)
        self.client.on_text = self._seen
        self.actor: Actor | None = None
        self.join_ms: float | None = None
        self.join_refused = 0
        self.answer: str | None = None
        self.answer_ms: float | None = None
        self.choice = "honest"
        self.choice_ms: list[float] = []
        self.round_seen: dict[int, float] = {}  # round -> when this phone first showed it
        self.client_no: int | None = None

    def _seen(self, txt: str) -> None:
        m = re.match(r"\*\*Round (\d+)\*\*", txt)
        if m:
            self.round_seen.setdefault(int(m.group(1)), time.monotonic())

    def join(self, delay: float) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        time.sleep(delay)
        c = self.client
        t0 = time.perf_counter()
        c.connect()
        c.rerun()
        for _ in range(3):  # a first visit after a start may rerun once more (the frame)
            if c.widget("live_name"):
                break
            c.rerun()
        t1 = time.perf_counter()
        for _ in range(60):
            name = c.widgets["live_name"][1]
            submit = next((p for k, (w, p, _) in c.widgets.items()
                           if w == "button" and p.is_form_submitter and p.form_id), None)
            if submit is None:
                raise RuntimeError(f"{self.name}: no Join button")
            c.rerun([WidgetState(id=name.id, string_value=self.name),
                     WidgetState(id=submit.id, trigger_value=True)])
            if c.has(f"in the class as {self.name}"):
                self.join_ms = (time.perf_counter() - t1) * 1e3
                return (t1 - t0) * 1e3
            if c.has("Too many joins"):
                self.join_refused += 1
                time.sleep(1.0 + random.random())  # a student taps Join again
                continue
            raise RuntimeError(f"{self.name}: not joined: {c.texts[-3:]}")
        raise RuntimeError(f"{self.name}: join refused 60 times")

    def answer_step(self, think: float, rng: random.Random) -> float:
        c = self.client
        c.wait(lambda: any(k.startswith("live_answer_") for k in c.widgets),
               what="the question")
        key = max((k for k in c.widgets if k.startswith("live_answer_")),
                  key=lambda k: int(k.rsplit("_", 1)[1]))
        c.idle(rng.uniform(0, think))
        proto = c.widgets[key][1]
        idx = self.i % len(proto.options)
        self.answer = proto.options[idx]
        ms = c.pick(key, idx, array=False)
        if not c.has(f"Sent: {self.answer}"):
            raise RuntimeError(f"{self.name}: no 'Sent: {self.answer}' after answering: "
                               f"{c.texts[-4:]}")
        self.answer_ms = ms
        return ms

    def choose(self, action: str, label: str, think: float, rng: random.Random) -> float | None:
        c = self.client
        c.wait(lambda: c.widget("live_action") is not None, what="federation mode")
        if self.client_no is None:
            m = c.find(r"You are client (\d+)")
            self.client_no = int(m.group(1)) if m else None
        if action == self.choice:
            return None  # already selected: nothing to click
        c.idle(rng.uniform(0, think))
        ms = c.pick("live_action", label, array=True)
        if any("Too many" in t for t in c.texts):
            raise RuntimeError(f"{self.name}: choice refused: {c.texts}")
        self.choice = action
        self.choice_ms.append(ms)
        return ms


# -------------------------------------------------------------------- the class


# p50/p95 as the classroom load bench reports them, and its wait for an idle server (one
# definition for both benches)
from bench.load_bench import _pcts, _wait_idle  # noqa: E402


class _Peak(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            self.stop.wait(0.25)


def _results(futs: list[cf.Future], timeout: float) -> tuple[list, list[str]]:
    out, errors = [], []
    for f in futs:
        try:
            out.append(f.result(timeout=timeout))
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(exc).__name__}: {exc}")
    return out, errors


def run_class(n: int = 60, rounds: int = 5, think: float = 2.0, join_window: float = 10.0,
              seed: int = 0, log=print) -> dict:
    r: dict = {"students": n, "rounds": rounds, "errors": [], "checks": {}}
    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "3", "FEDSIM_JANITOR_LOG": "1"}
    with streamlit_server(env=env) as (base, proc):
        # Like a classroom server that has been up a while: one tab has opened the lobby
        # (TensorFlow loaded in the background) and the start-up work is over.
        warm = Client(base, {"lang": "en"}, TEACHER_POLL_S, "warm")
        warm.connect()
        warm.rerun()
        warm.close()
        _wait_idle(proc.pid)
        peak = _Peak(proc.pid)
        r["load_before"] = os.getloadavg()
        r["rss_before_mb"] = rss_mb(proc.pid)
        cpu0 = cpu_seconds(proc.pid)
        t_class = time.perf_counter()
        tc = Client(base, {"start": "1", "lang": "en"}, TEACHER_POLL_S, "teacher")
        actors: list[Actor] = []
        students: list[Student] = []
        try:
            _class(r, base, proc, tc, actors, students, n, rounds, think, join_window, seed, log)
        except Exception as exc:  # noqa: BLE001 - reported with what the projector showed
            r["fatal"] = f"{type(exc).__name__}: {exc}"
            r["errors"].append(r["fatal"])
        r["class_wall_s"] = time.perf_counter() - t_class
        r.setdefault("rss_at_end_mb", rss_mb(proc.pid))
        for a in actors:
            a.stopped.set()
        for a in actors:
            a.stop()
        tc.close()
        r["server_cpu_s"] = cpu_seconds(proc.pid) - cpu0
        time.sleep(10)  # session TTL (3 s) and the janitors' sweeps (5 s)
        r["rss_after_mb"] = rss_mb(proc.pid)
        r["rss_peak_mb"] = peak.peak
        peak.stop.set()
        lobby = Client(base, {"lang": "en"}, TEACHER_POLL_S, "lobby")
        lobby.connect()
        lobby.rerun()
        m = lobby.find(r"Live classes running on this server: (\d+)")
        lobby.close()
        r["classes_after"] = int(m.group(1)) if m else None
        r["load_after"] = os.getloadavg()
        r["exceptions"] = sorted({x for s in students for x in s.client.exceptions}
                                 | set(tc.exceptions))
        joined = [s for s in students if s.join_ms is not None]
        r["joined"] = len(joined)
        r["join_ms"] = [s.join_ms for s in joined]
        r["join_refused"] = sum(s.join_refused for s in students)
        r["answer_ms"] = [s.answer_ms for s in joined if s.answer_ms is not None]
        r["choice_ms"] = [ms for s in joined for ms in s.choice_ms]
        r["poll_ms"] = [ms for s in joined for ms in s.client.poll_ms]
        r["teacher_poll_ms"] = list(tc.poll_ms)
        r["stale"] = tc.stale + sum(s.client.stale for s in students)
        with open(proc.log_path, encoding="utf-8", errors="replace") as fh:
            r["server_tracebacks"] = fh.read().count("Traceback (most recent call last)")
    return r


def _class(r: dict, base: str, proc, tc: Client, actors: list, students: list, n: int,
           rounds: int, think: float, join_window: float, seed: int, log) -> None:
    """The class itself (fills ``r``; the actors it starts go into ``actors``)."""
    from fedsim_app.i18n import t

    rng = random.Random(seed)
    labels = {a: t(f"live.action.{a}") for a in MIX}
    fed_label = t("live.mode.federation")
    # The teacher starts the class.
    tc.connect()
    t0 = time.perf_counter()
    tc.rerun()
    for _ in range(3):
        if "teacher" in dict(parse_qsl(tc.query_string)) and tc.widget("live_ask"):
            break
        tc.rerun()
    r["teacher_start_ms"] = (time.perf_counter() - t0) * 1e3
    q = dict(parse_qsl(tc.query_string))
    code = q.get("class")
    if not code or "teacher" not in q:
        raise RuntimeError(f"no class started: query {tc.query_string!r}, {tc.texts}")
    teacher = Actor(tc)
    actors.append(teacher)
    log(f"  class {code} started in {r['teacher_start_ms']:.0f} ms; {n} students join "
        f"within {join_window:.0f} s", flush=True)

    students += [Student(i, base, code) for i in range(n)]
    for s in students:
        s.actor = Actor(s.client)
        actors.append(s.actor)
    delays = sorted(rng.uniform(0, join_window) for _ in students)
    futs = [s.actor.do(lambda c, s=s, d=d: s.join(d)) for s, d in zip(students, delays)]
    opens, errs = _results(futs, TIMEOUT * 3)
    r["errors"] += [f"join: {e}" for e in errs]
    joined = [s for s in students if s.join_ms is not None]
    r["open_ms"] = opens
    joined_txt = f"{t('live.joined')}: {len(joined)}"
    teacher.do(lambda c: c.wait(lambda: c.has(joined_txt), 30,
                                "the roster's count")).result(TIMEOUT)
    r["checks"]["roster"] = f"projector shows {len(joined)} joined"

    # Answer together: the first step of the first lesson.
    r["ask_ms"] = teacher.do(lambda c: c.click("live_ask")).result(TIMEOUT)
    log(f"  {len(joined)} joined ({sum(s.join_refused for s in students)} joins refused by "
        f"the rate limit and retried); the teacher asked in {r['ask_ms']:.0f} ms", flush=True)
    futs = [s.actor.do(lambda c, s=s, rr=random.Random(seed * 1000 + s.i):
                       s.answer_step(think, rr)) for s in joined]
    _, errs = _results(futs, TIMEOUT * 2)
    r["errors"] += [f"answer: {e}" for e in errs]
    answered = [s for s in joined if s.answer_ms is not None]
    want = f"{len(answered)} of {len(joined)} answered"
    try:
        teacher.do(lambda c: c.wait(lambda: c.has(want), 30, want)).result(TIMEOUT)
        r["checks"]["tally"] = f"ok ({want})"
    except Exception as exc:  # noqa: BLE001
        got = [x for x in tc.texts if "answered" in x]
        r["checks"]["tally"] = f"MISMATCH: wanted {want!r}, projector shows {got}"
        r["errors"].append(f"tally: {exc}")
    # (the charts read in the command: the projector's next poll redraws them)
    r["reveal_ms"], charts = teacher.do(
        lambda c: (c.click("live_reveal"), list(c.charts))).result(TIMEOUT)
    counts: dict[str, int] = {}
    for s in answered:
        counts[s.answer] = counts.get(s.answer, 0) + 1
    bars = None
    for spec in charts:
        try:
            data = json.loads(spec)["data"]
            bars = {str(y): int(x) for tr in data[:1] for x, y in zip(tr["x"], tr["y"])}
        except Exception:  # noqa: BLE001 - not the answers chart
            continue
        if bars:
            break
    shown = {k: v for k, v in (bars or {}).items() if v}
    if bars is None:
        r["checks"]["histogram"] = "no answers chart on the projector after Reveal"
    else:
        # the chart's categories are the options' labels, as the phones' radios show them
        match = shown == counts
        r["checks"]["histogram"] = ("ok" if match else "MISMATCH") + \
            f" (chart {shown}, answers {counts})"
    log(f"  {len(answered)} answered; tally: {r['checks']['tally']}; revealed in "
        f"{r['reveal_ms']:.0f} ms; histogram: {r['checks']['histogram']}", flush=True)

    # Be the federation: N clients, one per student.
    def to_federation(c: Client) -> tuple[float, float]:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        m = c.pick("live_mode", fed_label, array=True)
        c.wait(lambda: c.widget("live_fed_start") is not None, 30, "Start the federation")
        num = c.widgets["live_fed_clients"][1]
        extra = [WidgetState(id=num.id, double_value=float(len(joined)))]
        b = c.widgets["live_fed_start"][1]
        ms = c.rerun([*extra, WidgetState(id=b.id, trigger_value=True)])
        c.wait(lambda: c.widget("live_fed_next") is not None, 30, "Next round")
        return m, ms

    r["mode_ms"], r["fed_start_ms"] = teacher.do(to_federation).result(TIMEOUT)
    log(f"  federation mode in {r['mode_ms']:.0f} ms; started ({len(joined)} clients) in "
        f"{r['fed_start_ms']:.0f} ms", flush=True)

    r["round_ms"], r["round_seen_ms"], r["summaries"] = [], [], []
    for rnd in range(1, rounds + 1):
        futs = [s.actor.do(lambda c, s=s, a=_choice(s.i, rnd),
                           rr=random.Random(seed * 7919 + rnd * 100 + s.i):
                           s.choose(a, labels[a], think, rr)) for s in joined]
        got, errs = _results(futs, TIMEOUT * 2)
        r["errors"] += [f"choice (round {rnd}): {e}" for e in errs]
        drops = sum(1 for s in joined if s.choice == "drop")
        clicks = sum(1 for x in got if x is not None)

        def step(c: Client, rnd=rnd) -> tuple[float, str]:
            ms = c.click("live_fed_next")
            c.wait(lambda: c.find(rf"Round {rnd}:") is not None, 30, f"Round {rnd}:")
            return ms, c.find(rf"Round {rnd}:.*").group(0)

        ms, summary = teacher.do(step).result(TIMEOUT)
        done = time.monotonic()
        r["round_ms"].append(ms)
        r["summaries"].append(summary)
        m = re.search(r"(\d+) of (\d+) updates arrived, (\d+) dropped", summary)
        ok = m is not None and int(m.group(2)) == len(joined) and int(m.group(3)) == drops \
            and int(m.group(1)) == len(joined) - drops
        if not ok:
            r["errors"].append(f"round {rnd}: summary {summary!r}, wanted {drops} dropped "
                               f"of {len(joined)}")
        log(f"  round {rnd}: {clicks} choices clicked, {drops} drop out; Next round "
            f"{ms:.0f} ms; projector: {summary[:90]}", flush=True)
        # every phone shows its client's round on its next poll
        futs = [s.actor.do(lambda c, s=s, rnd=rnd: c.wait(lambda: rnd in s.round_seen, 30,
                                                        f"round {rnd}"))
                for s in joined]
        _, errs = _results(futs, TIMEOUT)
        r["errors"] += [f"phone round {rnd}: {e}" for e in errs]
        r["round_seen_ms"] += [(s.round_seen[rnd] - done) * 1e3 for s in joined
                               if rnd in s.round_seen]

    # The teacher ends the class; the phones see it on their next poll, then close.
    def end(c: Client) -> float:
        ms = c.click("live_end")
        if not c.has("The class has ended"):
            raise RuntimeError(f"no 'class has ended': {c.texts[-3:]}")
        return ms

    r["end_ms"] = teacher.do(end).result(TIMEOUT)
    r["rss_at_end_mb"] = rss_mb(proc.pid)
    for s in joined:
        s.actor.do(lambda c: c.idle(STUDENT_POLL_S + 0.5))
    time.sleep(STUDENT_POLL_S + 1)
    ended = sum(1 for s in joined if any("not in this class" in x or "has ended" in x
                                         for x in s.client.texts))
    r["checks"]["phones_told"] = f"{ended} of {len(joined)} phones show the class is over"


def report(r: dict, log=print) -> None:
    nan = float("nan")

    def line(name: str, key: str, target: float | None = None, values=None) -> None:
        values = r.get(key, []) if values is None else values
        p50, p95 = _pcts(values)
        mx = max(values) if values else nan
        verdict = "" if target is None else ("  (target p95 ≤ %.0f ms: %s)" % (
            target, "met" if p95 <= target else "MISSED"))
        log(f"  {name:<40} n={len(values):>4}  p50 {p50:6.0f}  p95 {p95:6.0f}  max "
            f"{mx:6.0f} ms{verdict}", flush=True)

    log(f"  {r['joined']} of {r['students']} students joined ({r['join_refused']} joins refused "
        f"by the rate limit, retried); {len(r.get('round_ms', []))} of {r['rounds']} rounds; "
        f"class took {r['class_wall_s']:.0f} s; server CPU {r['server_cpu_s']:.0f} s",
        flush=True)
    line("student click (answers + choices)", "", TARGET_STUDENT_MS,
         r["answer_ms"] + r["choice_ms"])
    line("  answers", "answer_ms")
    line("  choices", "choice_ms")
    line("teacher's round (Next round)", "round_ms", TARGET_ROUND_MS)
    line("round -> each phone shows it (2 s poll)", "round_seen_ms")
    line("join (Join tapped -> in the class)", "join_ms")
    line("open the class link", "open_ms")
    line("phone's 2 s poll (board fragment)", "poll_ms")
    line("projector's 1 s polls (both fragments)", "teacher_poll_ms")
    log("  teacher: " + ", ".join(f"{name} {r[k]:.0f} ms" for name, k in (
        ("start", "teacher_start_ms"), ("ask", "ask_ms"), ("reveal", "reveal_ms"),
        ("federation mode", "mode_ms"), ("start the federation", "fed_start_ms"),
        ("end", "end_ms")) if k in r), flush=True)
    lb, la = r["load_before"], r["load_after"]
    log(f"  server RSS: {r['rss_before_mb']:.0f} MB before the class, {r['rss_peak_mb']:.0f} MB "
        f"peak, {r['rss_at_end_mb']:.0f} MB when it ended, {r['rss_after_mb']:.0f} MB 10 s after "
        f"(phones closed); live classes then: {r['classes_after']}", flush=True)
    log(f"  load average (1/5/15 min): {lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f} before, "
        f"{la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f} after; {os.cpu_count()} CPUs", flush=True)
    for k, v in r["checks"].items():
        log(f"  check {k}: {v}", flush=True)
    log(f"  errors: {len(r['errors'])}; exceptions drawn: {len(r['exceptions'])}; tracebacks in "
        f"the server's log: {r['server_tracebacks']}; messages after their run: {r['stale']}",
        flush=True)
    for e in (r["errors"] + r["exceptions"])[:8]:
        log(f"     {e[:400]}", flush=True)


def main(argv: list[str] | None = None) -> dict:
    """``python -m bench.live_bench [--students N] [--rounds R] [--think S]
    [--join-window S] [--seed K]``; ``main()`` runs the defaults (60 students, 5 rounds)."""
    p = argparse.ArgumentParser(prog="python -m bench.live_bench", description=__doc__.split(
        "\n\n")[0])
    p.add_argument("--students", type=int, default=60)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--think", type=float, default=2.0,
                   help="a student clicks 0..S s after seeing the question or a new round")
    p.add_argument("--join-window", type=float, default=10.0,
                   help="the students open the link within S s")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args([] if argv is None else argv)
    print(f"A live class on one server: one teacher and {args.students} students over "
          "Streamlit's websocket protocol (join, answer, federation mode, "
          f"{args.rounds} rounds with their choices, end). {os.cpu_count()} CPUs.", flush=True)
    r = run_class(args.students, args.rounds, args.think, args.join_window, args.seed)
    report(r)
    return r


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
