"""Run an exported app on Flower's Deployment Engine, all on 127.0.0.1 (a rehearsal).

``local_deployment(app_dir, num_nodes)`` starts one ``flower-superlink`` and ``num_nodes``
``flower-supernode`` processes (insecure, each on its own port), submits the app with
``flwr run --stream`` and stops every process it started, whatever happens. On real machines
the same three commands run on different hosts (see the exported README and the project
README's "When you outgrow fedsim").
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fedsim.flower.run import FlowerRunError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def _wait_port(port: int, proc: subprocess.Popen, timeout: float, what: str, log: Path):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise FlowerRunError(f"{what} exited with code {proc.returncode}\n"
                                 f"{log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise FlowerRunError(f"{what} did not listen on port {port} within {timeout:g} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind (ServerApp, ClientApps)
    except (ProcessLookupError, PermissionError):
        pass


def local_deployment(app_dir, num_nodes: int, *, timeout: float = 600,
                     run_config: dict | None = None) -> dict:
    """SuperLink + ``num_nodes`` SuperNodes on 127.0.0.1, ``flwr run``; the run JSON."""
    app_dir = Path(app_dir).resolve()
    work = app_dir / ".deploy"
    work.mkdir(exist_ok=True)
    home = work / "flwr-home"
    home.mkdir(exist_ok=True)
    link_port = free_port()
    (home / "config.toml").write_text(
        '[superlink]\ndefault = "fedsim-local"\n\n[superlink.fedsim-local]\n'
        f'address = "127.0.0.1:{link_port}"\ninsecure = true\n')
    result = app_dir / "result.json"
    if result.exists():
        result.unlink()
    env = dict(os.environ, FLWR_HOME=str(home), FLWR_DISABLE_UPDATE_CHECK="1",
               TF_CPP_MIN_LOG_LEVEL="2", RAY_DISABLE_USAGE_STATS="1",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    procs: list[subprocess.Popen] = []

    def start(cmd, name):
        log = work / f"{name}.log"
        fh = open(log, "wb")
        p = subprocess.Popen(cmd, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT,
                             start_new_session=True)
        fh.close()
        procs.append(p)
        return p, log

    try:
        link, link_log = start([_bin("flower-superlink"), "--insecure",
                                "--disable-runtime-dependency-installation",
                                "--host", "127.0.0.1", "--port", str(link_port)], "superlink")
        _wait_port(link_port, link, 60, "flower-superlink", link_log)
        for k in range(num_nodes):
            node_port = free_port()
            start([_bin("flower-supernode"), "--insecure",
                   "--superlink", f"127.0.0.1:{link_port}",
                   "--host", "127.0.0.1", "--port", str(node_port),
                   "--node-config", f"partition-id={k} num-partitions={num_nodes}"],
                  f"supernode-{k}")
        cmd = [_bin("flwr"), "run", str(app_dir), "fedsim-local", "--stream"]
        if run_config:
            cmd += ["--run-config", " ".join(f"{k}={json.dumps(v)}" for k, v in run_config.items())]
        runner, run_log = start(cmd, "flwr-run")
        end = time.monotonic() + timeout
        while time.monotonic() < end and not result.exists():
            if runner.poll() is not None and not result.exists():
                time.sleep(2)  # the ServerApp may still be writing
                if not result.exists():
                    break
            time.sleep(0.5)
        if not result.exists():
            logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                             for p in sorted(work.glob("*.log")))
            raise FlowerRunError(f"flwr run wrote no result (timeout {timeout:g} s)\n{logs}")
        return json.loads(result.read_text())
    finally:
        for p in reversed(procs):
            _stop(p)
