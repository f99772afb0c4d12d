"""Flat weight rows: ``flatten_stacked`` / ``unflatten_stacked`` are exact inverses of the
concatenate-of-casts layout, and the trainer's in-graph update ``local − start`` (float64) is
bit for bit the NumPy subtraction it replaced."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedsim.weights import flatten_stacked, unflatten_stacked


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 5), dims=st.lists(st.lists(st.integers(1, 4), max_size=3), min_size=1,
                                          max_size=4), seed=st.integers(0, 2**32 - 1))
def test_flatten_stacked_equals_concatenated_casts(k, dims, seed):
    rng = np.random.default_rng(seed)
    ws = [(rng.standard_normal((k, *d)) * 10.0 ** rng.integers(-8, 9)).astype(np.float32)
          for d in dims]
    old = np.concatenate([np.asarray(w, np.float64).reshape(k, -1) for w in ws], axis=1)
    got = flatten_stacked(ws)
    assert got.dtype == np.float64 and np.array_equal(got, old)
    as32 = flatten_stacked(ws, np.float32)
    assert as32.dtype == np.float32 and np.array_equal(as32, old.astype(np.float32))
    back = unflatten_stacked(as32, [tuple(d) for d in dims])
    assert all(b.shape == w.shape and b.flags.c_contiguous and np.array_equal(b, w)
               for b, w in zip(back, ws))
    assert ws[0].dtype == np.float32  # inputs untouched


def test_flatten_stacked_tiny_exact():
    ws = [np.array([[[1.5, 2.0]], [[3.0, 4.0]]], np.float32), np.array([[0.25], [-1.0]], np.float32)]
    assert flatten_stacked(ws).tolist() == [[1.5, 2.0, 0.25], [3.0, 4.0, -1.0]]
    assert [w.tolist() for w in unflatten_stacked(flatten_stacked(ws), [(1, 2), (1,)])] == \
        [[[[1.5, 2.0]], [[3.0, 4.0]]], [[0.25], [-1.0]]]


def _trainer_case(lr=0.1):
    pytest.importorskip("tensorflow")
    from fedsim.training.trainer import ClientData, VectorizedTrainer
    from fedsim.training.models import ModelSpec, initial_weights

    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(n, 4)).astype(np.float32) for n in (5, 9, 2)]
    ys = [rng.integers(0, 3, size=len(x)).astype(np.int32) for x in xs]
    data = ClientData.build(xs, ys, [x[:1] for x in xs], [y[:1] for y in ys])
    spec = ModelSpec("mlp", 4, 3, hidden=3)
    tr = VectorizedTrainer(spec, "classification")
    # A float64 global model that float32 cannot hold exactly: the start the clients train
    # from is its float32 rounding, the update is measured from the float64 value.
    start = np.concatenate([w.ravel() for w in initial_weights(spec, 2)]).astype(np.float64)
    start += rng.normal(size=start.shape) * 1e-9
    res = tr.train(start, data, epochs=2, batch_size=2, lr=lr, rng=np.random.default_rng(1))
    return tr, start, res


def test_in_graph_update_is_the_numpy_subtraction_bit_for_bit():
    tr, start, res = _trainer_case()
    assert res.flat.dtype == np.float32 and res.delta.dtype == np.float64 and res.finite
    assert np.array_equal(res.delta, res.flat.astype(np.float64) - start[None, :])
    assert not np.array_equal(res.delta, res.flat - start.astype(np.float32)[None, :])
    assert np.array_equal(flatten_stacked(res.weights, np.float32), res.flat)
    assert [w.shape[1:] for w in res.weights] == tr.shapes


def test_diverged_training_is_flagged_not_finite():
    _, _, res = _trainer_case(lr=1e38)
    assert not res.finite
