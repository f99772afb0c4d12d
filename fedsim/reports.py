"""Typed, frozen measurement reports (what a phase or a mechanism measured).

Modelled on TFF's measured processes: every hook returns a report whose fields are declared,
so the app reads ``report.epsilon`` (or ``report["epsilon"]``) instead of guessing dict keys,
and nested reports serialize to the run JSON with :meth:`Report.to_dict`. A report is also a
read-only ``Mapping`` over its fields, so the JSON layout and older readers keep working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Iterator


class Report(Mapping):
    """Base class for frozen dataclass reports. Subclasses are ``@dataclass(frozen=True)``."""

    def _names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)]

    def __getitem__(self, key: str) -> Any:
        if key in self._names():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(n for n in self._names() if getattr(self, n) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._names() and getattr(self, key) is not None

    def to_dict(self) -> dict:
        """Fields that are set (``None`` left out), nested reports as dicts."""
        out = {}
        for n in self:
            v = getattr(self, n)
            out[n] = v.to_dict() if isinstance(v, Report) else v
        return out

    # dataclass(frozen=True) generates __eq__/__hash__ per subclass; Mapping's would compare
    # items, which is also fine, but we keep the dataclass ones.
