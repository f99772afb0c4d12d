"""Strict, bounded JSON for configuration files and uploads, and strict JSON output.

``json.loads`` alone is not safe for input a student or a share link controls:

- it reads whatever it is given (``--config /dev/zero`` never ends, a FIFO with no writer
  blocks forever), so :func:`read_file` reads at most :data:`MAX_BYTES` plus one chunk, waits
  at most :data:`PIPE_TIMEOUT_S` for a FIFO, pipe or device, and :func:`loads` refuses
  anything larger;
- it recurses once per nesting level (100,000 ``[`` raise ``RecursionError``), so the nesting
  depth is measured first, without recursion, and capped at :data:`MAX_DEPTH`;
- it turns a 5,000-digit integer into ``ValueError`` (Python's digit limit) and a 400-digit one
  into an ``int`` that overflows ``float()`` later; ``1e400`` becomes ``inf``; it accepts the
  non-JSON tokens ``NaN`` and ``Infinity``; and with duplicate keys the last one silently wins.
  All of these are rejected here, naming the field where the value sits.

Every failure is a :class:`~fedsim.errors.ConfigError` (one line, value truncated). Nothing else
escapes :func:`loads` (a Hypothesis fuzz test feeds it random and mutated bytes).

:func:`dumps` is the output side: strict JSON (``allow_nan=False``), with any non-finite float
written as ``null`` — never the ``NaN``/``Infinity`` tokens other JSON readers reject.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from fedsim.errors import ConfigError, short

#: Largest configuration accepted, in bytes. A full configuration is ~1.5 kB.
MAX_BYTES = 256 * 1024
#: Deepest nesting accepted. A configuration is 3 levels deep.
MAX_DEPTH = 32
#: Longest integer literal accepted (digits). Seeds are at most 10 digits.
MAX_INT_DIGITS = 20

# A JSON string (with escapes), or one bracket; used to measure nesting without recursion.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


class _Bad:
    """A placeholder the parser hooks leave where a value cannot be accepted; :func:`_check`
    finds it and reports it with the field's dotted path."""

    __slots__ = ("value", "allowed")

    def __init__(self, value: str, allowed: str):
        self.value = value
        self.allowed = allowed


class _DupDict(dict):
    """An object in which a key appeared twice (``dup`` names it)."""

    dup: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    dup = None
    for k, v in pairs:
        if k in out and dup is None:
            dup = k
        out[k] = v
    if dup is None:
        return out
    d = _DupDict(out)
    d.dup = dup
    return d


def _parse_int(text: str) -> Any:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Bad(f"a {digits:,}-digit integer ({text[:12]}…)",
                    f"an integer of at most {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> Any:
    value = float(text)
    if not math.isfinite(value):  # 1e400 → inf
        shown = text if len(text) <= 24 else text[:20] + "…"
        return _Bad(f"{shown} (too large for a 64-bit float)",
                    "a number between -1.8e308 and 1.8e308")
    return value


def _parse_constant(name: str) -> Any:  # NaN, Infinity, -Infinity: not JSON
    return _Bad(name, "a finite number (NaN and Infinity are not JSON)")


def nesting_depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting in ``text``, strings skipped (no recursion)."""
    depth = best = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            best = max(best, depth)
        elif tok in "]}":
            depth -= 1
    return best


def _where(path: str) -> str:
    return path or "(top level)"


def _check(value: Any, path: str = "") -> None:
    """Raise for the first placeholder or duplicate key (depth is already bounded)."""
    if isinstance(value, _Bad):
        raise ConfigError(_where(path), value.value, value.allowed,
                          message=f"{_where(path)}: got {value.value}; allowed: {value.allowed}")
    if isinstance(value, dict):
        if isinstance(value, _DupDict):
            key = f"{path}.{value.dup}" if path else value.dup
            raise ConfigError(key, value[value.dup], "each key once per object",
                              message=f"{short(key, text=True)}: duplicate key; allowed: each "
                                      "key once per object (which one did you mean?)")
        for k, v in value.items():
            _check(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]")


def loads(data: str | bytes | bytearray, *, what: str = "the configuration",
          max_bytes: int = MAX_BYTES) -> Any:
    """Parse ``data`` as strict JSON within the bounds above; ConfigError otherwise."""
    def fail(msg: str) -> ConfigError:
        return ConfigError("", "(file)", "a JSON object", message=f"{what} {msg}")

    if isinstance(data, (bytes, bytearray)):
        if len(data) > max_bytes:
            raise fail(f"is too large: more than {max_bytes:,} bytes (a configuration is "
                       "usually under 2 kB)")
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise fail(f"is not UTF-8 text (byte {exc.start})") from None
    elif isinstance(data, str):
        text = data
        if len(text) > max_bytes:
            raise fail(f"is too large: more than {max_bytes:,} characters")
    else:
        raise fail(f"must be text, not {type(data).__name__}")
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise fail(f"is nested {depth:,} levels deep; allowed: at most {MAX_DEPTH}")
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_int=_parse_int,
                           parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise fail(f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                   ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # pragma: no cover - bounded above
        raise fail(f"could not be read as JSON ({type(exc).__name__})") from None
    _check(value)
    return value


#: Longest wait for a FIFO, pipe or terminal named as a file to deliver its bytes (seconds).
PIPE_TIMEOUT_S = 5.0
_CHUNK = 64 * 1024  # a multiple of 8: /proc/self/pagemap refuses other read sizes (EINVAL)


def read_file(path: str, *, flag: str = "--config", max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of ``path``, reading at most ``max_bytes`` + one chunk.

    Every failure is a :class:`ConfigError` naming ``flag`` and the path (an ``OSError`` such
    as ``/proc/self/pagemap``'s EINVAL used to surface as a bare "Invalid argument"). The file
    is opened with ``O_NONBLOCK``, so a FIFO with no writer does not block ``open()``; a FIFO,
    pipe or device (``<(jq ...)``, ``/dev/stdin``) is then read with a deadline of
    :data:`PIPE_TIMEOUT_S` seconds, so nothing named on the command line can hang the CLI;
    ``/dev/zero`` stops at the size limit.
    """
    import select
    import stat
    import time

    shown = short(path)

    def cannot(why: str) -> ConfigError:
        return ConfigError(flag, path, "a readable JSON file",
                           message=f"{flag}: cannot read {shown}: {why}; allowed: a readable "
                                   "JSON file")

    chunks: list[bytes] = []
    total = 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise cannot(exc.strerror or str(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(flag, path, "a JSON file",
                              message=f"{flag}: {shown} is a folder; allowed: a JSON file")
        regular = stat.S_ISREG(mode)
        if regular:
            os.set_blocking(fd, True)  # a regular file never blocks; read it plainly
        deadline = time.monotonic() + PIPE_TIMEOUT_S
        while total <= max_bytes:
            if not regular:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    kind = "FIFO or pipe" if stat.S_ISFIFO(mode) else "device"
                    raise cannot(f"it is a {kind} that did not finish within "
                                 f"{PIPE_TIMEOUT_S:g} s")
            try:
                chunk = os.read(fd, _CHUNK)
            except BlockingIOError:  # readable, then drained by someone else: wait again
                continue
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise cannot(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise ConfigError(flag, path, f"at most {max_bytes:,} bytes",
                          message=f"{flag}: {shown} is too large: more than {max_bytes:,} bytes "
                                  "(a configuration is usually under 2 kB)")
    return b"".join(chunks)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs) -> str:
    """Strict JSON text: non-finite floats become ``null``; NaN/Infinity tokens never appear."""
    return json.dumps(_finite(value), allow_nan=False, **kwargs)
