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
    assert "--port" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_show_config_says_where_each_limit_came_from(tmp_path):
    settings = tmp_path / "config.toml"
    settings.write_text("[limits]\nmax_rounds = 40\n")
    env = {**__import__("os").environ, "FEDSIM_CONFIG": str(settings),
           "FEDSIM_MAX_HIDDEN": "64"}
    out = subprocess.run([sys.executable, "-m", "fedsim", "app", "--show-config",
                          "--max-clients", "500"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = {ln.split()[0]: ln for ln in out.stdout.splitlines() if ln.startswith("max_")}
    assert "500" in lines["max_clients"] and "from flag --max-clients" in lines["max_clients"]
    assert "from environment FEDSIM_MAX_HIDDEN" in lines["max_hidden"]
    assert f"from {settings}" in lines["max_rounds"] and "40" in lines["max_rounds"]
    assert "from default" in lines["max_epochs"]
    assert f"settings file: {settings} (found)" in out.stdout
