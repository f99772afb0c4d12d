"""Engine errors in the user's language.

fedsim's errors carry a ``code`` and their parts as data (:meth:`fedsim.errors.FedsimError.fields`):
the field, the rejected value and, for the common rules (a choice, a range, a finite number, a
classroom cap), the rule itself. Those are worded here from the ``errors`` catalogue. English
keeps the engine's own sentence (the one the CLI prints, which tests pin). A rule the engine
states only in English free text is shown in that English, and the sentence around it says so.
"""

from __future__ import annotations

from fedsim.errors import FedsimError

from fedsim_app import i18n
from fedsim_app.i18n import t


def describe(exc: BaseException) -> str:
    """One line saying what went wrong, in this session's language (plain text)."""
    if i18n.current() == i18n.DEFAULT or not isinstance(exc, FedsimError):
        return str(exc) or type(exc).__name__
    f = {k: ("" if v is None else v) for k, v in exc.fields().items()}
    code, rule = f["code"], f.get("rule")
    if code in ("config", "limit") and rule in ("choice", "range", "finite", "limit"):
        return t(f"err.config.{rule}", **f)
    if code in ("config", "limit"):
        return t("err.config.other" if f.get("field") else "err.config.file", **f)
    if code in ("incompatible", "partition", "csv", "protocol", "diverged", "phase"):
        return t(f"err.{code}", **f)
    return t("err.other", **f)
