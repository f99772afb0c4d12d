"""Command line: ``python -m fedsim run --config cfg.json --out run.json``.

Bad input (unknown key, wrong type, out-of-range value, impossible combination, unreadable,
oversized or non-JSON file, an impossible split, a privacy setting that cannot work, an output
path that cannot be written) prints one line naming the field, the value (cut short) and what
is allowed, and exits 2, without a traceback — all before TensorFlow is imported, so it is
instant. The data split and the privacy pipeline are built first with NumPy only
(``build_federation``, ``build_pipeline``), and the output files are created (as temporary
files beside their targets) before training starts.

Outputs are written atomically: into a temporary file in the target's folder, flushed, then
renamed over the target, so a run that fails (disk full, a file-size limit, Ctrl-C) leaves any
previous file as it was and no half-written JSON. Every JSON output is strict: no ``NaN`` or
``Infinity`` tokens (a non-finite number is written as ``null``).

Exit codes: 0 done; 2 bad input, an output that cannot be written, or training that diverged
(one line on stderr); 130 interrupted (Ctrl-C): one line, ``interrupted after round N;
nothing written``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import sys
import tempfile
import time

from fedsim import jsonio
from fedsim.config import SimulationConfig, load_config
from fedsim.engine.results import metric_key
from fedsim.errors import FedsimError, short
from fedsim.presets import PRESETS, get_preset


class OutputError(FedsimError):
    """An output file could not be created or written (names the flag and the path)."""


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
    sub.add_parser("schema", help="print the configuration's JSON Schema (for editors)")
    # Subcommands that live with their feature; each imports its heavy parts only when run.
    from fedsim.tools.invert_cli import add_subcommand as add_invert
    from fedsim.flower.cli import add_subcommand as add_flower

    add_invert(sub)
    add_flower(sub)
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


def write_csv(fh, sim) -> None:
    """One row per (round, sampled client), with the round's global metrics repeated."""
    task = sim.fed.data.task
    metric = metric_key(task)
    cols = ["round", f"global_{metric}", "global_loss", "client", "num_examples", "dropped",
            "rejected", "malicious", "train_loss", f"val_{metric}", "val_loss", "update_norm",
            "bytes_up", "epsilon"]
    w = csv.writer(fh)
    w.writerow(cols)
    for r in sim.history:
        eps = r.privacy.get("epsilon", "")
        for c in r.iter_clients():  # records built a chunk at a time, not kept
            w.writerow([r.round, r.global_metrics[metric], r.global_metrics["loss"], c.id,
                        c.num_examples, c.dropped, c.extra.get("rejected", False),
                        c.malicious, c.train_loss[-1], c.val_metric, c.val_loss,
                        c.update_norm, c.bytes_up, eps])


class _Outputs:
    """The output files of one run: created as temporary files beside their targets before
    training (so a bad path fails in milliseconds), renamed over the targets at the end."""

    def __init__(self, written: list[str] | None = None):
        self._temps: dict[str, tuple[str, str]] = {}  # flag -> (target, temp path)
        self.written = written if written is not None else []

    def reserve(self, flag: str, path: str | None) -> None:
        if not path or path == "-":
            return
        shown = short(path)
        if os.path.isdir(path):
            raise OutputError(f"{flag}: {shown} is a folder; allowed: a file path")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise OutputError(f"{flag}: folder {short(folder)} does not exist")
        if any(target == os.path.abspath(path) for target, _ in self._temps.values()):
            raise OutputError(f"{flag}: {shown} is already another output of this run")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                       dir=folder)
            os.close(fd)
            os.chmod(tmp, _file_mode(path))
        except OSError as exc:
            raise OutputError(f"{flag}: cannot write in {short(folder)}: "
                              f"{exc.strerror or exc}") from None
        self._temps[flag] = (os.path.abspath(path), tmp)

    def write(self, flag: str, text: str) -> None:
        """Write ``text`` to the temporary file and rename it over the target."""
        target, tmp = self._temps.pop(flag)
        try:
            with open(tmp, "w", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            self.written.append(target)
        except OSError as exc:
            _remove(tmp)
            raise OutputError(f"{flag}: could not write {short(target)}: "
                              f"{exc.strerror or exc}; the previous file (if any) is "
                              "unchanged") from None

    def discard(self) -> None:
        for _, tmp in self._temps.values():
            _remove(tmp)
        self._temps.clear()


def _file_mode(path: str) -> int:
    """The target's permissions if it exists, else what ``open()`` would give (umask)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _layer_slices(spec) -> list[slice]:
    """The engine's flat weight layout (one slice per tensor) computed without TensorFlow,
    so ``privacy.he.layer`` is checked before the import. Mirrors ``models.build_keras_model``.
    """
    f, o = spec.num_features, spec.num_outputs
    if spec.name == "logistic":
        sizes = [f * o, o]
    elif spec.name in ("mlp", "seed_mlp"):
        h = 10 if spec.name == "seed_mlp" else spec.hidden
        sizes = [f * h, h, h * o, o]
    else:  # cnn: conv 3x3x1x8 + bias, max-pool 2, dense
        hh, ww = spec.image_shape or (8, 8)
        sizes = [9 * 8, 8, (hh // 2) * (ww // 2) * 8 * o, o]
    out, at = [], 0
    for n in sizes:
        out.append(slice(at, at + n))
        at += n
    return out


def check_without_tensorflow(cfg: SimulationConfig):
    """Build the data split and the privacy pipeline with NumPy only: the same checks the
    simulation would make, before the ~5-90 s TensorFlow import. Returns the federation, which
    the simulation then reuses."""
    from fedsim.privacy.pipeline import build_pipeline
    from fedsim.engine.simulation import build_federation

    fed = build_federation(cfg)
    build_pipeline(cfg, layer_slices=_layer_slices(fed.spec),
                   client_sizes=fed.client_data.counts)
    return fed


class _Progress:
    """What a Ctrl-C message reports: rounds finished and files already in place."""

    def __init__(self):
        self.rounds_done = 0
        self.written: list[str] = []


def _run(args, progress_state: _Progress) -> int:
    cfg = _config(args)  # validated here, before TensorFlow is imported
    outputs = _Outputs(progress_state.written)
    try:
        outputs.reserve("--out", args.out)
        outputs.reserve("--csv", args.csv)
        fed = check_without_tensorflow(cfg)
        if not args.quiet:
            print(f"fedsim: importing TensorFlow and building {cfg.clients.num_clients} "
                  "clients...", file=sys.stderr)
        from fedsim.engine.simulation import Simulation

        sim = Simulation(cfg, federation=fed)
        key = metric_key(sim.fed.data.task)
        t0 = time.perf_counter()

        def progress(r):
            progress_state.rounds_done = r.round
            if not args.quiet:
                print(f"round {r.round:>4}/{cfg.rounds}  {key} {r.global_metrics[key]:.4f}  "
                      f"loss {r.global_metrics['loss']:.4f}  "
                      f"({len(r.aggregated)}/{len(r.sampled)} aggregated)", file=sys.stderr)

        sim.run(progress=progress)
        if not args.quiet:
            print(f"fedsim: {cfg.rounds} rounds in {time.perf_counter() - t0:.2f} s",
                  file=sys.stderr)
        baselines = None
        if args.baselines:
            from fedsim.tools.baselines import centralized_curve, local_only_curve

            baselines = {"centralized": centralized_curve(sim.fed, cfg.rounds),
                         "local_only": local_only_curve(sim.fed, cfg.rounds)}
        if args.out:
            text = jsonio.dumps(results_dict(sim, baselines), indent=1)
            if args.out == "-":
                sys.stdout.write(text + "\n")
            else:
                outputs.write("--out", text)
        if args.csv:
            buf = io.StringIO(newline="")
            write_csv(buf, sim)
            outputs.write("--csv", buf.getvalue())
        if not args.out and not args.csv:
            final = sim.history[-1].global_metrics
            print(jsonio.dumps({"rounds": cfg.rounds, **{k: float(v) for k, v in final.items()}}))
        return 0
    finally:
        outputs.discard()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if hasattr(signal, "SIGXFSZ"):  # a file-size limit: get EFBIG (a message), not a core dump
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    progress = _Progress()
    try:
        if args.command == "presets":
            for p in PRESETS.values():
                print(f"{p.name:<20} {p.title}: {p.blurb}")
            return 0
        if args.command == "show-config":
            print(_config(args).to_json())
            return 0
        if args.command == "schema":
            from fedsim.schema import main as schema_main

            return schema_main()
        if args.command == "invert":
            from fedsim.tools.invert_cli import main as invert_main

            return invert_main(args)
        if args.command == "flower":
            from fedsim.flower.cli import main as flower_main

            return flower_main(args)
        return _run(args, progress)
    except FedsimError as exc:  # ConfigError, OutputError, DivergedError, ...
        print(f"fedsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        done = ("wrote " + ", ".join(short(p) for p in progress.written)) if progress.written \
            else "nothing written"
        print(f"fedsim: interrupted after round {progress.rounds_done}; {done}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m fedsim presets | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:  # anything else the system refused: one line naming the file
        where = f"{short(exc.filename)}: " if exc.filename else ""
        print(f"fedsim: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
