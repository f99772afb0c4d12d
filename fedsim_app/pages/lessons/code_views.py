""""Show the code": the article's pseudo-code beside the code fedsim really runs for that step.

The engine's side is read from fedsim's own source files with :mod:`ast`, function by function,
so it can never drift from what runs (a test checks it equals ``inspect.getsource``). It is read
without importing the engine, because importing ``fedsim.training.trainer`` loads TensorFlow
(seconds) and the Lessons page must paint without it. The article's side is in
``fedsim_app/assets/article/`` (a test checks every line is in the article). What the article
gets wrong is said in the catalogue (``code.<id>.wrong``), in the student's language.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import pathlib
import textwrap
from dataclasses import dataclass

#: The folder that holds the ``fedsim`` package (found, not imported).
ROOT = pathlib.Path(importlib.util.find_spec("fedsim").origin).resolve().parents[1]
ARTICLE_DIR = pathlib.Path(__file__).resolve().parents[2] / "assets" / "article"


@dataclass(frozen=True)
class CodeView:
    """One step: the article's excerpt (a file in ``ARTICLE_DIR``) and the engine functions
    (``"module:Qual.name"``) that do it, in the order they run."""

    id: str
    article: str | None
    engine: tuple[str, ...]


VIEWS: dict[str, CodeView] = {v.id: v for v in (
    CodeView("init", "init.py", ("fedsim.training.models:build_keras_model",)),
    CodeView("localize", "localize.py", ("fedsim.data.partition:partition_pool",)),
    CodeView("train", "train.py", ("fedsim.engine.phases:train",
                                   "fedsim.training.trainer:VectorizedTrainer._stacked_grads")),
    CodeView("aggregate", "aggregate.py", ("fedsim.engine.aggregators:WeightedMean",
                                           "fedsim.engine.phases:aggregate")),
    CodeView("update", "update.py", ("fedsim.engine.server_opt:server_update",)),
    CodeView("evaluate", "evaluate.py", ("fedsim.engine.phases:evaluate",)),
    CodeView("clip_noise", "noise.py", ("fedsim.privacy.dp:clip_rows",
                                        "fedsim.privacy.dp:CentralDP.server")),
    CodeView("mask", None, ("fedsim.privacy.secagg:prg",
                            "fedsim.privacy.secagg:SecureAggregation.client")),
    CodeView("encrypt", "encrypt.py", ("fedsim.privacy.he:HomomorphicEncryption.client",)),
    CodeView("prove", "prove.py", ("fedsim.privacy.zkp.range_proof:prove_coordinate",)),
    CodeView("robust", None, ("fedsim.engine.aggregators:Median", "fedsim.engine.aggregators:NormBounded")),
)}


def module_path(module: str) -> pathlib.Path:
    """``fedsim.privacy.dp`` → its file (found without importing it)."""
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


@functools.lru_cache(maxsize=64)
def engine_source(target: str) -> str:
    """The source of ``"module:Qual.name"`` (decorators included, dedented), read with ast.

    Raises KeyError if the function or class is not in the module: a rename breaks the test,
    not the page silently.
    """
    module, qual = target.split(":")
    text = module_path(module).read_text(encoding="utf-8")
    node: ast.AST = ast.parse(text)
    for part in qual.split("."):
        found = [n for n in ast.iter_child_nodes(node)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                 and n.name == part]
        if not found:
            raise KeyError(f"{target}: no {part!r} in {module}")
        node = found[0]
    lines = text.splitlines(keepends=True)
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return textwrap.dedent("".join(lines[first - 1:node.end_lineno]))


def engine_location(target: str) -> str:
    """``fedsim/engine/phases.py · train`` (what the code box is captioned with)."""
    module, qual = target.split(":")
    return f"{module.replace('.', '/')}.py · {qual}"


@functools.lru_cache(maxsize=16)
def article_source(view_id: str) -> str | None:
    view = VIEWS[view_id]
    if view.article is None:
        return None
    return (ARTICLE_DIR / view.article).read_text(encoding="utf-8")
