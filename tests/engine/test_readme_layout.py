"""The documentation names what is in the tree, and nothing that is not.

- README.md's Layout section lists every top-level folder of ``fedsim/`` and ``fedsim_app/``
  and every top-level module of ``fedsim/``: a new folder or module fails here until the
  README says what it is.
- Every path that README.md or ``docs/*.md`` writes in backticks under ``fedsim/``,
  ``fedsim_app/``, ``tests/``, ``bench/``, ``pages/``, ``docs/`` or ``assets/``, and every
  relative Markdown link (with its ``#heading``), exists, so the documentation cannot go
  stale when code moves.
  ``<name>`` in a path is a placeholder and matches any one path part.
"""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))

#: Nested inside fedsim/flower/ anyway; it is the exported Flower App's own package.
NOT_LISTED = {"fedsim/flower/app_template"}
#: Top-level folders whose paths the documentation may name (checked to exist).
CHECKED_ROOTS = ("fedsim", "fedsim_app", "tests", "bench", "pages", "docs", "assets")


def _is_package(folder: pathlib.Path) -> bool:
    """A folder with an ``__init__.py``, or with Python modules anywhere below it (a namespace
    package such as ``fedsim_app/base/``)."""
    if (folder / "__init__.py").is_file():
        return True
    return any("__pycache__" not in p.parts for p in folder.rglob("*.py"))


def top_level_folders(package: str) -> list[str]:
    """``fedsim/data/``-style names of the package folders directly inside ``package``."""
    out = []
    for d in sorted((ROOT / package).iterdir()):
        rel = f"{package}/{d.name}"
        if not d.is_dir() or d.name == "__pycache__" or d.name.startswith(".") \
                or rel in NOT_LISTED or not _is_package(d):
            continue
        out.append(rel + "/")
    return out


def top_level_modules(package: str) -> list[str]:
    return [f"{package}/{p.name}" for p in sorted((ROOT / package).glob("*.py"))
            if p.name not in ("__init__.py", "__main__.py")]


def section(text: str, heading: str) -> str:
    """The text between ``## heading`` and the next ``## `` heading."""
    m = re.search(rf"^## {re.escape(heading)}[ \t]*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"README.md has no '## {heading}' section"
    return m.group(1)


def test_layout_names_every_top_level_folder_and_module():
    layout = section(README.read_text(encoding="utf-8"), "Layout")
    wanted = (top_level_folders("fedsim") + top_level_folders("fedsim_app")
              + top_level_modules("fedsim"))
    assert "fedsim/data/" in wanted and "fedsim_app/base/" in wanted, wanted  # the finder works
    missing = [name for name in wanted if f"`{name}`" not in layout]
    assert not missing, ("README.md's Layout section does not name "
                         + ", ".join(missing) + " (write each as `fedsim/<name>/`)")


# ----------------------------------------------------------------------- no stale paths
_PATH = re.compile(r"`((?:%s)/[^`\s]*)`" % "|".join(CHECKED_ROOTS))
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _exists(path: str) -> bool:
    """``path`` (relative to the checkout) exists; ``<x>`` and ``*`` match one path part."""
    pattern = re.sub(r"<[^>/]+>", "*", path.rstrip("/"))
    if "*" in pattern:
        return any(True for _ in ROOT.glob(pattern))
    return (ROOT / pattern).exists()


def _doc_files() -> list[pathlib.Path]:
    return [README, *DOCS]


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_the_docs_name_exists(doc):
    text = doc.read_text(encoding="utf-8")
    stale = sorted({p for p in _PATH.findall(text) if not _exists(p)})
    assert not stale, f"{doc.relative_to(ROOT)} names paths that do not exist: {stale}"


def anchors(doc: pathlib.Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings (lower case, punctuation dropped,
    spaces as hyphens)."""
    out = set()
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
    for m in re.finditer(r"^#{1,6} +(.+?) *$", text, re.M):
        title = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
        out.add(title.replace(" ", "-"))
    return out


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    text = doc.read_text(encoding="utf-8")
    bad = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # a URL (https:, mailto:)
        file, _, anchor = target.partition("#")
        path = doc if not file else doc.parent / file
        if not path.exists():
            bad.append(target)
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            bad.append(target)
    assert not bad, f"{doc.relative_to(ROOT)} links to missing files or headings: {bad}"


def test_the_path_checks_can_fail():
    """The checks above would notice a stale path or an unlisted folder."""
    assert _exists("fedsim/engine/phases.py")
    assert _exists("fedsim_app/pages/<name>/page.py")
    assert not _exists("fedsim/attacks/")
    assert not _exists("fedsim/privacy/<name>/nothing.py")
    assert _PATH.findall("see `fedsim/config.py` and `fedsim_app/base/`") == [
        "fedsim/config.py", "fedsim_app/base/"]
    assert "fedsim/engine/" in top_level_folders("fedsim")
    assert "fedsim/flower/app_template/" not in top_level_folders("fedsim")
    assert "fedsim/cli.py" in top_level_modules("fedsim")
    assert "classroom-limits" in anchors(ROOT / "docs" / "performance.md")
