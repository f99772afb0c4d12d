"""Errors that fedsim raises on purpose.

Every message names the field, the offending value and what is allowed, so the CLI can print
it as one line (exit code 2) and the app can show it in ``st.error`` without a traceback.
"""

from __future__ import annotations

#: Longest value shown inside a message, and longest message (characters). A 5 MB upload's
#: 700,000-element list must not come back as a 5 MB error line.
MAX_VALUE_CHARS = 80
MAX_MESSAGE_CHARS = 400


def short(value: object, limit: int = MAX_VALUE_CHARS, *, text: bool = False) -> str:
    """``repr(value)`` (``str`` with ``text=True``) cut to about ``limit`` characters, saying
    how long it was: ``'xxxxxxx…' (1,002 characters)``."""
    try:
        s = str(value) if text else repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        s = f"<{type(value).__name__}>"
    if len(s) <= limit:
        return s
    close = s[-1] if not text and s[-1] in "'\"])}" else ""
    return f"{s[:max(limit - 2, 1)]}…{close} ({len(s):,} characters)"


def clip(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message cut in the middle to ``limit`` characters (the end often says what is allowed)."""
    message = " ".join(str(message).split())  # one line
    if len(message) <= limit:
        return message
    head = limit * 2 // 3
    tail = limit - head - 3
    return f"{message[:head]} … {message[-tail:]}"


class FedsimError(Exception):
    """Base class for every error fedsim raises deliberately.

    ``str()`` of every fedsim error is one line of at most :data:`MAX_MESSAGE_CHARS`
    characters, whatever value it echoes. ``code`` names the kind of error and
    :meth:`fields` gives its parts as data, so an app can word the message in the user's
    language (the CLI prints ``str()``, in English).
    """

    code = "error"

    def fields(self) -> dict:
        """The parts of the message as data (always ``code`` and ``message``)."""
        return {"code": self.code, "message": str(self)}

    def __str__(self) -> str:
        return clip(super().__str__())


class ConfigError(FedsimError, ValueError):
    """A configuration value is missing, of the wrong type, out of range or unknown.

    Attributes
    ----------
    field:
        Dotted path of the offending field, e.g. ``"partition.alpha"`` ("" for the whole file).
    value:
        The value that was rejected.
    allowed:
        A short description of what is allowed.
    rule, params:
        What ``allowed`` says, as data, where it is one of the common rules: ``"choice"``
        (``params["choices"]``), ``"range"`` (``params["interval"]``, e.g. ``"[1, 2000]"``),
        ``"finite"``; None for a rule only the English text states.
    """

    code = "config"

    def __init__(self, field: str, value: object, allowed: str, *, message: str | None = None,
                 rule: str | None = None, params: dict | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.rule = rule
        self.params = dict(params or {})
        if message is None:
            where = f"{field}: " if field else ""
            message = f"{where}got {short(value)}; allowed: {allowed}"
        super().__init__(message)

    def fields(self) -> dict:
        return {**super().fields(), "field": self.field, "value": short(self.value),
                "allowed": self.allowed, "rule": self.rule, **self.params}


class IncompatibleConfigError(ConfigError):
    """Two settings that are each valid cannot be combined (e.g. secure aggregation + median)."""

    code = "incompatible"


class PartitionError(ConfigError):
    """The data cannot be split as asked (e.g. too many clients for the data set)."""

    code = "partition"


class ProtocolError(FedsimError, RuntimeError):
    """A cryptographic protocol could not complete (e.g. too many clients dropped out)."""

    code = "protocol"


class DivergedError(FedsimError, ArithmeticError):
    """Training produced non-finite weights or loss (e.g. a learning rate far too large).

    Raised by the engine at the end of the phase that produced them; the round is rolled back,
    so the simulation keeps its last finite model. ``round`` and ``phase`` say where.
    """

    code = "diverged"

    def fields(self) -> dict:
        return {**super().fields(), "round": self.round, "phase": self.phase, "what": self.what}

    def __init__(self, round_: int, phase: str, what: str):
        self.round = round_
        self.phase = phase
        self.what = what
        super().__init__(f"training diverged in round {round_} ({phase}): {what} became "
                         "non-finite; lower training.lr or aggregation.server_lr")


class PhaseError(FedsimError, RuntimeError):
    """An unexpected exception inside a phase, wrapped so that it says where it happened.

    ``round`` and ``phase`` name the place; the original exception is ``__cause__``.
    """

    code = "phase"

    def fields(self) -> dict:
        return {**super().fields(), "round": self.round, "phase": self.phase,
                "cause": clip(f"{type(self.cause).__name__}: {self.cause}", 200)}

    def __init__(self, round_: int, phase: str, cause: BaseException):
        self.round = round_
        self.phase = phase
        self.cause = cause
        super().__init__(f"round {round_}, phase {phase!r}: {type(cause).__name__}: {cause}")


#: What to do when TensorFlow is missing: the one line the CLI, the app and the launcher say.
TENSORFLOW_MISSING = ("TensorFlow is not installed: pip install 'fedsim-playground[cpu]' "
                      "(Colab and Jupyter already have it)")


class MissingDependencyError(FedsimError, ImportError):
    """A package fedsim needs is not installed (TensorFlow: the ``cpu`` extra brings it).

    Also an :class:`ImportError`, so code that already handles a missing module still does.
    """

    code = "missing"
