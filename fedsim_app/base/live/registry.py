"""The server's live classes: one explicit, locked, bounded object with a janitor.

Streamlit runs every session in one process, so a class that a teacher and sixty phones share
must live in that process -- but not as module globals: :class:`LiveClasses` is created once
per server (the page layer keeps it in Streamlit's process-wide resource cache), holds at most
``max_classes`` classes, and its janitor thread calls :meth:`LiveClasses.sweep` every few
seconds: students whose phone stopped calling in are dropped, idle classes end, and an ended
class is removed so nothing it held stays reachable. A student's session keeps only the class
code and its own student id.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable

from fedsim_app.base.live.model import (DEFAULT_IDLE_S, DEFAULT_MAX_STUDENTS, IDLE_MAX_S,
                                        IDLE_MIN_S, MAX_STUDENTS_CAP, LiveClass, LiveError,
                                        new_code, normalize_code, teacher_token)

#: Classes one server runs at once (a school's few projectors, not a public service).
MAX_CLASSES = 8
#: Seconds between the janitor's sweeps.
SWEEP_S = 5.0
#: Codes of ended classes remembered (so a late student hears "ended", not "no such class").
ENDED_MEMORY = 256


class LiveClasses:
    """Live classes by code. Thread-safe."""

    def __init__(self, max_classes: int = MAX_CLASSES,
                 clock: Callable[[], float] = time.monotonic):
        self.max_classes = max_classes
        self.clock = clock
        self._lock = threading.Lock()
        self._classes: dict[str, LiveClass] = {}
        self._ended: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None
        self.swept = 0  # classes the janitor has ended and removed (a test reads it)

    def start(self, idle_s: float = DEFAULT_IDLE_S,
              max_students: int = DEFAULT_MAX_STUDENTS) -> tuple[LiveClass, str]:
        """A new class and its teacher token (the only copy the server hands out)."""
        if not IDLE_MIN_S <= idle_s <= IDLE_MAX_S:
            raise LiveError("idle", lo=IDLE_MIN_S // 60, hi=IDLE_MAX_S // 60)
        if not 1 <= max_students <= MAX_STUDENTS_CAP:
            raise LiveError("max_students", lo=1, hi=MAX_STUDENTS_CAP)
        self.sweep()
        with self._lock:
            if len(self._classes) >= self.max_classes:
                raise LiveError("capacity", max=self.max_classes)
            code = new_code(lambda c: c in self._classes or c in self._ended)
            token = teacher_token()
            cls = LiveClass(code, token, self.clock(), idle_s=idle_s, max_students=max_students)
            self._classes[code] = cls
            return cls, token

    def get(self, code: object) -> LiveClass:
        """The live class with ``code``; :class:`LiveError` ``no_class`` or ``ended``."""
        norm = normalize_code(code)
        with self._lock:
            cls = self._classes.get(norm)
            if cls is None:
                raise LiveError("ended" if norm in self._ended else "no_class",
                                code=str(code)[:12])
        if cls.ended:
            self._forget(cls)
            raise LiveError("ended")
        return cls

    def end(self, code: object, token: object) -> None:
        cls = self.get(code)
        cls.end(token)  # raises not_teacher for a forged token: nothing changes
        self._forget(cls)

    def _forget(self, cls: LiveClass) -> None:
        with self._lock:
            if self._classes.get(cls.code) is cls:
                del self._classes[cls.code]
                self._ended[cls.code] = self.clock()
                while len(self._ended) > ENDED_MEMORY:
                    self._ended.popitem(last=False)

    def sweep(self) -> int:
        """One janitor pass: returns how many classes ended and were removed."""
        now = self.clock()
        with self._lock:
            classes = list(self._classes.values())
        ended = [c for c in classes if c.sweep(now)]
        for c in ended:
            self._forget(c)
        self.swept += len(ended)
        return len(ended)

    def __len__(self) -> int:
        with self._lock:
            return len(self._classes)

    def codes(self) -> list[str]:
        with self._lock:
            return list(self._classes)

    # ------------------------------------------------------------------ the janitor
    def start_janitor(self, interval: float = SWEEP_S) -> None:
        """Sweep every ``interval`` seconds in a daemon thread until :meth:`stop`."""
        with self._lock:
            if self._janitor is not None:
                return
            self._janitor = threading.Thread(target=self._loop, args=(interval,),
                                             name="fedsim-live-janitor", daemon=True)
            self._janitor.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - the janitor must outlive one bad pass
                pass

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        t = self._janitor
        if t is not None:
            t.join(timeout)
