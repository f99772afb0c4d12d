"""The configuration's JSON Schema (draft 2020-12), from the same field declarations the
validator checks; ``python -m fedsim schema`` prints it, so an editor can check a file as it
is typed."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing

from fedsim.config.fields import Section
from fedsim.config.sections import SimulationConfig


def config_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a configuration file, from the same field
    declarations the validator checks (``python -m fedsim schema`` prints it)."""

    def leaf(hint, f) -> dict:
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(hint) if a is not type(None)][0]
            return {"anyOf": [leaf(inner, f), {"type": "null"}]}
        if isinstance(hint, type) and issubclass(hint, Section):
            return section(hint)
        if origin is tuple:
            (elem,) = typing.get_args(hint)[:1]
            return {"type": "array", "items": leaf(elem, f)}
        out: dict = {"type": {bool: "boolean", int: "integer", float: "number",
                              str: "string"}[hint]}
        meta = f.metadata
        if "choices" in meta:
            out["enum"] = list(meta["choices"])
        if meta.get("lo") is not None:
            out["exclusiveMinimum" if meta["lo_open"] else "minimum"] = meta["lo"]
        if meta.get("hi") is not None:
            out["exclusiveMaximum" if meta["hi_open"] else "maximum"] = meta["hi"]
        return out

    def section(cls) -> dict:
        hints = typing.get_type_hints(cls)
        props = {}
        for f in dataclasses.fields(cls):
            p = leaf(hints[f.name], f)
            if f.default is not dataclasses.MISSING:
                p["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
            if f.metadata.get("doc"):
                p["description"] = f.metadata["doc"]
            props[f.name] = p
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        return {"type": "object", "description": " ".join(doc.split()),
                "properties": props, "additionalProperties": False}

    out = section(SimulationConfig)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "fedsim simulation configuration"
    return out


def main(argv: list[str] | None = None) -> int:
    json.dump(config_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
