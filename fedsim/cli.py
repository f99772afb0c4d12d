"""Command line: ``python -m fedsim run --config cfg.json --out run.json``.

Bad input (unknown key, wrong type, out-of-range value, impossible combination, unreadable or
non-JSON file) prints one line naming the field, the value and what is allowed, and exits 2,
without a traceback — and before TensorFlow is imported, so it is instant.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time

from .config import SimulationConfig, load_config
from .errors import ConfigError, FedsimError
from .presets import PRESETS, get_preset


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        self.exit(2, f"fedsim: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m fedsim", description="Federated learning simulator (fedsim).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a simulation and write its results")
    src = run.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="JSON configuration file")
    src.add_argument("--preset", help="a named scenario (see `presets`)")
    run.add_argument("--rounds", type=int, help="override the number of rounds")
    run.add_argument("--seed", type=int, help="override the seed")
    run.add_argument("--out", help="write the results as JSON here ('-' for stdout)")
    run.add_argument("--csv", help="write a flat table (one row per round and client) here")
    run.add_argument("--baselines", action="store_true",
                     help="also compute centralized and local-only curves")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sub.add_parser("presets", help="list the named scenarios")
    show = sub.add_parser("show-config", help="print a preset's or file's full configuration")
    g = show.add_mutually_exclusive_group(required=True)
    g.add_argument("--config")
    g.add_argument("--preset")
    return p


def _config(args) -> SimulationConfig:
    cfg = load_config(args.config) if args.config else get_preset(args.preset).build()
    changes = {}
    if getattr(args, "rounds", None) is not None:
        changes["rounds"] = args.rounds
    if getattr(args, "seed", None) is not None:
        changes["seed"] = args.seed
    if changes:
        cfg = SimulationConfig.from_dict({**cfg.to_dict(), **changes})
    return cfg


def results_dict(sim, baselines: dict | None = None) -> dict:
    """The run JSON: config, partition (label counts per client), initial and per-round results."""
    fed = sim.fed
    counts = fed.label_counts()
    out = {
        "config": sim.config.to_dict(),
        "task": fed.data.task,
        "num_params": sim.num_params,
        "partition": {
            "labels": list(fed.data.class_names) if fed.data.task == "classification"
            else [f"bin {i}" for i in range(counts.shape[1])],
            "clients": [{"id": k, "num_examples": int(fed.partition.sizes()[k]),
                         "label_counts": counts[k].tolist()} for k in range(len(counts))],
        },
        "initial": dict(sim.initial_metrics),
        "rounds": [r.to_dict(fed.data.task) for r in sim.history],
    }
    if baselines:
        out["baselines"] = baselines
    return out


def write_csv(path: str, sim) -> None:
    """One row per (round, sampled client), with the round's global metrics repeated."""
    task = sim.fed.data.task
    metric = "accuracy" if task == "classification" else "mse"
    cols = ["round", f"global_{metric}", "global_loss", "client", "num_examples", "dropped",
            "rejected", "malicious", "train_loss", f"val_{metric}", "val_loss", "update_norm",
            "bytes_up", "epsilon"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in sim.history:
            eps = r.privacy.get("epsilon", "")
            for c in r.clients:
                w.writerow([r.round, r.global_metrics[metric], r.global_metrics["loss"], c.id,
                            c.num_examples, c.dropped, c.extra.get("rejected", False),
                            c.malicious, c.train_loss[-1], c.val_metric, c.val_loss,
                            c.update_norm, c.bytes_up, eps])


def _check_writable(flag: str, path: str | None) -> None:
    """Fail before a long run, not after it, when an output file cannot be written."""
    if not path or path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(flag, path, "a path in an existing folder",
                          message=f"{flag}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(flag, path, "a writable location",
                          message=f"{flag}: cannot write in {folder!r}")


def _run(args) -> int:
    cfg = _config(args)  # validated here, before TensorFlow is imported
    _check_writable("--out", args.out)
    _check_writable("--csv", args.csv)
    if not args.quiet:
        print(f"fedsim: importing TensorFlow and building {cfg.clients.num_clients} clients...",
              file=sys.stderr)
    from .simulation import Simulation

    sim = Simulation(cfg)
    key = "accuracy" if sim.fed.data.task == "classification" else "mse"
    t0 = time.perf_counter()

    def progress(r):
        if not args.quiet:
            print(f"round {r.round:>4}/{cfg.rounds}  {key} {r.global_metrics[key]:.4f}  "
                  f"loss {r.global_metrics['loss']:.4f}  "
                  f"({len(r.aggregated)}/{len(r.sampled)} aggregated)", file=sys.stderr)

    sim.run(progress=progress)
    if not args.quiet:
        print(f"fedsim: {cfg.rounds} rounds in {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    baselines = None
    if args.baselines:
        from .baselines import centralized_curve, local_only_curve

        baselines = {"centralized": centralized_curve(sim.fed, cfg.rounds),
                     "local_only": local_only_curve(sim.fed, cfg.rounds)}
    result = results_dict(sim, baselines)
    if args.out:
        text = json.dumps(result, indent=1)
        if args.out == "-":
            sys.stdout.write(text + "\n")
        else:
            with open(args.out, "w") as fh:
                fh.write(text)
    if args.csv:
        write_csv(args.csv, sim)
    if not args.out and not args.csv:
        final = sim.history[-1].global_metrics
        print(json.dumps({"rounds": cfg.rounds, **{k: float(v) for k, v in final.items()}}))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "presets":
            for p in PRESETS.values():
                print(f"{p.name:<20} {p.title}: {p.blurb}")
            return 0
        if args.command == "show-config":
            print(_config(args).to_json())
            return 0
        return _run(args)
    except FedsimError as exc:
        print(f"fedsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m fedsim presets | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:  # e.g. --out into a missing folder
        print(f"fedsim: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
