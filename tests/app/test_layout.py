"""The app's layout, read as source: thin pages, one root entry per page, no engine internals.

These were ``tests/engine/test_engine_core.py``'s checks of ``ui/`` and ``pages/``; they read
every file of the app package now (``fedsim_app/``, its article pseudo-code excepted) and the
root entry scripts.
"""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def app_sources() -> list[pathlib.Path]:
    package = [p for p in sorted((ROOT / "fedsim_app").rglob("*.py")) if "assets" not in p.parts]
    return [*package, *sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py"]


def test_app_never_touches_payloads_or_random_streams():
    """The app reads reports, records and ``explain`` hooks: never a mechanism's payload, and
    never the engine's random streams (re-deriving them would tie the UI to engine internals)."""
    bad = re.compile(r"\.payload\b|fedsim\.rng|from fedsim import rng|\bgenerator\(|tf_seed|"
                     r"int_seed|seed_sequence")
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
            for p in app_sources()
            for i, line in enumerate(p.read_text().splitlines(), 1) if bad.search(line)]
    assert not hits, "\n".join(hits)
    assert len(app_sources()) > 40  # the scan reads the package, not an empty folder


def test_pages_are_thin():
    sizes = {p.parent.name: len(p.read_text().splitlines())
             for p in (ROOT / "fedsim_app" / "pages").glob("*/page.py")}
    from fedsim_app.frame import PAGES

    assert len(sizes) == len(PAGES) and all(n <= 160 for n in sizes.values()), sizes


def test_every_page_has_a_root_entry_that_runs_the_frame():
    """A cold deep link (/training) runs ``pages/training.py``: it must exist for every page
    and run the whole frame (see :mod:`fedsim_app.frame`)."""
    from fedsim_app.frame import PAGES

    entries = {p.stem: p.read_text() for p in (ROOT / "pages").glob("*.py")}
    assert set(entries) == {p.url_path for p in PAGES}
    for src in [*entries.values(), (ROOT / "app.py").read_text()]:
        code = [line for line in src.splitlines() if line and not line.startswith(('"', " "))]
        assert code[-2:] == ["from fedsim_app.frame import run", "run()"], src
