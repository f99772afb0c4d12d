"""Run an exported fedsim experiment on Flower's Simulation Engine (Ray backend).

``run_simulation(cfg)`` exports the app to a temporary folder (:func:`export_app`), runs it in a
child process with ``flwr.simulation.run_simulation`` (one virtual SuperNode per fedsim
client, Ray limited to ``num_cpus`` CPUs) and returns the run JSON the ServerApp wrote — the
layout of :func:`fedsim.cli.results_dict` (``config``, ``partition``, ``initial``,
``rounds[i].global.accuracy``, ``rounds[i].clients[j]``...) plus ``engine`` (Flower's version
and timings), so a Flower run and a fedsim run can be overlaid.

The child process keeps Ray (and its worker processes) out of the caller: when it ends, or
is killed at ``timeout``, its whole process group goes with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fedsim.config import SimulationConfig
from fedsim.errors import FedsimError
from fedsim.flower.export import PACKAGE, export_app, flower_strategy

_CHILD = r"""
import sys
from flwr.simulation import run_simulation
from {pkg}.client_app import app as client_app
from {pkg}.server_app import app as server_app

run_simulation(server_app=server_app, client_app=client_app, num_supernodes={n},
               backend_config={backend!r})
"""


class FlowerRunError(FedsimError, RuntimeError):
    """The Flower simulation failed or timed out; the message ends with its log's last lines."""


def flower_available() -> bool:
    """True when the ``flower`` extra (``flwr[simulation]``, with Ray) is installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("flwr", "ray"))


def backend_config(num_cpus: int = 1) -> dict:
    """Ray backend settings: ``num_cpus`` actors of one CPU each, no GPU, no dashboard."""
    return {"client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": int(num_cpus), "num_gpus": 0,
                          "include_dashboard": False,
                          "object_store_memory": 256 * 1024 * 1024}}


def run_exported(app_dir, num_clients: int, *, num_cpus: int = 1, timeout: float = 900,
                 verbose: bool = False) -> dict:
    """Run an already exported app (``app_dir``) on the Simulation Engine; its run JSON."""
    app_dir = Path(app_dir).resolve()
    result = app_dir / "result.json"
    if result.exists():
        result.unlink()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(app_dir), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")
    env["FLWR_HOME"] = str(app_dir / ".flwr")
    code = _CHILD.format(pkg=PACKAGE, n=int(num_clients), backend=backend_config(num_cpus))
    log = app_dir / "flower.log"
    t0 = time.perf_counter()
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=app_dir, env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            _kill_group(proc)
    wall = time.perf_counter() - t0
    tail = log.read_text(errors="replace")[-3000:]
    if verbose:
        sys.stderr.write(tail)
    if rc is None:
        raise FlowerRunError(f"flower run: timed out after {timeout:g} s\n{tail}")
    if not result.exists():
        raise FlowerRunError(f"flower run: the simulation exited with code {rc} and wrote no "
                             f"result\n{tail}")
    out = json.loads(result.read_text())
    out.setdefault("engine", {})["wall_seconds"] = wall
    return out


def _kill_group(proc: subprocess.Popen) -> None:
    """End the child and everything it started (Ray's raylet, GCS and workers)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_simulation(cfg: SimulationConfig, *, num_cpus: int = 1, timeout: float = 900,
                   workdir=None, verbose: bool = False) -> dict:
    """Export ``cfg`` to a temporary folder and run it on Flower's Simulation Engine.

    Returns the run JSON (same layout as ``fedsim run --out``). ``num_cpus`` bounds Ray;
    ``workdir`` keeps the exported app there instead of a deleted temporary folder.
    """
    flower_strategy(cfg)  # a one-line error before anything is built
    if not flower_available():
        raise FlowerRunError("flower run: flwr[simulation] is not installed; "
                             "pip install -e '.[flower]'")
    if workdir is not None:
        app = export_app(cfg, workdir)
        return run_exported(app, cfg.clients.num_clients, num_cpus=num_cpus, timeout=timeout,
                            verbose=verbose)
    with tempfile.TemporaryDirectory(prefix="fedsim-flower-") as tmp:
        app = export_app(cfg, Path(tmp) / "app")
        return run_exported(app, cfg.clients.num_clients, num_cpus=num_cpus, timeout=timeout,
                            verbose=verbose)
