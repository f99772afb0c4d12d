"""Per-round cost of every privacy mechanism beside plain FedAvg: ``python -m bench.privacy_bench``.

10 digits clients (MLP, 2410 parameters), whole engine rounds (``Simulation.step_round``). All
simulations are built first (one warm-up round each: key generation, tracing, Paillier's
obfuscator pool), then their rounds are *interleaved* in one process (round r of every case,
the order rotating), so machine noise hits every case alike; the table gives the median
ms/round and the ratio to plain FedAvg's median in the same run, with the load average. A case
whose round is short (< 0.3 s) first runs one untimed round: the first round after another
case's pays for that case's memory traffic (a plain round after a 320-coordinate proof round
took ~50 ms instead of ~6), which no student's session, running one case, ever sees.

    python -m bench.privacy_bench                   # make bench: f7c35a8's engine beside this one
    python -m bench.privacy_bench --compare REV [--rounds 3] [--only zkp,zkp_l2]
    python -m bench.privacy_bench --alone [--rounds 5] [--only paillier,secagg] [--profile NAME]

``main()`` without arguments (what ``make bench`` calls) never reads ``sys.argv``: it runs the
side-by-side comparison with :data:`BEFORE`, the commit this issue's work started from.
The L2 row proves the whole update (2,410 coordinates) of 2 sampled clients of 10 (today's
engine takes about two minutes for that round) and runs once per engine, without a warm-up
round of its own (the plain case has traced the model in the same process); proofs are per
client, so a 10-client round costs about 5× its figure.

``--profile NAME`` runs cProfile over that case's timed rounds and prints the top 25 entries.
Paillier's per-round figure is what the student waits for; the obfuscators rⁿ mod n² that the
engine prepared off the round ("precomputed while you read") are reported on their own line.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

CASES = {
    "plain": ("plain FedAvg", {}),
    "central_dp": ("central DP", {"dp": {"mode": "central", "noise_multiplier": 1.0}}),
    "dpsgd": ("DP-SGD", {"dp": {"mode": "dpsgd", "noise_multiplier": 1.0}}),
    "secagg": ("secure aggregation (Bonawitz)", {"secure_aggregation": {"enabled": True}}),
    "ckks": ("CKKS (TenSEAL)", {"he": {"scheme": "ckks"}}),
    "paillier": ("Paillier 2048, packed", {"he": {"scheme": "paillier", "key_bits": 2048}}),
    "zkp": ("ZKP range proofs, 32 coords", {"zkp": {"enabled": True, "coordinates": 32}}),
    # as many coordinates as the model's output layer has weights (32 x 10)
    "zkp_layer": ("ZKP range proofs, 320 coords", {"zkp": {"enabled": True, "coordinates": 320}}),
    "zkp_l2": ("ZKP L2 whole update, 2 clients", {"zkp": {"enabled": True, "norm": "l2"}}),
}
#: Cases whose round is too slow to repeat: one timed round each, no warm-up round.
ONCE = {"zkp_l2": {"clients": {"num_clients": 10, "fraction": 0.2}}}
#: The engine ``make bench`` compares against: the commit this issue's work started from.
BEFORE = "f7c35a8"


def build(key: str):
    from fedsim import Simulation, SimulationConfig

    cfg = {"seed": 0, "rounds": 1000, "clients": {"num_clients": 10},
           "privacy": CASES[key][1], **ONCE.get(key, {})}
    sim = Simulation(SimulationConfig.from_dict(cfg))
    if key not in ONCE:
        sim.step_round()                 # warm-up: key generation, tracing
    return sim


_WORKER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from bench.privacy_bench import build, _waiter, ONCE
keys = sys.argv[2].split(',')
try:                       # the worker pool the app's server turns on (both engines have it)
    if sys.argv[3] == 'workers':
        from fedsim.privacy import workers
        workers.enable()
except (ImportError, AttributeError):
    pass
sims = {k: build(k) for k in keys}
wait = _waiter()
print('ready', flush=True)
done = {k: 0 for k in keys}
last = {k: 0.0 for k in keys}

def settle():
    wait()
    for sim in sims.values():   # every case's next-round work, not only this one's
        getattr(sim, 'wait_prepared', lambda: None)()

for line in sys.stdin:
    out = []
    for _ in range(int(line)):
        for k in keys:
            if k in ONCE and done[k]:
                out.append(float('nan'))
                continue
            if k not in ONCE and last[k] < 300:
                # A round right after another case's pays for that case's memory (a plain
                # round after a 320-coordinate proof round: ~50 ms instead of ~6); a student's
                # session runs one case, so a short case runs one untimed round first.
                settle()
                sims[k].step_round()
            settle()
            t0 = time.perf_counter()
            sims[k].step_round()
            last[k] = (time.perf_counter() - t0) * 1e3
            out.append(last[k])
            done[k] += 1
    wait()          # finish this engine's off-round precomputation before the other's turn
    for sim in sims.values():
        getattr(sim, 'wait_prepared', lambda: None)()
    print(' '.join(f'{v:.3f}' for v in out), flush=True)
"""


def _waiter():
    """Wait for what the engine prepares between rounds (Paillier obfuscators, CKKS zero
    encryptions, the next round's DP accounting); an older engine has less or none of it."""
    waits = []
    for mod in ("fedsim.privacy.he", "fedsim.privacy.dp"):
        try:
            waits.append(getattr(__import__(mod, fromlist=["wait_precomputed"]),
                                 "wait_precomputed"))
        except (ImportError, AttributeError):
            pass

    def wait_precomputed():
        for w in waits:
            w()
    return wait_precomputed


def compare(rev: str, keys: list[str], rounds: int, workers: bool = False) -> None:
    """``rev``'s engine (a ``git archive`` snapshot) beside this checkout's, one worker process
    each; every block runs one round of every case in each, the engines taking turns."""
    import statistics as st
    import tempfile
    from pathlib import Path

    from bench.snapshot import ROOT, extract_engine, interleaved

    tmp = Path(tempfile.mkdtemp(prefix="privacy-bench-"))
    old = extract_engine(rev, tmp / "old")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    mode = "workers" if workers else "in-process"
    load0 = os.getloadavg()
    times, _ = interleaved({"before": ([_WORKER, str(old), ",".join(keys), mode], env),
                            "after": ([_WORKER, str(ROOT), ",".join(keys), mode], env)},
                           ROOT, blocks=rounds, per_block=1)
    load1 = os.getloadavg()
    print(f"10 digits clients; before = {rev} (git archive), after = this checkout; "
          f"{rounds} rounds per case and engine, interleaved ({mode}); load average "
          f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} before, {load1[0]:.2f} {load1[1]:.2f} "
          f"{load1[2]:.2f} after ({os.cpu_count()} CPUs)")
    med = {e: {k: st.median([v for v in times[e][i::len(keys)] if v == v])
               for i, k in enumerate(keys)} for e in times}
    head = (f"{'mechanism':<32} {'before ms':>10} {'x plain':>8} {'after ms':>10} "
            f"{'x plain':>8} {'speed-up':>9}")
    print(head + "\n" + "-" * len(head))
    for k in keys:
        b, a = med["before"][k], med["after"][k]
        print(f"{CASES[k][0]:<32} {b:>10.1f} {b / med['before']['plain']:>8.1f} {a:>10.1f} "
              f"{a / med['after']['plain']:>8.1f} {b / a:>8.1f}x")
    if "zkp_l2" in keys:
        b, a = med["before"]["zkp_l2"], med["after"]["zkp_l2"]
        print(f"ZKP L2 whole update at 10 clients (5x the 2-client round, proofs are per "
              f"client): before ~{5 * b / 1e3:.0f} s, after ~{5 * a / 1e3:.0f} s")


def main(argv: list[str] | None = None) -> list[dict]:
    """``argv`` None (``make bench``) means no arguments: the comparison with :data:`BEFORE`."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds per case (default 3 side by side, 5 alone)")
    ap.add_argument("--only", default="", help="comma-separated case keys (plain always runs)")
    ap.add_argument("--profile", default="", help="cProfile this case's rounds (with --alone)")
    ap.add_argument("--compare", default=BEFORE, metavar="REV",
                    help=f"run REV's engine (git archive) side by side with this checkout's "
                         f"(default {BEFORE})")
    ap.add_argument("--alone", action="store_true", help="this checkout only, no comparison")
    ap.add_argument("--workers", action="store_true",
                    help="both engines with the crypto worker pool on (as the app's server)")
    args = ap.parse_args([] if argv is None else argv)
    keys = list(CASES) if not args.only else ["plain"] + [
        k for k in args.only.split(",") if k in CASES and k != "plain"]
    if not args.alone and not args.profile:
        compare(args.compare, keys, args.rounds or 3, args.workers)
        return []
    args.rounds = args.rounds or 5
    if args.workers:
        from fedsim.privacy import workers
        workers.enable()
    wait_precomputed = _waiter()
    load0 = os.getloadavg()
    sims = {k: build(k) for k in keys}
    times = {k: [] for k in keys}
    prof = None
    if args.profile:
        import cProfile
        prof = cProfile.Profile()
    def settle():
        wait_precomputed()       # the student reads between clicks: refills finish first
        for sim in sims.values():  # ... and every case's next-round proofs are half made
            sim.wait_prepared()

    for r in range(args.rounds):
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            if k in ONCE and times[k]:
                continue
            if k not in ONCE and (not times[k] or times[k][-1] < 300):
                settle()             # one untimed round after another case's (see _WORKER)
                sims[k].step_round()
            settle()
            if prof is not None and k == args.profile:
                prof.enable()
            t0 = time.perf_counter()
            sims[k].step_round()
            times[k].append((time.perf_counter() - t0) * 1e3)
            if prof is not None and k == args.profile:
                prof.disable()
    load1 = os.getloadavg()
    base = statistics.median(times["plain"])
    rows = []
    print(f"10 digits clients, {args.rounds} interleaved rounds each; load average "
          f"{load0[0]:.2f} before, {load1[0]:.2f} after ({os.cpu_count()} CPUs)")
    head = f"{'mechanism':<32} {'ms/round':>10} {'min':>9} {'x plain':>8}"
    print(head + "\n" + "-" * len(head))
    for k in keys:
        med = statistics.median(times[k])
        rows.append({"key": k, "mechanism": CASES[k][0], "ms": med, "ratio": med / base})
        print(f"{CASES[k][0]:<32} {med:>10.1f} {min(times[k]):>9.1f} {med / base:>8.1f}")
    try:
        from fedsim.privacy.he import precompute_stats
        st = precompute_stats()
        if st["obfuscators"]:
            print(f"Paillier obfuscators rⁿ mod n² precomputed while you read: "
                  f"{st['obfuscators']} in {st['seconds'] * 1e3:.0f} ms (off the round)")
    except ImportError:
        pass
    prepared = [(k, r.trace[3].measurements.get("zkp", {})) for k, r in
                ((k, sims[k].history[-1]) for k in keys if k.startswith("zkp"))]
    for k, m in prepared:
        made = sum(1 for ms in m.get("precompute_ms_by_client") or () if ms > 0)
        if made:
            print(f"{CASES[k][0]}: {made} clients' proofs half made while you read, "
                  f"{m['precompute_ms']:.0f} ms of one core (off the round)")
    if prof is not None:
        import pstats
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return rows


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
