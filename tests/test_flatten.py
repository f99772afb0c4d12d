"""``flatten_stacked`` writes in place; it must give exactly the concatenate-of-casts values."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fedsim.client import flatten_stacked


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 5), dims=st.lists(st.lists(st.integers(1, 4), max_size=3), min_size=1,
                                          max_size=4), seed=st.integers(0, 2**32 - 1))
def test_flatten_stacked_equals_concatenated_casts(k, dims, seed):
    rng = np.random.default_rng(seed)
    ws = [(rng.standard_normal((k, *d)) * 10.0 ** rng.integers(-8, 9)).astype(np.float32)
          for d in dims]
    start = rng.standard_normal(sum(int(np.prod(d)) for d in dims))
    old = np.concatenate([np.asarray(w, np.float64).reshape(k, -1) for w in ws], axis=1)
    got = flatten_stacked(ws)
    assert got.dtype == np.float64 and np.array_equal(got, old)
    assert np.array_equal(flatten_stacked(ws, minus=start), old - start[None, :])
    assert ws[0].dtype == np.float32  # inputs untouched


def test_flatten_stacked_tiny_exact():
    ws = [np.array([[[1.5, 2.0]], [[3.0, 4.0]]], np.float32), np.array([[0.25], [-1.0]], np.float32)]
    assert flatten_stacked(ws, minus=np.array([1.0, 1.0, 1.0])).tolist() == [
        [0.5, 1.0, -0.75], [2.0, 3.0, -2.0]]
