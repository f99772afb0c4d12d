"""An earlier commit's engine beside the current one, for before/after benchmarks.

``git archive`` of ``fedsim/`` at a revision, unpacked into a folder that a worker process puts
first on ``sys.path``: both engines then run side by side in one benchmark, interleaved, on the
same machine state (the refactor, CNN and scale benches use it).
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def extract_engine(rev: str, into: Path) -> Path:
    """``fedsim/`` as of ``rev`` under ``into`` (created if missing); returns ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "fedsim"],
                   check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into
