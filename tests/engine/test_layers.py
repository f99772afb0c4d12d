"""The import contract: fedsim's layers and the app's parts import only downward, with no
circles (an AST walk over every module, imports inside functions included; imports under
``if TYPE_CHECKING:`` are annotations only and do not count)."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Bottom to top. A module may import modules of its own layer or any layer below it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("shared values", ("fedsim.errors", "fedsim.rng", "fedsim.reports", "fedsim.weights",
                       "fedsim.jsonio")),
    ("configuration", ("fedsim.config",)),
    ("scenarios and output files", ("fedsim.presets", "fedsim.outputs")),
    ("data", ("fedsim.data",)),
    ("training", ("fedsim.training",)),
    ("privacy", ("fedsim.privacy",)),
    ("engine", ("fedsim.engine",)),
    ("tools", ("fedsim.tools",)),
    ("flower bridge", ("fedsim.flower",)),
    ("command line and the package's face", ("fedsim.cli", "fedsim.__main__", "fedsim")),
    ("app: text", ("fedsim_app.i18n",)),
    ("app: base", ("fedsim_app.base",)),
    ("app: pages", ("fedsim_app.pages",)),
    ("app: frame", ("fedsim_app.frame", "fedsim_app.launch", "fedsim_app.__main__",
                    "fedsim_app")),
]


def layer_of(module: str) -> int:
    """The layer of ``module``: the longest matching prefix wins."""
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    if rank < 0:
        raise AssertionError(f"{module}: in no layer; add it to LAYERS (and to the README)")
    return rank


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, pathlib.Path]:
    out = {}
    for pkg in ("fedsim", "fedsim_app"):
        for p in (ROOT / pkg).rglob("*.py"):
            if "app_template" in p.parts:  # the exported Flower app: its own package
                continue
            out[module_name(p)] = p
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports(name: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: resolve against this module's package
                    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = base[:len(base) - child.level + 1]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                for a in child.names:  # "from pkg import submodule" imports the submodule
                    found.add(f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod)
            visit(child)

    visit(tree)
    return {m for m in found if m.split(".")[0] in ("fedsim", "fedsim_app") and m != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: {m for m in imports(name, p, known) if m in known}
            for name, p in mods.items()}


def test_every_module_is_in_a_layer(graph):
    for name in graph:
        layer_of(name)


def test_imports_only_go_down(graph):
    upward = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
              for a, deps in graph.items() for b in deps if layer_of(b) > layer_of(a)]
    assert not upward, "imports that run back up:\n" + "\n".join(sorted(upward))


def test_no_page_imports_another_page(graph):
    def page(m):
        parts = m.split(".")
        return parts[2] if m.startswith("fedsim_app.pages.") and len(parts) > 2 else None
    bad = [f"{a} imports {b}" for a, deps in graph.items() for b in deps
           if page(a) and page(b) and page(a) != page(b)]
    assert not bad, "pages share code through fedsim_app.base, not each other:\n" + "\n".join(bad)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, or None (iterative DFS with colours)."""
    colour = {n: 0 for n in graph}
    for start in sorted(graph):
        if colour[start]:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour.get(nxt) == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def test_no_circles(graph):
    # Package faces (__init__) re-export from their own modules; an edge from a module to its
    # own package's face is the face, not a circle of code.
    trimmed = {a: {b for b in deps if not a.startswith(b + ".")} for a, deps in graph.items()}
    cycle = find_cycle(trimmed)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_checker_finds_what_it_must():
    """The checks above can fail: a circle and an upward import are found."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("fedsim.engine.phases") > layer_of("fedsim.privacy.base")
    assert layer_of("fedsim.config.rules") < layer_of("fedsim.data.load")
