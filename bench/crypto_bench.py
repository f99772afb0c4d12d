"""Per-round cost of the cryptographic mechanisms: ``python -m bench.crypto_bench``.

For K clients and a P-parameter update (defaults: 10 clients, P = 2410, the digits MLP) it times
one round of each mechanism's client side (all clients together) and server side, and reports
the bytes each client uploads. Key generation is done once before timing (the HE key pair is
cached process-wide, as in a simulation). Times are wall-clock around the pipeline hooks, on
whatever machine runs this; treat them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

from fedsim.privacy.base import Aggregate, RoundContext, UpdateBatch
from fedsim.privacy.he import HomomorphicEncryption, ckks_contexts, paillier_keys
from fedsim.privacy.secagg import SecureAggregation
from fedsim.privacy.zkp import RangeProofs

DIGITS_MLP_PARAMS = 2410      # 64·32 + 32 + 32·10 + 10


def _batch(clients: int, params: int, seed: int = 0) -> UpdateBatch:
    rng = np.random.default_rng(seed)
    deltas = rng.normal(0.0, 0.05, (clients, params))
    weights = rng.integers(50, 150, clients).astype(np.float64)
    return UpdateBatch(tuple(range(clients)), deltas, weights)


def _ctx(batch: UpdateBatch, dropped=(), seed: int = 0) -> RoundContext:
    n = len(batch.client_ids)
    return RoundContext(round=1, seed=seed, num_clients=n, expected_clients=float(n),
                        sample_rate=1.0, sampled=batch.client_ids, dropped=tuple(dropped),
                        num_params=batch.deltas.shape[1])


def _time(fn: Callable):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1e3


def _hidden_round(label: str, mech, batch: UpdateBatch, dropped=()) -> dict:
    """client → dropout → secure_sum for a mechanism that hides updates."""
    ctx = _ctx(batch, dropped)
    (sent, cm), client_ms = _time(lambda: mech.client(ctx, batch))
    alive = sent.select(np.array([c not in set(dropped) for c in sent.client_ids]))
    (total, sm), server_ms = _time(lambda: mech.secure_sum(ctx, alive))
    n = len(batch.client_ids)
    return {"mechanism": label, "client_ms": client_ms, "server_ms": server_ms,
            "bytes_per_client": int(np.mean(sent.bytes_up)),
            "client_ms_per_client": client_ms / n, "max_abs_error": sm["max_abs_error"],
            "dropped": len(dropped)}


def _plain_round(batch: UpdateBatch) -> dict:
    """The baseline: float32 updates summed in the clear."""
    (sent, _), client_ms = _time(lambda: (batch.replace(
        deltas=batch.deltas.astype(np.float32).astype(np.float64)), {}))
    _, server_ms = _time(lambda: sent.weights @ sent.deltas)
    return {"mechanism": "plain FedAvg (float32, clear)", "client_ms": client_ms,
            "server_ms": server_ms, "bytes_per_client": 4 * batch.deltas.shape[1],
            "client_ms_per_client": client_ms / len(batch.client_ids), "max_abs_error": 0.0,
            "dropped": 0}


def _zkp_round(batch: UpdateBatch, coordinates: int) -> dict:
    mech = RangeProofs(bound=1.0, coordinates=coordinates, bits=8)
    ctx = _ctx(batch)
    (sent, cm), client_ms = _time(lambda: mech.client(ctx, batch))

    def server():
        kept, rm = mech.receive(ctx, sent)
        agg = Aggregate(kept.weights @ kept.deltas, float(kept.weights.sum()))
        return kept, rm, mech.server(ctx, agg)[1]

    (kept, rm, sm), server_ms = _time(server)
    n = len(batch.client_ids)
    return {"mechanism": f"ZKP range proofs ({coordinates} coords, 8 bits)",
            "client_ms": client_ms, "server_ms": server_ms,
            "bytes_per_client": int(np.mean(sent.bytes_up)),
            "client_ms_per_client": client_ms / n, "max_abs_error": 0.0, "dropped": 0,
            "accepted": rm["accepted"], "aggregate_check": sm.get("aggregate_check")}


def bench_mechanisms(clients: int = 10, params: int = DIGITS_MLP_PARAMS,
                     paillier_bits: int = 2048, zkp_coordinates: int = 64) -> list[dict]:
    """One timed round per mechanism; rows ``{"mechanism", "client_ms", "server_ms",
    "bytes_per_client", ...}`` (client_ms is all clients together; bytes include the update)."""
    batch = _batch(clients, params)
    paillier_keys(paillier_bits)          # key generation happens once per process
    ckks_contexts()
    rows = [_plain_round(batch),
            _hidden_round("SecAgg (Bonawitz), 0 dropped", SecureAggregation(), batch),
            _hidden_round("SecAgg (Bonawitz), 2 dropped", SecureAggregation(), batch,
                          dropped=(1, 6)),
            _hidden_round("SecAgg+ k=4, 2 dropped", SecureAggregation(neighbors=4), batch,
                          dropped=(1, 6)),
            _hidden_round(f"Paillier {paillier_bits} (packed)",
                          HomomorphicEncryption("paillier", key_bits=paillier_bits), batch),
            _hidden_round("CKKS N=8192", HomomorphicEncryption("ckks"), batch),
            _zkp_round(batch, zkp_coordinates)]
    for r in rows:
        r.update(clients=clients, params=params)
    return rows


def bench_secagg_scaling(sizes=(10, 20, 40), k: int = 4,
                         params: int = DIGITS_MLP_PARAMS) -> list[dict]:
    """SecAgg vs SecAgg+ as the number of clients grows (10% dropped): per-client cost and
    upload stay flat with k neighbours and grow with n for the complete graph."""
    rows = []
    for n in sizes:
        batch = _batch(n, params, seed=n)
        dropped = tuple(range(0, n, 10))
        for label, mech in (("SecAgg", SecureAggregation()),
                            (f"SecAgg+ k={k}", SecureAggregation(neighbors=k))):
            r = _hidden_round(label, mech, batch, dropped)
            r.update(clients=n, params=params)
            rows.append(r)
    return rows


def _table(rows: list[dict]) -> str:
    head = f"{'mechanism':<38} {'client ms':>10} {'per client':>10} {'server ms':>10} " \
           f"{'bytes/client':>13} {'max err':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['mechanism']:<38} {r['client_ms']:>10.1f} "
                     f"{r['client_ms_per_client']:>10.2f} {r['server_ms']:>10.1f} "
                     f"{r['bytes_per_client']:>13,d} {r['max_abs_error']:>9.1e}")
    return "\n".join(lines)


def bench_round_overhead(rounds: int = 3) -> list[dict]:
    """Whole engine rounds (10 digits clients, MLP) with each mechanism, timed in the same run
    as plain FedAvg; ratio = median round time / plain median round time."""
    import statistics

    from fedsim import Simulation, SimulationConfig

    cases = [
        ("plain FedAvg", {}),
        ("secure aggregation", {"secure_aggregation": {"enabled": True}}),
        ("secure aggregation, 20% dropout", {"secure_aggregation": {"enabled": True,
                                                                    "threshold": 0.5}}),
        ("SecAgg+ (4 neighbours)", {"secure_aggregation": {"enabled": True, "neighbors": 4}}),
        ("Paillier 2048 (packed)", {"he": {"scheme": "paillier", "key_bits": 2048}}),
        ("CKKS (TenSEAL)", {"he": {"scheme": "ckks"}}),
        ("ZKP range proofs, 32 coords", {"zkp": {"enabled": True, "coordinates": 32}}),
    ]
    rows = []
    for label, privacy in cases:
        cfg = {"seed": 0, "rounds": 100, "clients": {"num_clients": 10}, "privacy": privacy}
        if "dropout" in label:
            cfg["clients"]["dropout"] = 0.2
        sim = Simulation(SimulationConfig.from_dict(cfg))
        sim.step_round()  # warm-up: key generation, tracing
        times, up = [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            r = sim.step_round()
            times.append((time.perf_counter() - t0) * 1e3)
            arrived = [c for c in r.clients if not c.dropped]
            up.append(sum(c.bytes_up for c in arrived) / max(len(arrived), 1))
        rows.append({"mechanism": label, "ms": statistics.median(times),
                     "bytes_up_per_client": statistics.mean(up),
                     "bytes_down_per_client": r.bytes_down / max(len(r.sampled), 1)})
    base = rows[0]["ms"]
    for r in rows:
        r["ratio"] = r["ms"] / base
    return rows


def bench_all() -> None:
    """Everything, for ``make bench``."""
    main([])
    print("\nWhole rounds in the engine, 10 digits clients (MLP, 2410 parameters), same run:\n")
    head = f"{'mechanism':<34} {'ms/round':>10} {'x plain':>8} {'up B/client':>12} {'down B/client':>14}"
    print(head + "\n" + "-" * len(head))
    for r in bench_round_overhead():
        print(f"{r['mechanism']:<34} {r['ms']:>10.1f} {r['ratio']:>8.1f} "
              f"{r['bytes_up_per_client']:>12,.0f} {r['bytes_down_per_client']:>14,.0f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--params", type=int, default=DIGITS_MLP_PARAMS)
    ap.add_argument("--paillier-bits", type=int, default=2048, choices=(1024, 2048, 3072))
    ap.add_argument("--zkp-coordinates", type=int, default=64)
    ap.add_argument("--scaling", action="store_true",
                    help="also compare SecAgg and SecAgg+ at 10, 20 and 40 clients")
    args = ap.parse_args(argv)
    rows = bench_mechanisms(args.clients, args.params, args.paillier_bits, args.zkp_coordinates)
    print(f"{args.clients} clients, P = {args.params}; one round each\n")
    print(_table(rows))
    if args.scaling:
        print("\nSecAgg vs SecAgg+ (10% dropped), client ms is all clients together\n")
        scaled = bench_secagg_scaling(params=args.params)
        for r in scaled:
            r["mechanism"] = f"{r['mechanism']}, n={r['clients']}"
        print(_table(scaled))


if __name__ == "__main__":
    main()
