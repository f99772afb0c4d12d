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
``Infinity`` tokens (a non-finite number is written as ``null``; an infinite ε as ``"inf"``).
An output path must be a regular file or a new name: a device (``/dev/null``), FIFO, folder or
symlink is refused before training (a rename over a symlink would replace the link, and
writing "through" it is how a shared folder gets a file overwritten elsewhere), and so is a
disk without room for the estimated output size. :class:`OutputFiles` does all of this for
every subcommand that writes a file (``run``, ``invert``, ``flower run``).

Exit codes: 0 done; 2 bad input, an output that cannot be written, or training that diverged
(one line on stderr); 130 interrupted (Ctrl-C): one line, ``interrupted after round N;
nothing written``; 143 terminated (SIGTERM: ``kill``, a batch scheduler's time limit,
``docker stop``): the same, ``terminated after round N; nothing written``. Either way the
temporary output files are removed and any previous output is left as it was.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import sys
import threading
import time

from fedsim import jsonio
from fedsim.config import SimulationConfig, load_config
from fedsim.engine.results import metric_key
from fedsim.errors import FedsimError, short
from fedsim.outputs import OutputFiles, estimate_run_bytes
from fedsim.presets import PRESETS, get_preset


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception so that it unwinds exactly like Ctrl-C: every
    ``finally`` runs (the reserved temporary files are removed, Flower's child process group
    is killed) and :func:`main` prints one line. A :class:`KeyboardInterrupt` because the engine
    already lets that through its per-phase error wrapping; a plain ``Exception`` would come
    back as a ``PhaseError``."""


def _on_sigterm(signum, frame):  # noqa: ARG001 - the signal module's signature
    # Once is enough: a second SIGTERM (an impatient supervisor) ends the process at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated()


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
    data = sub.add_parser("data", help="the data sets: which exist, which are downloaded; "
                          "fetch one once (then used offline)")
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    dsub.add_parser("list", help="every data set, its size, whether it is cached and where")
    fetch = dsub.add_parser("fetch", help="download a data set once, verified, into its cache")
    from fedsim.data.download import REMOTES

    fetch.add_argument("name", choices=sorted(REMOTES), help="the data set to download")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    app = sub.add_parser("app", help="start the teaching app (fedsim_app): "
                         "fedsim app [--port N] [--host 0.0.0.0] [--lang zh]", add_help=False)
    app.add_argument("app_args", nargs=argparse.REMAINDER)
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


#: What an output path may be; the end of every "not a regular file" error.
def _layer_slices(spec) -> list[slice]:
    """The engine's flat weight layout (one slice per tensor) computed without TensorFlow,
    so ``privacy.he.layer`` is checked before the import (the shapes are
    :func:`fedsim.training.spec.layer_sizes`', which the Keras models are tested against).
    """
    from fedsim.training.spec import layer_sizes

    out, at = [], 0
    for n in layer_sizes(spec):
        out.append(slice(at, at + n))
        at += n
    return out


def check_without_tensorflow(cfg: SimulationConfig):
    """Build the data split and the privacy pipeline with NumPy only: the same checks the
    simulation would make, before the ~5-90 s TensorFlow import. Returns the federation, which
    the simulation then reuses."""
    from fedsim.privacy.pipeline import build_pipeline
    from fedsim.engine.federation import build_federation

    fed = build_federation(cfg)
    build_pipeline(cfg, layer_slices=_layer_slices(fed.spec),
                   client_sizes=fed.client_data.counts)
    return fed


class _Progress:
    """What a Ctrl-C/SIGTERM message reports: rounds finished and files already in place."""

    def __init__(self):
        self.rounds_done = 0
        self.written: list[str] = []


def _run(args, progress_state: _Progress) -> int:
    cfg = _config(args)  # validated here, before TensorFlow is imported
    outputs = OutputFiles(progress_state.written)
    try:
        outputs.reserve("--out", args.out, estimate_run_bytes(cfg, baselines=args.baselines))
        outputs.reserve("--csv", args.csv, estimate_run_bytes(cfg, csv_table=True))
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


#: Built-in sets: nothing to download (``fedsim data list`` names them too).
_BUILTIN_DATA = (("digits", "scikit-learn's 8×8 digits, 1,797 images"),
                 ("breast_cancer", "scikit-learn's Wisconsin table, 569 rows"),
                 ("seed_regression", "generated from the seed"),
                 ("2d", "generated from the seed (moons, circles, blobs, xor)"),
                 ("penguins", "palmerpenguins' 344 rows, by island or year"),
                 ("csv", "your own file (dataset.path)"))


def _disk_size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def _data_main(args) -> int:
    """``fedsim data list`` / ``fedsim data fetch NAME``."""
    from fedsim.data import download

    if args.data_command == "list":
        rows = [("name", "status", "size", "where")]
        for name, what in _BUILTIN_DATA:
            rows.append((name, "built in", what, "(no download)"))
        for name, r in download.REMOTES.items():
            path = download.cached_path(name)
            if download.is_cached(name):
                rows.append((name, "cached", f"{_disk_size(path) / 1e6:,.1f} MB on disk", path))
            else:
                rows.append((name, "not downloaded", r.size,
                             f"{path} (fetch: python -m fedsim data fetch {name})"))
        wide = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, wide)) + "  " + r[3])
        return 0
    name = args.name
    if download.is_cached(name):
        print(f"{name}: already cached at {download.cached_path(name)}")
        return 0
    with _progress_bar(name, args.quiet) as progress:
        path = download.fetch(name, progress=progress)
    print(f"{name}: verified and cached at {path}")
    return 0


class _progress_bar:
    """A ``rich`` progress bar on stderr fed by :func:`fedsim.data.download.fetch`'s
    ``progress(done, total)``, drawn from the first byte on (a download that cannot start
    prints its one error line only); nothing when quiet or when rich is missing."""

    def __init__(self, name: str, quiet: bool):
        self.name, self.quiet, self.bar, self.task = name, quiet, None, None

    def __enter__(self):
        return None if self.quiet else self._update

    def _update(self, done: int, total: int | None) -> None:
        if self.bar is None:
            try:
                from rich.console import Console
                from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                           TimeRemainingColumn, TransferSpeedColumn)
            except ImportError:  # pragma: no cover - rich comes with Keras and Streamlit
                self._update = lambda *a: None
                return
            self.bar = Progress(TextColumn(self.name), BarColumn(), DownloadColumn(),
                                TransferSpeedColumn(), TimeRemainingColumn(),
                                console=Console(stderr=True))
            self.bar.__enter__()
            self.task = self.bar.add_task(self.name, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


def _catch_sigterm():
    """Turn SIGTERM into :class:`Terminated` for the duration of :func:`main`; returns what to
    restore (None where signals cannot be set: outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    before = signal.signal(signal.SIGTERM, _on_sigterm)
    return (signal.SIG_DFL if before is None else before,)  # None: set outside Python


def _start_app(app_args: list[str]) -> int:
    """``fedsim app ...`` is ``python -m fedsim_app ...``: the app is the layer above the
    engine, so the engine runs it as a program (by module name) rather than importing it."""
    import runpy

    saved = sys.argv
    sys.argv = ["fedsim app", *app_args]
    try:
        runpy.run_module("fedsim_app", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.argv = saved
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["app"]:  # the app parses its own flags (--help included)
        return _start_app(argv[1:])
    args = _parser().parse_args(argv)
    if hasattr(signal, "SIGXFSZ"):  # a file-size limit: get EFBIG (a message), not a core dump
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    progress = _Progress()
    previous = _catch_sigterm()
    try:
        if args.command == "presets":
            for p in PRESETS.values():
                print(f"{p.name:<20} {p.title}: {p.blurb}")
            return 0
        if args.command == "show-config":
            print(_config(args).to_json())
            return 0
        if args.command == "schema":
            from fedsim.config.schema import main as schema_main

            return schema_main()
        if args.command == "data":
            return _data_main(args)
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
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM as Terminated: temp files are gone
        done = ("wrote " + ", ".join(short(p) for p in progress.written)) if progress.written \
            else "nothing written"
        how, code = ("terminated", 143) if isinstance(exc, Terminated) else ("interrupted", 130)
        print(f"fedsim: {how} after round {progress.rounds_done}; {done}", file=sys.stderr)
        return code
    except BrokenPipeError:  # `python -m fedsim presets | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:  # anything else the system refused: one line naming the file
        where = f"{short(exc.filename)}: " if exc.filename else ""
        print(f"fedsim: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous[0])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
