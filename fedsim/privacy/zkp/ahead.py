"""The next round's range proofs, half made while the students read this round's result.

Everything in a range proof but a few additions, encodings and hashes is independent of the
value proved (:class:`~fedsim.privacy.zkp.range_proof.PreparedCoordinate`, the online/offline
split of Even, Goldreich and Micali, CRYPTO 1989), and the engine knows which clients the next
round samples as soon as a round ends (:meth:`fedsim.privacy.base.Mechanism.prepare`). So a
:class:`ProverAhead` prepares those clients' proofs in a background thread; the round takes what
is ready and makes the rest itself, and the proofs are byte for byte the same either way (the
randomness comes from the same named stream, drawn in the same order).

One object per mechanism (so per simulation, never shared between sessions), bounded to
:data:`MAX_CLIENTS` clients, one lock; a round that starts stops the work still queued. The
prepared values are the clients' secrets, kept only in this process until their round.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

from fedsim.privacy.zkp.group import random_scalars
from fedsim.privacy.zkp.range_proof import PreparedCoordinate, prepare_coordinate
from fedsim.rng import generator

#: At most this many clients' proofs are prepared ahead (a round samples more: the rest are
#: made in the round). ~0.2 MB and ~45 ms of one core per client at 32 coordinates of 8 bits.
MAX_CLIENTS = 32

Key = tuple  # (seed, round, client, coordinates, bits)


def prover_stream(seed: int, rnd: int, cid: int):
    """The named stream a client's range-proof randomness comes from."""
    return generator(seed, "zkp", rnd, "prover", cid)


def prepare_range(seed: int, rnd: int, cid: int, n: int, bits: int, pause=None
                  ) -> tuple[tuple[int, ...], tuple[PreparedCoordinate, ...]]:
    """Client ``cid``'s blinding factors for ``n`` coordinates and their prepared proofs, drawn
    from its stream in the order :func:`fedsim.privacy.zkp.mechanism.prove_range` draws them."""
    rng = prover_stream(seed, rnd, cid)
    rand = tuple(random_scalars(rng, n))
    return rand, tuple(prepare_coordinate(r, bits, rng, pause=pause) for r in rand)


#: The background work waits this long first: when rounds follow each other at once
#: (``Simulation.run``, a lesson's cached run) the next round starts before it, and nothing is
#: made for nothing.
DELAY_S = 0.05


class _Stopped(Exception):
    pass


def _pause(stop: threading.Event):
    def pause() -> None:
        # A CPU-bound thread holds the interpreter lock for the whole switch interval (5 ms)
        # each time the main thread releases it (any C call that does: TensorFlow, sockets,
        # NumPy), so a round or a page drawn beside it was measured 5-100x slower (4.6 s
        # instead of 50 ms for one round's bookkeeping at 320 coordinates). Giving the lock up
        # after every proven bit (~0.1 ms of work) keeps the main thread's waits that short,
        # for ~25% of this thread's speed when nothing else runs; a round that starts stops
        # the work within one bit.
        time.sleep(0)
        if stop.is_set():
            raise _Stopped
    return pause


class ProverAhead:
    """Prepared range proofs for the clients of the next round (see the module docstring)."""

    def __init__(self, max_clients: int = MAX_CLIENTS):
        self.max_clients = int(max_clients)
        self._lock = threading.Lock()
        self._ready: dict[Key, tuple] = {}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self, keys: list[Key]) -> None:
        """Prepare ``keys`` in a background thread (replacing whatever was queued before)."""
        self.halt()
        stop = threading.Event()
        with self._lock:
            rounds = {k[1] for k in keys}
            self._ready = {k: v for k, v in self._ready.items() if k[1] in rounds}
            self._stop = stop
            thread = threading.Thread(target=self._run, args=(list(keys)[:self.max_clients], stop),
                                      name="fedsim-zkp-ahead", daemon=True)
            self._thread = thread
        thread.start()

    def _run(self, keys: list[Key], stop: threading.Event) -> None:
        if stop.wait(DELAY_S):
            return
        pause = _pause(stop)
        for key in keys:
            t0 = time.perf_counter()
            try:
                prepared = prepare_range(*key, pause=pause)
            except _Stopped:
                return
            ms = (time.perf_counter() - t0) * 1e3
            with self._lock:
                if stop.is_set():
                    return
                if len(self._ready) < self.max_clients:
                    self._ready[key] = (prepared, ms)

    def take(self, key: Key) -> Optional[tuple]:
        """``((blinding factors, prepared coordinates), ms it took)`` for ``key``, once, or
        ``None``."""
        with self._lock:
            return self._ready.pop(key, None)

    def halt(self) -> None:
        """Stop preparing (a round has started: it makes what is not ready yet itself)."""
        self._stop.set()

    def wait(self, timeout: Optional[float] = None) -> None:
        """Wait for the background work (benchmarks, between rounds, as a student reads)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ready)
