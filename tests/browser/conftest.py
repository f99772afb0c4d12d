"""What every browser test shares: a fresh app server per test module (served the way
``make run`` serves it: :func:`tests.support.serve.streamlit_server`) and one headless
Debian Chromium per module. A module that needs a different server (say, with an audit hook)
defines its own ``server`` fixture, which takes precedence."""

from __future__ import annotations

import pytest

from tests.support.serve import CHROMIUM_ARGS, find_chromium


@pytest.fixture(scope="module")
def server():
    """The base URL of a server nobody has visited yet (its log is in the temp folder)."""
    from tests.support.serve import streamlit_server

    try:
        with streamlit_server(timeout=90) as (base, _proc):
            yield base
    except RuntimeError as exc:  # it did not start: say so, with where its log is
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser():
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium at /usr/bin/chromium (CI installs it with apt-get)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
