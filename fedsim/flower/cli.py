"""``python -m fedsim flower export|run``: the Flower bridge on the command line.

Registration in :mod:`fedsim.cli` (two lines)::

    from fedsim.flower.flower.cli import add_subcommand as _add_flower   # at the top
    _add_flower(sub)                                         # in _parser(), after the others
    ...
    if args.command == "flower": return flower_main(args)    # in main(), inside the try

Standalone: ``python -m fedsim.flower.cli export --config cfg.json DIR``.

Errors are one line (``fedsim: error: ...``) with exit code 2, like ``fedsim run``.
"""

from __future__ import annotations

import argparse
import sys

from fedsim.errors import FedsimError


def add_subcommand(subparsers) -> argparse.ArgumentParser:
    """Add ``flower`` (with ``export`` and ``run``) to an ``add_subparsers()`` object."""
    fl = subparsers.add_parser("flower", help="export to / run on Flower (needs the flower extra)",
                               description="Hand a fedsim experiment over to Flower.")
    sub = fl.add_subparsers(dest="flower_command", required=True)
    ex = sub.add_parser("export", help="write a self-contained Flower App into DIR")
    ex.add_argument("--config", required=True, help="fedsim JSON configuration file")
    ex.add_argument("dir", metavar="DIR", help="new (or empty) folder for the app")
    run = sub.add_parser("run", help="run on Flower's Simulation Engine (Ray) and write the "
                                     "run JSON of `fedsim run`")
    run.add_argument("--config", required=True, help="fedsim JSON configuration file")
    run.add_argument("--out", help="write the run JSON here ('-' for stdout)")
    run.add_argument("--rounds", type=int, help="override the number of rounds")
    run.add_argument("--cpus", type=int, default=1, help="CPUs Ray may use (default 1)")
    run.add_argument("--timeout", type=float, default=3600, help="seconds before giving up")
    run.add_argument("--keep", metavar="DIR", help="export into DIR and keep it")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    fl.set_defaults(command="flower")
    return fl


def _config(args):
    from fedsim.config import SimulationConfig, load_config

    cfg = load_config(args.config)
    if getattr(args, "rounds", None) is not None:
        cfg = SimulationConfig.from_dict({**cfg.to_dict(), "rounds": args.rounds})
    return cfg


def main(args) -> int:
    """Run a parsed ``flower`` command; 0 on success, 2 on a fedsim error (one line)."""
    try:
        cfg = _config(args)
        if args.flower_command == "export":
            from fedsim.flower.export import export_app

            out = export_app(cfg, args.dir)
            print(f"fedsim: Flower App written to {out}", file=sys.stderr)
            print(f"  how to simulate or deploy it: {out / 'README.md'}", file=sys.stderr)
            return 0
        from fedsim import jsonio
        from fedsim.outputs import OutputFiles, estimate_run_bytes
        from fedsim.flower.export import flower_strategy
        from fedsim.flower.run import run_simulation

        flower_strategy(cfg)  # one line naming what Flower lacks, before anything starts
        # The same checks and atomic write as `fedsim run --out` (a device, FIFO, folder,
        # symlink or full disk is refused before Ray starts), from the one helper.
        outputs = OutputFiles()
        try:
            outputs.reserve("--out", args.out, estimate_run_bytes(cfg))
            if not args.quiet:
                print(f"fedsim: running {cfg.rounds} rounds of {cfg.clients.num_clients} "
                      f"clients on Flower's Simulation Engine ({args.cpus} CPU)...",
                      file=sys.stderr)
            result = run_simulation(cfg, num_cpus=args.cpus, timeout=args.timeout,
                                    workdir=args.keep)
            key = "accuracy" if result["task"] == "classification" else "mse"
            if not args.quiet:
                for r in result["rounds"]:
                    print(f"round {r['round']:>4}/{cfg.rounds}  {key} {r['global'][key]:.4f}  "
                          f"loss {r['global']['loss']:.4f}  ({r['seconds']:.2f} s)",
                          file=sys.stderr)
            text = jsonio.dumps(result, indent=1)  # strict JSON, like fedsim run
            if args.out == "-":
                sys.stdout.write(text + "\n")
            elif args.out:
                outputs.write("--out", text)
            else:
                final = result["rounds"][-1]["global"]
                print(jsonio.dumps({"rounds": cfg.rounds, **final}))
            return 0
        finally:
            outputs.discard()
    except FedsimError as exc:
        print(f"fedsim: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        if "\n" in str(exc):
            print(str(exc).split("\n", 1)[1], file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"fedsim: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2


def _standalone(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fedsim.flower.cli")
    sub = p.add_subparsers(dest="command", required=True)
    fl = add_subcommand(sub)
    # Standalone, "flower" is implied: `python -m fedsim.flower.cli export ...`.
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["flower"]:
        argv = ["flower", *argv]
    del fl
    return main(p.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_standalone())
