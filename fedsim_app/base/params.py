"""The configuration as short, readable URL query parameters (TF Playground's shareable state).

Only values that differ from the defaults go into the link, so a link stays short:
``?data=2d&clients=4&split=dirichlet&alpha=0.1&seed=7``. Common fields have short aliases
(``ALIASES``); every other field uses its dotted path (``privacy.dp.clip=0.5``), so *any*
configuration, including ones loaded from a file or a preset, survives a link.

Pure functions, no Streamlit: :func:`encode` (config → dict of strings) and :func:`decode`
(strings → config plus a list of problems, never an exception).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Mapping

from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError

#: short URL key → dotted configuration path. Order = order in the URL.
ALIASES: dict[str, str] = {
    "seed": "seed",
    "rounds": "rounds",
    "data": "dataset.name",
    "shape": "dataset.shape",
    "samples": "dataset.num_samples",
    "noise": "dataset.noise",
    "test": "dataset.test_fraction",
    "val": "dataset.val_fraction",
    "clients": "clients.num_clients",
    "frac": "clients.fraction",
    "drop": "clients.dropout",
    "malicious": "clients.malicious.ids",
    "attack": "clients.malicious.attack",
    "split": "partition.name",
    "alpha": "partition.alpha",
    "classes": "partition.classes_per_client",
    "shards": "partition.shards_per_client",
    "sigma": "partition.sigma",
    "shift": "partition.feature_shift",
    "fnoise": "partition.feature_noise",
    "model": "model.name",
    "hidden": "model.hidden",
    "epochs": "training.local_epochs",
    "batch": "training.batch_size",
    "lr": "training.lr",
    "opt": "training.optimizer",
    "mu": "training.prox_mu",
    "agg": "aggregation.name",
    "weighted": "aggregation.weighted",
    "sopt": "aggregation.server_optimizer",
    "slr": "aggregation.server_lr",
    "trim": "aggregation.trim_fraction",
    "krum_f": "aggregation.krum_byzantine",
    "dp": "privacy.dp.mode",
    "clip": "privacy.dp.clip",
    "z": "privacy.dp.noise_multiplier",
    "eps": "privacy.dp.target_epsilon",
    "secagg": "privacy.secure_aggregation.enabled",
    "he": "privacy.he.scheme",
    "zkp": "privacy.zkp.enabled",
    "adaptive": "privacy.dp.adaptive_clip",
    "quantile": "privacy.dp.target_quantile",
    "delta": "privacy.dp.delta",
    "threshold": "privacy.secure_aggregation.threshold",
    "neighbors": "privacy.secure_aggregation.neighbors",
    "saclip": "privacy.secure_aggregation.clip",
    "hebits": "privacy.he.key_bits",
    "helayer": "privacy.he.layer",
    "bound": "privacy.zkp.bound",
    "coords": "privacy.zkp.coordinates",
    "factor": "clients.malicious.factor",
}
PATH_TO_KEY = {v: k for k, v in ALIASES.items()}
#: Query parameters that belong to the app or Streamlit, not to the configuration.
#: ``lang``: the language; ``hide``, ``present``: classroom mode; ``lesson``, ``step``: where a
#: lesson is (see fedsim_app/base/course.py).
RESERVED = frozenset({"embed", "embed_options", "lang", "hide", "present", "lesson", "step",
                      "class", "teacher", "start"})  # the last three: a live class (base/live_session.py)

_DEFAULT = SimulationConfig()


def _leaf_types(cls: type, prefix: str = "") -> dict[str, Any]:
    """Dotted path → type hint for every leaf field of a config dataclass tree."""
    out: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out.update(_leaf_types(hint, path + "."))
        else:
            out[path] = hint
    return out


LEAF_TYPES: dict[str, Any] = _leaf_types(SimulationConfig)


def flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def unflatten(flat: Mapping[str, Any]) -> dict:
    """``{"a.b": 1}`` → ``{"a": {"b": 1}}``."""
    out: dict = {}
    for path, v in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v
    return out


def get_path(cfg: SimulationConfig, path: str) -> Any:
    obj: Any = cfg
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def with_changes(cfg: SimulationConfig, changes: Mapping[str, Any]) -> SimulationConfig:
    """A validated copy of ``cfg`` with dotted-path ``changes`` applied (raises ConfigError)."""
    flat = flatten(cfg.to_dict())
    for path, v in changes.items():
        if path not in LEAF_TYPES:
            raise ConfigError(path, v, "a known configuration field")
        flat[path] = list(v) if isinstance(v, tuple) else v
    return SimulationConfig.from_dict(unflatten(flat))


def key_for(path: str) -> str:
    return PATH_TO_KEY.get(path, path)


def format_value(v: Any) -> str:
    """Shortest readable text for a value: 0.1, 100, true, 3,5, none."""
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        s = repr(v)
        return s[:-2] if s.endswith(".0") else s
    if isinstance(v, (list, tuple)):
        return ",".join(format_value(x) for x in v)
    return str(v)


#: Fields a share link may neither carry nor set: a path names a file on the server.
PRIVATE_PATHS = frozenset({"dataset.path"})


def encode(cfg: SimulationConfig) -> dict[str, str]:
    """Query parameters for ``cfg``: only fields that differ from the defaults."""
    mine, default = flatten(cfg.to_dict()), flatten(_DEFAULT.to_dict())
    out = {}
    ordered = list(ALIASES.values()) + [p for p in mine if p not in PATH_TO_KEY]
    for path in ordered:
        if path in PRIVATE_PATHS:
            continue  # a file on this server: meaningless (and not shareable) elsewhere
        if mine[path] != default[path]:
            out[key_for(path)] = format_value(mine[path])
    return out


def _parse(path: str, text: str, hint: Any) -> Any:
    """Text from a URL → a value of the field's type (ConfigError naming the field if not)."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if text.strip().lower() in ("none", "null", ""):
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint)
    if origin is tuple:
        (elem,) = typing.get_args(hint)[:1]
        return [_parse(path, x, elem) for x in text.split(",") if x.strip()]
    try:
        if hint is bool:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if hint is int:
            f = float(text)
            if not f.is_integer():
                raise ValueError(text)
            return int(f)
        if hint is float:
            return float(text)
    except ValueError:
        kind = {bool: "true or false", int: "an integer", float: "a number"}[hint]
        raise ConfigError(path, text, kind) from None
    return text


def decode(params: Mapping[str, str]) -> tuple[SimulationConfig, list[str]]:
    """Configuration from query parameters, plus human-readable problems (never raises).

    Unknown keys are ignored (reported); a value that fails validation is dropped (reported,
    with the ConfigError message) and the rest of the link still applies.
    """
    problems: list[str] = []
    flat: dict[str, Any] = {}
    for key, text in params.items():
        if key in RESERVED:
            continue
        path = ALIASES.get(key, key)
        hint = LEAF_TYPES.get(path)
        if hint is None:
            problems.append(f"unknown:{key}")
            continue
        if path in PRIVATE_PATHS:  # a link must never make the server open a file
            problems.append(f"unknown:{key}")
            continue
        try:
            flat[path] = _parse(path, str(text), hint)
        except ConfigError as exc:
            problems.append(str(exc))
    # Validate; drop the field a ConfigError names and retry, so one bad value does not cost
    # the whole link. A combination error may name a field the link did not set: then drop
    # the link's fields one by one from the end.
    for _ in range(len(flat) + 1):
        try:
            base = flatten(_DEFAULT.to_dict())
            base.update(flat)
            return SimulationConfig.from_dict(unflatten(base)), problems
        except ConfigError as exc:
            problems.append(str(exc))
            victim = exc.field if exc.field in flat else next(reversed(flat))
            flat.pop(victim)
    return _DEFAULT, problems  # pragma: no cover - the loop always ends with an empty dict


def share_url(base: str, cfg: SimulationConfig, extra: Mapping[str, str] | None = None) -> str:
    """``base`` (the app's address, without a query) plus the encoded configuration and the
    ``extra`` app parameters (``lang``, classroom flags: keys of :data:`RESERVED`)."""
    from urllib.parse import urlencode

    q = urlencode({**encode(cfg), **{k: v for k, v in (extra or {}).items()
                                     if k in RESERVED and v}}, safe=",")
    if q and "/" not in base.split("://", 1)[-1]:
        base += "/"  # http://host:8501/?seed=1, not http://host:8501?seed=1
    return f"{base}?{q}" if q else base
