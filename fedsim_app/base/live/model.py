"""A live class: one teacher, many students' phones, one explicit object in the server process.

The teacher starts a class and gets a secret *teacher token*; students join with the short
*class code* (from a QR code on the projector) and a display name. While the class lives it
holds its students, the question the teacher posed and their answers, and, in federation mode,
which client each student plays and what they chose for the next round. Everything is behind
one lock per class, bounded (students, name length, answers and choices per second) and has a
lifetime: :meth:`LiveClass.sweep` drops students whose phone stopped calling in and ends a
class nobody has touched for its idle time; :class:`~fedsim_app.base.live.registry.LiveClasses`
runs that sweep as the janitor and frees an ended class completely.

Pure Python (no Streamlit): the page layer reads *views* (:meth:`LiveClass.student_view`,
:meth:`LiveClass.teacher_view`) -- plain values -- and a student's view holds only their own
answer, choice and numbers plus the aggregate the projector shows.

Security, in short: codes and tokens come from :mod:`secrets` (a code is 6 characters of a
31-letter alphabet, ~8.9·10⁸ codes, and joins are rate-limited per class; the teacher token is
192 random bits, compared in constant time). A student can never act as the teacher: every
teacher operation takes the token and raises :class:`LiveError` ``not_teacher`` otherwise.
Names are data: stripped of control characters, length-capped, never interpreted as Markdown
or HTML by the pages.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

#: Class codes avoid characters students mistype (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LEN = 6
#: A display name: at most this many characters after cleaning.
NAME_MAX = 24
#: Students per class: the default and the largest a teacher may set.
DEFAULT_MAX_STUDENTS, MAX_STUDENTS_CAP = 100, 300
#: A class nobody touched for this long ends (the teacher may choose 5 min to 8 h).
DEFAULT_IDLE_S, IDLE_MIN_S, IDLE_MAX_S = 45 * 60, 5 * 60, 8 * 3600
#: A student whose phone has not called in for this long has left (closed the tab): the
#: phone's page calls in every couple of seconds while it is open.
STUDENT_TTL_S = 30.0
#: Joins a class admits at once, then per second (a flood of fake students is refused).
JOIN_BURST, JOIN_PER_S = 150, 10.0
#: What a student may choose for their client's next round (federation mode).
ACTIONS = ("honest", "scale", "sign_flip", "label_flip", "backdoor", "drop")
MODES = ("answer", "federation")
OVERFLOW = ("queue", "share")


class LiveError(Exception):
    """A refused live-class action: ``code`` names what (the page words it in the user's
    language), ``fields`` its parts. ``str()`` is an English sentence for logs and tests."""

    MESSAGES = {
        "no_class": "there is no live class with code {code}",
        "ended": "this live class has ended",
        "full": "this live class is full ({max} students)",
        "not_teacher": "only the teacher can do that (the teacher link's token is missing or wrong)",
        "token_reused": "this teacher link belongs to a class that has ended",
        "rate": "too many {what} too quickly; wait a moment",
        "name": "a display name needs 1 to {max} visible characters",
        "not_joined": "you are not in this class (join again with the code)",
        "no_question": "there is no open question",
        "option": "{option!r} is not one of this question's options",
        "action": "{action!r} is not a choice (allowed: {allowed})",
        "capacity": "the server already runs {max} live classes; end one first",
        "idle": "the idle time must be between {lo} and {hi} minutes",
        "max_students": "the class size must be between {lo} and {hi} students",
        "mode": "{mode!r} is not a class mode (allowed: answer, federation)",
        "drawing": "a drawing must be an 8×8 digit image with a label 0–9",
    }

    def __init__(self, code_: str, **fields: Any):
        self.code, self.fields = code_, fields
        super().__init__(self.MESSAGES[code_].format(**fields))


class RateLimit:
    """A token bucket: ``burst`` actions at once, then ``per_s`` a second (not thread-safe on
    its own: every bucket here is used under its class's lock)."""

    def __init__(self, burst: float, per_s: float, now: float):
        self.burst, self.per_s = float(burst), float(per_s)
        self.tokens, self.at = float(burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_s)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def new_code(taken: Callable[[str], bool] = lambda c: False) -> str:
    """A fresh class code (``secrets``), not one of the live ones."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LEN))
        if not taken(code):
            return code


def normalize_code(text: object) -> str:
    """What a student typed (or a link carried) as a code: upper case, spaces and dashes gone,
    bounded; "" if it cannot be a code."""
    s = str(text or "")[:32].upper().replace(" ", "").replace("-", "")
    return s if len(s) == CODE_LEN and all(c in CODE_ALPHABET for c in s) else ""


def clean_name(text: object) -> str:
    """A display name as data: NFC, control and format characters removed, whitespace runs
    collapsed, at most :data:`NAME_MAX` characters. Raises :class:`LiveError` ``name`` when
    nothing visible is left."""
    s = unicodedata.normalize("NFC", str(text or "")[:4 * NAME_MAX])
    s = "".join(ch if unicodedata.category(ch)[0] not in "CZ" or ch == " " else " "
                for ch in s)
    s = " ".join(s.split())[:NAME_MAX].strip()
    if not s:
        raise LiveError("name", max=NAME_MAX)
    return s


@dataclass
class Student:
    id: str  # secret: only this student's session knows it
    name: str
    lang: str
    joined: float
    seen: float
    number: int  # join order, 0-based (the client a student plays follows it)
    answer: str | None = None
    action: str = "honest"
    consent: bool = False  # may the server try to reconstruct this student's drawing?
    drawings: list = field(default_factory=list)  # [(8×8 uint8 counts, label)], newest last
    use_drawings: bool = False  # their client trains on their drawings instead of its shard
    limits: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """A lesson step posed to the class: ``key`` (``lesson.step``), its option ids, and once
    revealed the option the engine's numbers make right and what it measured."""

    key: str
    options: tuple[str, ...]
    number: int  # 1, 2, … : a new question resets the answers
    seed: int = 0  # the teacher's seed: the step's texts and numbers are worded for it
    revealed: bool = False
    truth: str | None = None
    measured: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ClientOutcome:
    """What happened to one client in the last federated round (its student's phone shows it)."""

    round: int
    client: int
    action: str  # what it did: honest, an attack, or drop
    sampled: bool
    dropped: bool
    rejected: bool
    clipped: bool
    train_loss: float | None
    update_norm: float | None
    toward: float | None  # cosine between its update and the global model's step


class LiveClass:
    """One live class. Thread-safe: every method takes :attr:`lock`."""

    def __init__(self, code: str, token: str, now: float, *, idle_s: float = DEFAULT_IDLE_S,
                 max_students: int = DEFAULT_MAX_STUDENTS):
        self.code, self._token = code, token
        self.lock = threading.RLock()
        self.created = self.touched = now
        self.idle_s = float(idle_s)
        self.max_students = int(max_students)
        self.ended = False
        self.version = 0  # bumped on every change the screens show
        self.students: dict[str, Student] = {}
        self._numbers = 0
        self.question: Question | None = None
        self.mode = "answer"
        self.overflow = "queue"
        self.clients = 0  # federation mode: client slots of the teacher's simulation
        self.outcomes: dict[int, ClientOutcome] = {}  # client id → last round's outcome
        self.rounds: list[dict] = []  # the server's view of each federated round
        self.federation: Any = None  # the teacher's LiveFederation (engine state), or None
        # A whole class scans the code at once: the burst admits every seat (a bench with 60
        # students joining within a second had 25 refused at 40); the refill stops a flood.
        self._joins = RateLimit(JOIN_BURST, JOIN_PER_S, now)

    # ------------------------------------------------------------------ who is who
    def is_teacher(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self._token.encode())

    def _teacher(self, token: object) -> None:
        if self.ended:
            raise LiveError("ended")
        if not self.is_teacher(token):
            raise LiveError("not_teacher")

    def _student(self, sid: object) -> Student:
        if self.ended:
            raise LiveError("ended")
        st = self.students.get(sid) if isinstance(sid, str) else None
        if st is None:
            raise LiveError("not_joined")
        return st

    def _changed(self, now: float | None = None) -> None:
        self.version += 1
        if now is not None:
            self.touched = now

    def _limit(self, st: Student, what: str, now: float, burst: float, per_s: float) -> None:
        bucket = st.limits.get(what)
        if bucket is None:
            bucket = st.limits[what] = RateLimit(burst, per_s, now)
        if not bucket.take(now):
            raise LiveError("rate", what=what)

    # ------------------------------------------------------------------ students
    def join(self, name: object, lang: str, now: float) -> Student:
        with self.lock:
            if self.ended:
                raise LiveError("ended")
            name = clean_name(name)
            if not self._joins.take(now):
                raise LiveError("rate", what="joins")
            if len(self.students) >= self.max_students:
                raise LiveError("full", max=self.max_students)
            st = Student(secrets.token_urlsafe(16), name, lang, now, now, self._numbers)
            self._numbers += 1
            self.students[st.id] = st
            self._changed(now)
            return st

    def heartbeat(self, sid: object, now: float) -> bool:
        """A student's phone calls in; False if they are no longer in the class."""
        with self.lock:
            st = self.students.get(sid) if isinstance(sid, str) else None
            if st is None or self.ended:
                return False
            st.seen = now
            return True

    def leave(self, sid: object) -> bool:
        with self.lock:
            gone = self.students.pop(sid, None) if isinstance(sid, str) else None
            if gone is not None:
                self._changed()
            return gone is not None

    def answer(self, sid: object, option: object, now: float) -> None:
        with self.lock:
            st = self._student(sid)
            self._limit(st, "answers", now, 5, 1.0)
            q = self.question
            if q is None or q.revealed:
                raise LiveError("no_question")
            if option not in q.options:
                raise LiveError("option", option=str(option)[:40])
            st.answer, st.seen = str(option), now
            self._changed(now)

    def choose(self, sid: object, action: object, now: float) -> None:
        with self.lock:
            st = self._student(sid)
            self._limit(st, "choices", now, 6, 1.0)
            if action not in ACTIONS:
                raise LiveError("action", action=str(action)[:40], allowed=", ".join(ACTIONS))
            st.action, st.seen = str(action), now
            self._changed(now)

    def add_drawing(self, sid: object, pixels: object, label: object, now: float) -> int:
        """Keep one drawn digit (8×8 counts and its label) for this student; returns how many
        they have (at most :data:`~fedsim_app.base.live.drawing.MAX_DRAWINGS`)."""
        from fedsim_app.base.live.drawing import MAX_DRAWINGS, check_digit

        with self.lock:
            st = self._student(sid)
            self._limit(st, "drawings", now, 3, 0.2)
            try:
                p, y = check_digit(pixels, label)
            except ValueError:
                raise LiveError("drawing") from None
            st.drawings.append((p, y))
            del st.drawings[:-MAX_DRAWINGS]
            st.use_drawings = True
            self._changed(now)
            return len(st.drawings)

    def clear_drawings(self, sid: object, now: float) -> None:
        with self.lock:
            st = self._student(sid)
            st.drawings.clear()
            st.use_drawings = False
            self._changed(now)

    def set_use_drawings(self, sid: object, use: bool, now: float) -> None:
        with self.lock:
            st = self._student(sid)
            self._limit(st, "choices", now, 6, 1.0)
            st.use_drawings = bool(use) and bool(st.drawings)
            self._changed(now)

    def drawings(self) -> dict[int, dict]:
        """Client id → ``{"pixels": [n, 8, 8], "labels": [n], "consent": bool}`` for clients
        whose student trains on their own drawings (a shared client: the first such student)."""
        import numpy as np

        with self.lock:
            out: dict[int, dict] = {}
            for sid, client in self.assignment().items():
                st = self.students[sid]
                if client is None or client in out or not (st.use_drawings and st.drawings):
                    continue
                out[client] = {"pixels": np.stack([p for p, _ in st.drawings]),
                               "labels": np.array([y for _, y in st.drawings], np.int64),
                               "consent": st.consent}
            return out

    def set_consent(self, sid: object, consent: bool, now: float) -> None:
        with self.lock:
            st = self._student(sid)
            self._limit(st, "choices", now, 6, 1.0)
            st.consent = bool(consent)
            self._changed(now)

    # ------------------------------------------------------------------ the teacher
    def pose(self, token: object, key: str, options: tuple[str, ...], now: float,
             seed: int = 0) -> Question:
        with self.lock:
            self._teacher(token)
            number = (self.question.number + 1) if self.question else 1
            self.question = Question(str(key), tuple(options), number, int(seed))
            for st in self.students.values():
                st.answer = None
            self._changed(now)
            return self.question

    def reveal(self, token: object, truth: str, measured: Mapping[str, Any], now: float) -> None:
        with self.lock:
            self._teacher(token)
            if self.question is None:
                raise LiveError("no_question")
            self.question = replace(self.question, revealed=True, truth=str(truth),
                                    measured=dict(measured))
            self._changed(now)

    def set_mode(self, token: object, mode: str, now: float) -> None:
        with self.lock:
            self._teacher(token)
            if mode not in MODES:
                raise LiveError("mode", mode=str(mode)[:40])
            self.mode = mode
            self._changed(now)

    def set_idle(self, token: object, minutes: float, now: float) -> None:
        with self.lock:
            self._teacher(token)
            s = float(minutes) * 60
            if not IDLE_MIN_S <= s <= IDLE_MAX_S:
                raise LiveError("idle", lo=IDLE_MIN_S // 60, hi=IDLE_MAX_S // 60)
            self.idle_s = s
            self._changed(now)

    def set_max_students(self, token: object, n: int, now: float) -> None:
        with self.lock:
            self._teacher(token)
            if not 1 <= int(n) <= MAX_STUDENTS_CAP:
                raise LiveError("max_students", lo=1, hi=MAX_STUDENTS_CAP)
            self.max_students = int(n)
            self._changed(now)

    def end(self, token: object) -> None:
        with self.lock:
            self._teacher(token)
            self._end()

    def _end(self) -> None:
        """Free everything the class held (students, answers, the simulation)."""
        self.ended = True
        self.students.clear()
        self.question = None
        self.outcomes.clear()
        self.rounds.clear()
        self.federation = None
        self._changed()

    def sweep(self, now: float) -> bool:
        """Drop students whose phone stopped calling in; end the class if idle. Returns True
        if the class has ended (now or before)."""
        with self.lock:
            if self.ended:
                return True
            gone = [sid for sid, st in self.students.items() if now - st.seen > STUDENT_TTL_S]
            for sid in gone:
                del self.students[sid]
            if gone:
                self._changed()
            if now - self.touched > self.idle_s:
                self._end()
            return self.ended

    # ------------------------------------------------------------------ federation mode
    def assignment(self) -> dict[str, int | None]:
        """Student id → the client they play (None: queued). Students take client slots in
        join order; beyond :attr:`clients` they queue, or share (slot = number mod clients)."""
        with self.lock:
            out: dict[str, int | None] = {}
            order = sorted(self.students.values(), key=lambda s: s.number)
            for i, st in enumerate(order):
                if i < self.clients:
                    out[st.id] = i
                elif self.overflow == "share" and self.clients:
                    out[st.id] = i % self.clients
                else:
                    out[st.id] = None
            return out

    def choices(self) -> dict[int, str]:
        """Client id → what its student(s) chose (a shared client: the latest joiner's choice
        among those who chose something other than honest wins, so one attacker is enough)."""
        with self.lock:
            out: dict[int, str] = {}
            for sid, client in self.assignment().items():
                if client is None:
                    continue
                action = self.students[sid].action
                if action != "honest" or client not in out:
                    out[client] = action
            return out

    def record_round(self, token: object, server: dict, outcomes: Mapping[int, ClientOutcome],
                     now: float) -> None:
        with self.lock:
            self._teacher(token)
            self.rounds.append(dict(server))
            del self.rounds[:-200]  # bounded: the projector shows the last rounds only
            self.outcomes = dict(outcomes)
            self._changed(now)

    # ------------------------------------------------------------------ views (plain values)
    def tally(self) -> tuple[dict[str, int], int, int]:
        """(answers per option, how many answered, how many students)."""
        with self.lock:
            q = self.question
            counts = {o: 0 for o in (q.options if q else ())}
            answered = 0
            for st in self.students.values():
                if st.answer is not None and st.answer in counts:
                    counts[st.answer] += 1
                    answered += 1
            return counts, answered, len(self.students)

    def student_view(self, sid: object) -> dict:
        """Everything one student's phone shows: their own part and the class's aggregate."""
        with self.lock:
            st = self._student(sid)
            client = self.assignment().get(st.id)
            counts, answered, n = self.tally()
            return {"version": self.version, "name": st.name, "mode": self.mode,
                    "question": self.question, "answer": st.answer, "action": st.action,
                    "consent": st.consent, "client": client, "clients": self.clients,
                    "drawings": [(p.copy(), y) for p, y in st.drawings],
                    "use_drawings": st.use_drawings,
                    "outcome": self.outcomes.get(client) if client is not None else None,
                    "counts": counts if self.question and self.question.revealed else None,
                    "answered": answered, "students": n, "rounds": len(self.rounds)}

    def teacher_view(self, token: object) -> dict:
        with self.lock:
            self._teacher(token)
            counts, answered, n = self.tally()
            assignment = self.assignment()
            roster = sorted(((s.number, s.name, assignment.get(s.id), s.action, s.consent)
                             for s in self.students.values()))
            return {"version": self.version, "code": self.code, "mode": self.mode,
                    "question": self.question, "counts": counts, "answered": answered,
                    "students": n, "roster": roster, "clients": self.clients,
                    "overflow": self.overflow, "rounds": list(self.rounds),
                    "idle_s": self.idle_s, "max_students": self.max_students}


def teacher_token() -> str:
    """192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def monotonic() -> float:
    return time.monotonic()
