"""Worker processes for the public-key arithmetic: Paillier encryption, and the clients'
zero-knowledge proofs and their verification (:func:`run_many`, one task per client).

Why: python-paillier's ``raw_encrypt`` is big-integer arithmetic (gmpy2 ``powmod``) that holds
the interpreter lock. In one process it is not only slow (1.7 s of a 4-client Paillier round)
but it stalls every other thread: on the classroom server, 30 students clicking "Next round"
while one student ran Paillier rounds waited a p95 of 4.2 s instead of 1.5-2.0 s
(``python -m bench.load_bench 30 --paillier``). Here the clients' encryptions run in a small
pool of separate processes, one task per client, so the server's threads keep the lock and
the clients' encryptions run side by side on the machine's cores.

The tasks are pure functions of picklable arguments (the public modulus and the plaintexts):
no key material beyond the public key leaves the process, and the results are the same
whether a task runs in a worker or here. The pool is a process-wide compute resource, like the
trainer cache: it holds no simulation's state between tasks.

Off unless a program turns it on with :func:`enable`. One program does: the app's server
(``fedsim_app.base.runtime.start``, once per server process), where a student's Paillier
rounds must not stall the class. The CLI and library users run in-process. Worker processes are *spawned* (forking a process that holds
TensorFlow's threads is unsafe), and a spawned worker re-imports the parent's main module:
harmless for ``streamlit``/``python -m fedsim``, whose main modules are guarded, but a user's
unguarded script would run again in every worker, so a library user opts in.
``FEDSIM_CRYPTO_WORKERS=0`` keeps everything in-process even then (also the fallback where
processes cannot be started).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Sequence

_lock = threading.Lock()
_pool: Executor | None = None
_broken = False
_enabled = False


def enable() -> None:
    """Run Paillier encryptions in worker processes from now on (see the module doc)."""
    global _enabled
    _enabled = True


def worker_count() -> int:
    """Worker processes to use: ``FEDSIM_CRYPTO_WORKERS`` (0 = none), else the CPU count (≤ 4)."""
    raw = os.environ.get("FEDSIM_CRYPTO_WORKERS")
    if raw is not None and raw.strip().isdigit():
        return int(raw)
    return max(1, min(4, os.cpu_count() or 1))


def _get_pool() -> Executor | None:
    global _pool
    if not _enabled or _broken or worker_count() == 0:
        return None
    with _lock:
        if _pool is None:
            # "spawn": the server process holds TensorFlow's threads, and forking a
            # multi-threaded process is unsafe; a spawned worker imports only this module
            # and python-paillier.
            _pool = ProcessPoolExecutor(max_workers=worker_count(),
                                        mp_context=multiprocessing.get_context("spawn"))
        return _pool


def paillier_encrypt(n: int, plaintexts: Sequence[int]) -> tuple[tuple[int, ...], float]:
    """Raw Paillier encryptions of ``plaintexts`` under the public modulus ``n`` and the
    seconds they took (the task a worker runs; also called in-process)."""
    from phe import paillier

    t0 = time.perf_counter()
    pub = paillier.PaillierPublicKey(n)
    cts = tuple(pub.raw_encrypt(int(m)) for m in plaintexts)
    return cts, time.perf_counter() - t0


def paillier_encrypt_online(n: int, plaintexts: Sequence[int], obfuscators: Sequence[int]
                            ) -> tuple[tuple[int, ...], float]:
    """The online half of Paillier encryption: c = (1 + n·m)·ρ mod n², where each ρ = rⁿ mod n²
    was precomputed off the round (:class:`fedsim.privacy.he.ObfuscatorPool`) and is used for
    exactly this one ciphertext. The same ciphertext ``raw_encrypt(m, r)`` makes (g = n + 1, so
    g^m = 1 + n·m mod n²), at one multiplication instead of one 2048-bit exponentiation."""
    import gmpy2

    if len(obfuscators) != len(plaintexts):
        raise ValueError("one fresh obfuscator per plaintext")
    t0 = time.perf_counter()
    n_ = gmpy2.mpz(n)
    nsq = n_ * n_
    cts = tuple(int((n_ * int(m) + 1) * rho % nsq) for m, rho in zip(plaintexts, obfuscators))
    return cts, time.perf_counter() - t0


def paillier_encrypt_many(n: int, per_client: Sequence[Sequence[int]]
                          ) -> list[tuple[tuple[int, ...], float]]:
    """:func:`paillier_encrypt` for every client's plaintexts, in the worker pool when there
    is one (order kept)."""
    global _broken
    pool = _get_pool() if len(per_client) > 0 else None
    if pool is not None:
        try:
            futures = [pool.submit(paillier_encrypt, n, list(p)) for p in per_client]
            return [f.result() for f in futures]
        except Exception:  # noqa: BLE001 - no processes here (sandbox, frozen app): in-process
            _broken = True
    return [paillier_encrypt(n, p) for p in per_client]


def run_many(fn, argument_tuples: Sequence[tuple]) -> list:
    """``[fn(*args) for args in argument_tuples]``, one task per tuple in the worker pool when
    there is one (order kept), else in-process. ``fn`` must be a module-level pure function of
    picklable arguments (the zero-knowledge provers and verifiers of
    :mod:`fedsim.privacy.zkp.mechanism` are: a client's proof is the same bytes either way)."""
    global _broken
    pool = _get_pool() if len(argument_tuples) > 1 else None
    if pool is not None:
        try:
            futures = [pool.submit(fn, *args) for args in argument_tuples]
            return [f.result() for f in futures]
        except Exception:  # noqa: BLE001 - no processes here (sandbox, frozen app): in-process
            _broken = True
    return [fn(*args) for args in argument_tuples]
