"""Start and stop the app on 127.0.0.1 the way ``make run`` and the installed
``fedsim-playground`` command serve it (``python -m fedsim_app``: Streamlit reads
``fedsim_app/server/.streamlit/config.toml``, no file watcher), for the browser tests and the load
benchmark."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Flags for Debian's Chromium in a container (no sandbox, no GPU, nothing fetched from outside).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def find_chromium() -> str | None:
    """The system Chromium (CI installs Debian's with apt; ``playwright install`` is never
    used), or None."""
    import os
    import shutil

    return next((p for p in ("/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p and os.path.exists(p)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict | None = None, timeout: float = 90.0):
    """Yield ``(base_url, process)`` of ``python -m fedsim_app --headless --host 127.0.0.1
    --port <free>`` run from the checkout; the server is terminated (then killed) afterwards."""
    port = free_port()
    log = open(os.path.join(tempfile.gettempdir(), f"fedsim-bench-{port}.log"), "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fedsim_app", "--headless", "--host", "127.0.0.1",
         "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})
    base = f"http://127.0.0.1:{port}"
    proc.log_path = log.name  # what the server printed (the load bench reads the janitor's lines)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start (log: {log.name})")
            time.sleep(0.3)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process (MB), from /proc."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        parts = fh.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
