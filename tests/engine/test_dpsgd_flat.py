"""DP-SGD's per-example work on the real examples only (flat_schedule), against the padded
formulation it replaced (every (client, step) padded to the round's widest Poisson batch)."""

import numpy as np
import pytest

from fedsim.training.batching import FLAT_TAIL, flat_schedule, poisson_schedule
from fedsim.training.models import ModelSpec, initial_weights
from fedsim.training.tf_runtime import tf
from fedsim.training.trainer import VectorizedTrainer

SPECS = [ModelSpec("mlp", 64, 10, hidden=6), ModelSpec("logistic", 64, 10),
         ModelSpec("cnn", 64, 10, image_shape=(8, 8))]


def test_flat_schedule_lists_the_real_examples_then_dummies():
    rng = np.random.default_rng(0)
    counts = np.array([40, 0, 7, 25])
    idx, emask, _ = poisson_schedule(counts, 2, 8, rng)
    rows, cid, live, off, slot = flat_schedule(idx, emask, 40)
    k, t, w = emask.shape
    assert len(off) == t + 1 and off[-1] == len(rows) == int(emask.sum()) + FLAT_TAIL * t
    for s in range(t):
        sl = slice(off[s], off[s + 1])
        real = live[sl] > 0
        assert not real[-FLAT_TAIL:].any() and real[:-FLAT_TAIL].all()
        kk, bb = np.nonzero(emask[:, s] > 0)  # client, slot order
        np.testing.assert_array_equal(cid[sl][real], kk)
        np.testing.assert_array_equal(rows[sl][real], kk * 40 + idx[kk, s, bb])
        assert (rows[sl][~real] == 0).all() and (cid[sl][~real] == 0).all()
        # each padded slot names its example, a padding slot a dummy
        at = slot[s]
        np.testing.assert_array_equal(at[kk * w + bb], np.nonzero(real)[0])
        pad = np.ones(k * w, bool)
        pad[kk * w + bb] = False
        assert (live[sl][at[pad]] == 0).all()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("batch", [4, 16])
def test_flat_per_example_gradients_are_the_padded_ones_bit_for_bit(spec, batch):
    """Every step's clipped, summed, noised gradients and mean losses: the same bits from
    the M real examples as from the K·W padded slots (W ≥ 16 with batch 16: TF's unrolled
    reduction; a client with no rows; the widest client last)."""
    tr = VectorizedTrainer(spec, "classification", "sgd", dpsgd=True)
    k, n = 5, 40
    rng = np.random.default_rng(1)
    x = rng.normal(size=(k, n, 64)).astype(np.float32)
    y = rng.integers(0, 10, (k, n)).astype(np.int32)
    counts = np.array([33, 7, 0, 25, 40])
    idx, emask, _ = poisson_schedule(counts, 2, batch, rng)
    params = [tf.constant(np.stack([v + 0.1 * rng.normal(size=v.shape).astype(np.float32)
                                    for _ in range(k)])) for v in initial_weights(spec, 0)]
    rows, cid, live, off, slot = flat_schedule(idx, emask, n)
    padded, flat = tf.function(tr._dpsgd_grads), tf.function(tr._dpsgd_grads_flat)
    args = (tf.constant(0.7), tf.constant(1.0), tf.constant([3, 4]),
            tf.constant(np.minimum(batch, np.maximum(counts, 1)).astype(np.float32)))
    for t in range(emask.shape[1]):
        xb = np.take_along_axis(x, idx[:, t][..., None], 1)
        yb = np.take_along_axis(y, idx[:, t], 1)
        g1, l1 = padded(params, xb, yb, emask[:, t], *args)
        s = slice(off[t], off[t + 1])
        g2, l2 = flat(params, x.reshape(k * n, 64)[rows[s]], y.reshape(-1)[rows[s]], cid[s],
                      live[s], slot[t], emask[:, t], *args)
        for a, b in zip(g1, g2):
            assert a.numpy().tobytes() == b.numpy().tobytes()
        assert l1.numpy().tobytes() == l2.numpy().tobytes()
