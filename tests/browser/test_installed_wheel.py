"""The app as a teacher installs it: the wheel, in a fresh environment, started by its command.

1. The wheel is built from a copy of the working tree (``pip wheel --no-deps
   --no-build-isolation --no-index``: offline, with this environment's setuptools; the copy
   keeps setuptools' ``build/`` folder out of the checkout) and its RECORD holds only the
   ``fedsim`` and ``fedsim_app`` packages, with every file the app reads at run time.
2. Its metadata names no TensorFlow outside the ``cpu`` extra (Colab's own ``tensorflow``
   satisfies it), and without TensorFlow the CLI and the launcher say so in one line.
3. A fresh virtual environment outside the checkout (``python -m venv --without-pip``) sees the
   third-party packages already installed here through a ``.pth`` line naming this
   environment's site-packages (a path line does not run the ``.pth`` files inside it, so this
   checkout's editable install stays invisible). The wheel is installed into it with ``pip
   install --no-deps --no-index --ignore-installed`` run by the new environment's own Python
   (pip itself comes through the ``.pth``), so the ``fedsim-playground`` script is the one pip
   writes for that environment. From an empty folder the script serves the app; Chromium opens
   a deep link as the very first request (and steps a round there), then the Overview page;
   SIGTERM stops it with exit code 0 (Streamlit's handler stops the server and the process
   returns normally).

Nothing is downloaded. The browser part skips, saying why, without Chromium or Playwright.
"""

from __future__ import annotations

import email
import importlib.util
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile

import pytest

from tests.support.serve import CHROMIUM_ARGS, find_chromium, free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = find_chromium()
TOP_LEVEL = {"fedsim", "fedsim_app"}
#: Files the app reads at run time that are not Python modules (plus its entry points).
NEEDED = ["fedsim_app/server/.streamlit/config.toml", "fedsim_app/assets/favicon.png",
          "fedsim_app/server/streamlit_app.py", "fedsim_app/launch.py", "fedsim_app/__main__.py"]


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 120),
                          **kw)


def _clean_env(**extra) -> dict:
    """The environment without anything that would point Python at this checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed here (the test extra brings it): the wheel "
                    "cannot be built offline")
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in TOP_LEVEL:
        shutil.copytree(ROOT / pkg, src / pkg, ignore=skip)
    out = tmp_path_factory.mktemp("dist")
    r = _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
              "--no-build-isolation", "--no-index", "-q", "-w", str(out)])
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = out.glob("fedsim_playground-*.whl")
    return whl


def _wheel_files(whl: pathlib.Path) -> tuple[list[str], dict]:
    with zipfile.ZipFile(whl) as z:
        (record,) = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        files = [line.split(",")[0] for line in z.read(record).decode().splitlines() if line]
        entry = z.read(record.replace("RECORD", "entry_points.txt")).decode()
        return files, {"metadata": email.message_from_bytes(z.read(meta)), "entry": entry}


def test_the_wheel_holds_the_whole_app_and_nothing_else(wheel):
    files, info = _wheel_files(wheel)
    tops = {f.split("/")[0] for f in files}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert dist_info == {"fedsim_playground-0.3.0.dist-info"}, tops
    assert tops - dist_info == TOP_LEVEL, tops
    catalogues = sorted(str(p.relative_to(ROOT))
                        for p in (ROOT / "fedsim_app/i18n/locales").glob("*/*.json"))
    article = sorted(str(p.relative_to(ROOT))
                     for p in (ROOT / "fedsim_app/assets/article").iterdir() if p.is_file())
    template = sorted(str(p.relative_to(ROOT))
                      for p in (ROOT / "fedsim/flower/app_template").glob("*.py"))
    assert len(catalogues) >= 16 and "fedsim_app/i18n/locales/zh/app.json" in catalogues
    missing = [f for f in NEEDED + catalogues + article + template if f not in files]
    assert not missing, f"not in the wheel: {missing}"
    assert "fedsim-playground = fedsim_app.launch:main" in info["entry"]
    meta = info["metadata"]
    assert meta["Name"] == "fedsim-playground" and meta["Version"] == "0.3.0"
    # No TensorFlow distribution outside the extras: Colab's preinstalled one satisfies fedsim.
    core = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    assert not [r for r in core if r.lower().startswith("tensorflow")], core
    cpu = [r for r in meta.get_all("Requires-Dist") if 'extra == "cpu"' in r]
    assert any(r.startswith("tensorflow-cpu") for r in cpu) \
        and any(r.startswith("tensorflow>") for r in cpu), cpu


def test_without_tensorflow_the_cli_and_the_launcher_say_one_line(tmp_path):
    from fedsim.errors import TENSORFLOW_MISSING

    block = "import sys; sys.modules['tensorflow'] = None; "  # import tensorflow now fails
    r = _run([sys.executable, "-c", block + "from fedsim.cli import main; "
              "sys.exit(main(['run', '--preset', 'iid', '--rounds', '1', '--quiet']))"],
             cwd=ROOT, env=_clean_env())
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"fedsim: error: {TENSORFLOW_MISSING}", r.stderr
    # The launcher warns (the first pages need no TensorFlow); here it stops at a busy port.
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _run([sys.executable, "-c", block + "from fedsim_app.launch import main; "
                  f"sys.exit(main(['--headless', '--host', '127.0.0.1', '--port', '{port}']))"],
                 cwd=tmp_path, env=_clean_env(PYTHONPATH=str(ROOT)))
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [
        f"fedsim-playground: warning: {TENSORFLOW_MISSING}",
        f"fedsim-playground: error: port {port} is in use on 127.0.0.1: "
        "choose another with --port"], r.stderr


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> pathlib.Path:
    """A fresh venv outside the checkout with the wheel installed; returns the venv folder."""
    if os.name != "posix":
        pytest.skip("the venv layout below (bin/, SIGTERM) is POSIX's")
    venv = tmp_path_factory.mktemp("teacher") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    r = _run([base, "-m", "venv", "--without-pip", str(venv)])
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   env=_clean_env()).stdout.strip()
    here = sysconfig.get_paths()["purelib"]  # this environment's third-party packages
    (pathlib.Path(purelib) / "_fedsim_test_deps.pth").write_text(here + "\n")
    r = _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
              "-q", str(wheel)], env=_clean_env(), cwd=venv)
    assert r.returncode == 0, r.stdout + r.stderr
    return venv


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    py = installed / "bin" / "python"
    probe = (
        "import json, sys, fedsim, fedsim_app, fedsim.errors\n"
        "from streamlit import config\n"
        "from streamlit.web import bootstrap\n"
        "from fedsim_app import launch\n"
        "config._main_script_path = str(launch.MAIN_SCRIPT)\n"
        "bootstrap.load_config_options({})\n"
        "print(json.dumps({'fedsim': fedsim.__file__, 'fedsim_app': fedsim_app.__file__,\n"
        "  'script': str(launch.MAIN_SCRIPT), 'path': sys.path,\n"
        "  'watcher': config.get_option('server.fileWatcherType'),\n"
        "  'upload': config.get_option('server.maxUploadSize'),\n"
        "  'toolbar': config.get_option('client.toolbarMode'),\n"
        "  'stats': config.get_option('browser.gatherUsageStats'),\n"
        "  'gc': config.get_option('runner.postScriptGC')}))\n")
    r = _run([str(py), "-c", probe], cwd=tmp_path, env=_clean_env())
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("fedsim", "fedsim_app", "script"):
        assert pathlib.Path(got[key]).is_relative_to(installed), (key, got[key])
    assert not [p for p in got["path"] if p and pathlib.Path(p).resolve() == ROOT], got["path"]
    # fedsim_app/server/.streamlit/config.toml is read from inside the installed package
    assert (got["watcher"], got["upload"], got["toolbar"], got["stats"], got["gc"]) == \
        ("none", 20, "minimal", False, False), got
    assert (installed / "bin" / "fedsim-playground").is_file()


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium at /usr/bin/chromium "
                    "(CI installs it with `apt-get install chromium`)")
def test_the_installed_command_serves_the_app_and_stops_cleanly(installed, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    empty = tmp_path / "cwd"
    empty.mkdir()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(installed / "bin" / "fedsim-playground"), "--headless", "--host", "127.0.0.1",
             "--port", str(port)], cwd=empty, stdout=out, stderr=subprocess.STDOUT,
            env=_clean_env())
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.time() < deadline, "no /_stcore/health = ok after 60 s\n" + log.read_text()
            time.sleep(0.3)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                        headless=True)
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.set_default_timeout(60_000)
            # The very first request is a deep link (no root pages/ folder is installed).
            page.goto(f"{base}/training?data=2d&clients=4&rounds=8&seed=1&samples=400")
            page.get_by_text("Round 00/08", exact=True).wait_for(state="visible",
                                                                 timeout=90_000)
            # ... routed by st.navigation with no "Page not found" dialog over it (which would
            # make the buttons inert: see fedsim_app/launch.py)
            page.get_by_role("button", name="Next round").click(timeout=20_000)
            page.get_by_text("Round 01/08", exact=True).wait_for(timeout=60_000)
            assert page.locator("[data-testid=stDialog]").count() == 0
            page.goto(f"{base}/?lang=en")
            page.get_by_role("heading", name="Federated learning, step by step").wait_for()
            page.wait_for_function("document.title.startsWith('fedsim')")  # page_title
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = "killed after 30 s"
    text = log.read_text()
    assert code == 0, text
    assert "fedsim playground: http://127.0.0.1:" in text, text
    for bad in ("FATAL", "terminate called", "Traceback"):
        assert bad not in text, text
