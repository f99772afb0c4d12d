"""``fedsim app ...`` starts the teaching app: the engine's CLI hands its arguments to
``python -m fedsim_app`` (it runs the app as a program; it never imports it)."""

from __future__ import annotations

import subprocess
import sys


def test_fedsim_app_passes_its_flags_to_the_app(tmp_path):
    out = subprocess.run([sys.executable, "-m", "fedsim", "app", "--help"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for flag in ("--port", "--host", "--lang", "--headless"):
        assert flag in out.stdout


def test_a_bad_app_flag_is_one_line_and_exit_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "fedsim", "app", "--port", "many"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--port" in out.stderr
