"""The strict, bounded JSON loader: unit cases, and a byte-level Hypothesis fuzz in which only
fedsim's own errors may ever escape ``SimulationConfig.from_json``."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedsim import jsonio
from fedsim.config import SimulationConfig
from fedsim.errors import MAX_MESSAGE_CHARS, ConfigError, FedsimError, short

VALID = SimulationConfig.from_dict({"seed": 3, "rounds": 5, "clients": {"num_clients": 4},
                                    "partition": {"name": "dirichlet", "alpha": 0.3}})
VALID_BYTES = VALID.to_json().encode()


def test_a_valid_configuration_round_trips():
    assert SimulationConfig.from_json(VALID_BYTES) == VALID
    assert SimulationConfig.from_json(VALID.to_json(indent=None)) == VALID
    assert SimulationConfig.from_json(b"\xef\xbb\xbf" + VALID_BYTES) == VALID  # a UTF-8 BOM


def test_nesting_depth_skips_brackets_inside_strings():
    assert jsonio.nesting_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert jsonio.nesting_depth('"\\"[[["') == 0
    assert jsonio.nesting_depth("[" * 50) == 50


@pytest.mark.parametrize("text, field", [
    ('{"a": 1, "a": 2}', "a"),
    ('{"x": {"y": [1, {"z": 1, "z": 1}]}}', "x.y[1].z"),
])
def test_duplicate_keys_are_named_with_their_path(text, field):
    with pytest.raises(ConfigError) as exc:
        jsonio.loads(text)
    assert exc.value.field == field and "duplicate key" in str(exc.value)


def test_huge_numbers_and_constants_name_their_field():
    for text, field in (('{"a": [1, 1e999]}', "a[1]"), ('{"b": NaN}', "b"),
                        ('{"c": ' + "9" * 21 + "}", "c"), ("Infinity", "(top level)")):
        with pytest.raises(ConfigError) as exc:
            jsonio.loads(text)
        assert exc.value.field == field
    assert jsonio.loads('{"c": ' + "9" * 20 + "}") == {"c": int("9" * 20)}


def test_size_and_depth_limits():
    with pytest.raises(ConfigError, match="too large"):
        jsonio.loads(b" " * (jsonio.MAX_BYTES + 1))
    with pytest.raises(ConfigError, match="nested 33 levels deep"):
        jsonio.loads("[" * 33 + "]" * 33)
    assert jsonio.loads("[" * 32 + "]" * 32) is not None


def test_dumps_is_strict_json():
    text = jsonio.dumps({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5]})
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [None, None, 1.5]}


def test_messages_are_one_short_line_whatever_the_value():
    exc = ConfigError("seed", list(range(700_000)), "an integer")
    assert len(str(exc)) <= MAX_MESSAGE_CHARS and "\n" not in str(exc)
    assert "(5,488,890 characters)" in str(exc)
    assert short("x" * 10) == repr("x" * 10)
    long = ConfigError("", None, "", message="line one\nline two " + "y" * 5000)
    assert "\n" not in str(long) and len(str(long)) <= MAX_MESSAGE_CHARS


def _only_fedsim_errors(data) -> None:
    try:
        cfg = SimulationConfig.from_json(data)
    except FedsimError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and len(msg) <= MAX_MESSAGE_CHARS
    else:
        assert isinstance(cfg, SimulationConfig)


FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data):
    _only_fedsim_errors(data)


def _mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for kind, pos, payload in ops:
        pos = pos % (len(b) + 1)
        if kind == "insert":
            b[pos:pos] = payload
        elif kind == "delete":
            del b[pos:pos + len(payload) + 1]
        elif kind == "replace":
            b[pos:pos + len(payload)] = payload
        else:  # duplicate a slice (repeated keys, deeper nesting, longer numbers)
            b[pos:pos] = b[pos:pos + len(payload) * 8]
    return bytes(b)


TOKENS = st.sampled_from([b"null", b"[", b"{", b"]", b"}", b",", b":", b'"', b"\\", b"1e400",
                          b"NaN", b"-Infinity", b"9" * 30, b"10.0", b"true", b'"rounds": 3,',
                          b'"seed": -1', b"\xff", b"\x00", b"0" * 400, b'"privacy": null'])
OPS = st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "dup"]),
                         st.integers(0, 10_000),
                         st.one_of(TOKENS, st.binary(min_size=1, max_size=8))),
               min_size=1, max_size=6)


@FUZZ
@given(OPS, st.booleans())
def test_fuzz_mutated_valid_configurations(ops, compact):
    base = VALID.to_json(indent=None if compact else 2).encode()
    _only_fedsim_errors(_mutate(base, ops))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                  max_size=4),
    max_leaves=20)
SECTION_KEYS = st.sampled_from(["seed", "rounds", "dataset", "clients", "partition", "model",
                                "training", "aggregation", "privacy"])


@FUZZ
@given(st.dictionaries(SECTION_KEYS, JSON_VALUES, max_size=4))
def test_fuzz_well_formed_json_of_the_wrong_shape(doc):
    _only_fedsim_errors(json.dumps(doc).encode())
